package kafkatrigger

import "time"

// Stats is the trigger's progress, as Trigger.Stats and Run return it.
type Stats struct {
	Topic      string
	Elapsed    time.Duration    // since Run started
	Joined     bool             // the member has had its first assignment
	Partitions []PartitionStats // every partition of the topic, by number

	Batches        int // batches acknowledged
	Records        int // records acknowledged or skipped
	Retried        int // batches that failed at least once
	FailedAttempts int // failed invocations, over all batches
	Skipped        int // batches skipped after their last retry
	SkippedRecords int // the records of those batches
	Failing        int // batches that failed and are not acknowledged yet

	// Registered counts the contacts the function answered as registered
	// (newly, or found already there with the same email): in acknowledged
	// batches, and the most any failed attempt of an unfinished or
	// skipped batch reported.
	Registered int
	// FailedForGood counts the contacts the function reported as failed in
	// the batches it acknowledged: records that can never be registered.
	FailedForGood int
}

// AllAcknowledged reports whether every batch was acknowledged: none skipped,
// none still failing.
func (s Stats) AllAcknowledged() bool { return s.Skipped == 0 && s.Failing == 0 }

// PartitionStats is one partition's progress.
type PartitionStats struct {
	Partition int32
	Assigned  bool // the member owns it now
	// Offset is the next offset to deliver: every record before it has been
	// acknowledged or skipped. -1 until the first records arrive.
	Offset int64
	// HighWater is the partition's end as the last fetch saw it; -1 until
	// one did.
	HighWater int64
	Batches   int  // acknowledged
	Retried   int  // batches that failed at least once
	Skipped   int  // batches skipped after their last retry
	Attempts  int  // attempts so far of the batch being delivered, 0 if none
	Failing   bool // the batch being delivered has failed
}

// Outcomes of a batch.
const (
	OutcomeAcknowledged = "acknowledged" // the function succeeded; offsets committed
	OutcomeSkipped      = "skipped"      // failed Retry+1 times; committed, never delivered again
	OutcomeUnfinished   = "unfinished"   // the run ended first; delivered again by the next
)

// BatchResult is one batch the trigger is done with, as --results writes it.
type BatchResult struct {
	Topic       string `json:"topic"`
	Partition   int32  `json:"partition"`
	FirstOffset int64  `json:"firstOffset"`
	LastOffset  int64  `json:"lastOffset"`
	Records     int    `json:"records"`
	Attempts    int    `json:"attempts"`
	Outcome     string `json:"outcome"`
	Committed   bool   `json:"committed"`
	// Succeeded, Failed and RequestID come from the last answer's batch
	// envelope.
	Succeeded int    `json:"succeeded"`
	Failed    int    `json:"failed"`
	RequestID string `json:"requestId,omitempty"`
	// Error is the last attempt's failure, for a batch not acknowledged.
	Error string `json:"error,omitempty"`
	// DurationMs is from the first attempt's start to the outcome.
	DurationMs float64 `json:"durationMs"`
}
