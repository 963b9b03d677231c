package kafkatrigger

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// partition is an assigned partition and the state its worker shares with
// the poll loop and the idle check, guarded by Trigger.mu.
type partition struct {
	id         int32
	queue      []*kgo.Record // fetched, not yet in a batch, in offset order
	paused     bool          // fetching is paused while a full batch waits
	wake       chan struct{} // signals new records to the worker
	done       chan struct{} // closed when the worker has stopped
	stopInvoke context.CancelFunc
	stopCommit context.CancelFunc

	// since is the partition's last sign of life: its assignment, records
	// fetched, a batch acknowledged, a batch's first failure, or an attempt
	// that registered more than the ones before.
	since time.Time
	// The batch being delivered: its records (0 when none), the most
	// contacts one of its failed attempts reported registered, and whether
	// its attempts have stopped making progress for UntilIdle.
	pending int
	best    int
	stalled bool
}

// work delivers the partition's batches one after another until ctx ends.
func (t *Trigger) work(invokeCtx, commitCtx context.Context, pt *partition) {
	defer t.workers.Done()
	defer close(pt.done) // after the instance has stopped
	var inst Instance
	defer func() {
		if inst != nil {
			if err := inst.Close(); err != nil {
				t.cfg.Logf("partition %d: stopping its instance: %v", pt.id, err)
			}
		}
	}()
	for {
		batch, event := t.take(invokeCtx, pt)
		if batch == nil {
			return
		}
		t.deliver(invokeCtx, commitCtx, pt, batch, event, &inst)
	}
}

// take waits for records and removes the next batch from the queue: as many
// as are there, up to MaxMsg, and as fit in SCF's 6 MB event (at least one).
func (t *Trigger) take(ctx context.Context, pt *partition) ([]*kgo.Record, []byte) {
	for {
		t.mu.Lock()
		n := min(len(pt.queue), t.cfg.MaxMsg)
		batch := append([]*kgo.Record(nil), pt.queue[:n]...)
		t.mu.Unlock()
		if n > 0 {
			event, fit := buildEvent(batch)
			batch = batch[:fit]
			t.mu.Lock()
			pt.queue = pt.queue[fit:]
			if pt.paused && len(pt.queue) < t.cfg.MaxMsg {
				t.cl.ResumeFetchPartitions(map[string][]int32{t.cfg.Topic: {pt.id}})
				pt.paused = false
			}
			pt.pending, pt.best, pt.stalled = len(batch), 0, false
			t.mu.Unlock()
			return batch, event
		}
		select {
		case <-pt.wake:
		case <-ctx.Done():
			return nil, nil
		}
	}
}

// deliver invokes the function with one batch until it succeeds, or until
// the retries run out and the batch is skipped, or until ctx ends.
func (t *Trigger) deliver(ctx, commitCtx context.Context, pt *partition, batch []*kgo.Record, event []byte, inst *Instance) {
	last := batch[len(batch)-1]
	r := BatchResult{Topic: t.cfg.Topic, Partition: pt.id, FirstOffset: batch[0].Offset, LastOffset: last.Offset, Records: len(batch)}
	where := fmt.Sprintf("partition %d, offsets %d-%d", pt.id, r.FirstOffset, r.LastOffset)
	start := time.Now()
	for {
		r.Attempts++
		t.setAttempts(pt, r.Attempts)
		c, failure := t.attempt(ctx, pt, inst, event)
		r.Succeeded, r.Failed, r.RequestID = c.succeeded, c.failed, c.requestID
		r.DurationMs = float64(time.Since(start)) / float64(time.Millisecond)
		if ctx.Err() != nil {
			// Abandoned, not failed: the batch is delivered again by the
			// next run, from the committed offset.
			r.Outcome, r.Error = OutcomeUnfinished, failure
			t.finish(pt, r, false)
			return
		}
		if failure == "" {
			r.Error = ""
			r.Outcome, r.Committed = OutcomeAcknowledged, t.commit(commitCtx, pt, last)
			t.finish(pt, r, true)
			return
		}
		r.Error = failure
		t.failed(pt, r.Attempts, c)
		if r.Attempts > t.cfg.Retry {
			t.cfg.Logf("%s: SKIPPED after %d attempts (retry %d); its records will not be delivered again. Last error: %s",
				where, r.Attempts, t.cfg.Retry, failure)
			r.Outcome, r.Committed = OutcomeSkipped, t.commit(commitCtx, pt, last)
			t.finish(pt, r, true)
			return
		}
		if isPowerOf10(r.Attempts) {
			t.cfg.Logf("%s: attempt %d failed (%s); delivering the batch again while the partition waits", where, r.Attempts, failure)
		}
	}
}

