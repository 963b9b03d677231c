package emulator

import "time"

// slidingWindow admits at most limit events per key in any one-second window.
//
// Hand-written rather than golang.org/x/time/rate because that is a token
// bucket: after an idle second it lets a burst through and then refills
// continuously, so it can admit more than limit calls within some
// one-second window. The service's "20 per second" is checked here the strict
// way, over the arrival times themselves, so that a client which passes the
// emulator also stays under the real limit. It is not safe for concurrent
// use: Server guards it with its mutex.
type slidingWindow struct {
	limit    int // <0: unlimited
	arrivals map[windowKey][]time.Time
}

type windowKey struct{ secretID, action string }

func newSlidingWindow(limit int) *slidingWindow {
	return &slidingWindow{limit: limit, arrivals: map[windowKey][]time.Time{}}
}

// allow records an arrival at now and reports whether it is admitted. The
// window is (now-1s, now]: an arrival exactly one second before now has left
// it. Rejected arrivals are not recorded, so a client that keeps retrying
// too fast does not lock itself out for longer.
func (w *slidingWindow) allow(k windowKey, now time.Time) (admitted bool, inWindow int) {
	if w.limit < 0 {
		return true, 0
	}
	cutoff := now.Add(-time.Second)
	times := w.arrivals[k]
	drop := 0
	for drop < len(times) && !times[drop].After(cutoff) {
		drop++
	}
	times = times[drop:]
	if len(times) >= w.limit {
		w.arrivals[k] = times
		return false, len(times)
	}
	w.arrivals[k] = append(times, now)
	return true, len(times) + 1
}
