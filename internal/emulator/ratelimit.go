package emulator

import "time"

// slidingWindow admits at most limit calls per account and action in any
// one-second window (now-1s, now]; Server's mutex guards it. Not a token
// bucket (golang.org/x/time/rate), which after an idle spell lets a burst
// through and so can admit more than limit calls within some second: a
// client that passes the emulator must also stay under the real limit.
type slidingWindow struct {
	limit    int // <0: unlimited
	arrivals map[windowKey][]time.Time
}

// windowKey is what one window counts: the limit is the account's, shared
// by all its keys (SCF gives each instance its own temporary key).
type windowKey struct{ account, action string }

// allow records an arrival at now and reports whether it is admitted, with
// the number of calls in the window. Refused arrivals are not recorded, so
// a client that retries too fast does not lock itself out for longer.
func (w *slidingWindow) allow(k windowKey, now time.Time) (admitted bool, inWindow int) {
	if w.limit < 0 {
		return true, 0
	}
	times := w.arrivals[k]
	for len(times) > 0 && !times[0].After(now.Add(-time.Second)) {
		times = times[1:]
	}
	w.arrivals[k] = times
	if len(times) >= w.limit {
		return false, len(times)
	}
	w.arrivals[k] = append(times, now)
	return true, len(times) + 1
}