// attempt invokes the function once, on a fresh instance if there is none.
// failure is "" on success; an instance that timed out or could not carry
// out the invocation is closed, so the next attempt starts a fresh one.
func (t *Trigger) attempt(ctx context.Context, pt *partition, inst *Instance, event []byte) (c counts, failure string) {
	if *inst == nil {
		in, err := t.cfg.Launcher.Launch(ctx, pt.id)
		if err != nil {
			return counts{}, "the instance did not start: " + err.Error()
		}
		*inst = in
	}
	reply, err := (*inst).Invoke(ctx, event)
	replace := err != nil || (reply.Error != nil && reply.Error.TimedOut)
	if replace {
		if cerr := (*inst).Close(); cerr != nil {
			t.cfg.Logf("partition %d: stopping a failed instance: %v", pt.id, cerr)
		}
		*inst = nil
	}
	switch {
	case err != nil:
		return counts{}, "the instance failed: " + err.Error()
	case reply.Error != nil:
		// This function's retryable error carries the batch envelope, so
		// a failed attempt still tells what it registered.
		c := readCounts([]byte(reply.Error.Message))
		return c, describe(reply.Error, c)
	}
	return readCounts(reply.Payload), ""
}

// commit commits the offset after last; it reports whether that worked. A
// batch whose commit failed may be delivered again, which the function
// takes in its stride (it looks contacts up before registering them).
func (t *Trigger) commit(ctx context.Context, pt *partition, last *kgo.Record) bool {
	ctx, cancel := context.WithTimeout(ctx, commitTimeout)
	defer cancel()
	if err := t.cl.CommitRecords(ctx, last); err != nil {
		t.cfg.Logf("partition %d: committing offset %d: %v; the batch may be delivered again", pt.id, last.Offset+1, err)
		return false
	}
	return true
}

func (t *Trigger) setAttempts(pt *partition, n int) {
	t.mu.Lock()
	t.statsOf(pt.id).Attempts = n
	t.mu.Unlock()
}

// failed records a failed attempt: progress when it registered more than any
// attempt before, a stall when it did not and the partition has shown no
// progress for UntilIdle.
func (t *Trigger) failed(pt *partition, attempt int, c counts) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.statsOf(pt.id)
	t.totals.FailedAttempts++
	if attempt == 1 {
		st.Retried++
		t.totals.Retried++
		st.Failing = true
		t.totals.Failing++
		pt.since = now
	}
	switch {
	case c.succeeded > pt.best:
		pt.best, pt.since, pt.stalled = c.succeeded, now, false
	case attempt > 1 && t.cfg.UntilIdle > 0 && now.Sub(pt.since) >= t.cfg.UntilIdle:
		pt.stalled = true
	}
}

// finish records a batch done with; done is false when it was abandoned.
func (t *Trigger) finish(pt *partition, r BatchResult, done bool) {
	t.mu.Lock()
	st := t.statsOf(pt.id)
	if done {
		if st.Failing {
			st.Failing = false
			t.totals.Failing--
		}
		st.Attempts = 0
		st.Offset = r.LastOffset + 1
		t.totals.Records += r.Records
		if r.Outcome == OutcomeSkipped {
			st.Skipped++
			t.totals.Skipped++
			t.totals.SkippedRecords += r.Records
			// What its attempts registered stays registered.
			t.totals.Registered += pt.best
		} else {
			st.Batches++
			t.totals.Batches++
			t.totals.Registered += r.Succeeded
			t.totals.FailedForGood += r.Failed
		}
		pt.pending, pt.best, pt.stalled, pt.since = 0, 0, false, time.Now()
	}
	t.mu.Unlock()
	t.result(r)
}

// isPowerOf10 picks the attempts worth a line: 1, 10, 100, ...
func isPowerOf10(n int) bool {
	for n >= 10 && n%10 == 0 {
		n /= 10
	}
	return n == 1
}

// clip shortens s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
