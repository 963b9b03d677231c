package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"time"
)

// percentile returns the nearest-rank percentile p (0 < p <= 100) of ds: the
// smallest value that at least p% of the values are at or below. Zero for no
// values. Nearest rank rather than interpolation so that every figure
// reported is a duration that was actually observed.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// callRate is the rate of a sequence of calls from their arrival times:
// (n-1) intervals over the span from the first to the last. Zero when there
// are fewer than two calls or they share one instant.
func callRate(times []time.Time) float64 {
	if len(times) < 2 {
		return 0
	}
	s := sortedTimes(times)
	span := s[len(s)-1].Sub(s[0]).Seconds()
	if span <= 0 {
		return 0
	}
	return float64(len(s)-1) / span
}

// maxInWindow returns the most arrivals in any window (t-w, t], the window
// the emulator's rate limiter uses: an arrival exactly w before another has
// left that one's window. The maximum is always reached at an arrival, so
// only those windows are checked.
func maxInWindow(times []time.Time, w time.Duration) int {
	s := sortedTimes(times)
	best, lo := 0, 0
	for hi, t := range s {
		for !s[lo].After(t.Add(-w)) {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

func sortedTimes(times []time.Time) []time.Time {
	s := slices.Clone(times)
	slices.SortFunc(s, func(a, b time.Time) int { return a.Compare(b) })
	return s
}

// logLine is the part of the function's JSON log lines the bench reads.
type logLine struct {
	Msg        string  `json:"msg"`
	Level      string  `json:"level"`
	Code       string  `json:"code"`
	Attempts   int     `json:"attempts"`
	Existing   bool    `json:"existing"`
	DurationMS float64 `json:"duration_ms"`
	Outcome    string  `json:"outcome"`
	Trigger    string  `json:"trigger"`
}

// The messages of the function's log lines the bench reads: the
// registrar's line per batch item and the handler's line per invocation.
const (
	msgContactOutcome = "contact outcome"
	msgInvocation     = "invocation"
)

// parseLog returns the function's JSON log lines with message msg, in order.
// Other output (platform lines such as START and Report, lines with other
// messages) is skipped.
func parseLog(out []byte, msg string) []logLine {
	var lines []logLine
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		b := sc.Bytes()
		if len(b) == 0 || b[0] != '{' {
			continue
		}
		var l logLine
		if json.Unmarshal(b, &l) != nil || l.Msg != msg {
			continue
		}
		lines = append(lines, l)
	}
	return lines
}

// durations returns the lines' duration_ms values as durations.
func durations(lines []logLine) []time.Duration {
	out := make([]time.Duration, len(lines))
	for i, l := range lines {
		out[i] = time.Duration(l.DurationMS * float64(time.Millisecond))
	}
	return out
}
