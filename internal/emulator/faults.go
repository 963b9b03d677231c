package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// maxLatency bounds Faults.Latency so that a typo cannot hang a test run.
const maxLatency = 10 * time.Minute

// Faults are injected into authenticated API requests. The three
// probabilities are exclusive outcomes of one draw, so their sum must not
// exceed 1.
type Faults struct {
	// InternalError is the probability of answering the InternalError
	// envelope; nothing is changed.
	InternalError float64
	// Unavailable is the probability of a bare HTTP 503 with an HTML body;
	// nothing is changed.
	Unavailable float64
	// Drop is the probability of closing the connection without an answer
	// after the action was applied: a contact may be created whose answer
	// is lost.
	Drop float64
	// Latency delays every authenticated answer. The action is applied
	// before the delay, so it happens even if the client gives up.
	Latency time.Duration
}

// Validate checks the probabilities and the latency.
func (f Faults) Validate() error {
	for _, p := range []struct {
		name string
		v    float64
	}{{"InternalError", f.InternalError}, {"Unavailable", f.Unavailable}, {"Drop", f.Drop}} {
		if !(p.v >= 0 && p.v <= 1) { // also rejects NaN
			return fmt.Errorf("emulator: fault probability %s=%v is not in [0,1]", p.name, p.v)
		}
	}
	if sum := f.InternalError + f.Unavailable + f.Drop; sum > 1+1e-9 {
		return fmt.Errorf("emulator: fault probabilities add up to %v > 1", sum)
	}
	if f.Latency < 0 || f.Latency > maxLatency {
		return fmt.Errorf("emulator: latency %s is not in [0,%s]", f.Latency, maxLatency)
	}
	return nil
}

type faultsJSON struct {
	InternalError float64
	Unavailable   float64
	Drop          float64
	Latency       string // a time.ParseDuration string, e.g. "250ms"
}

// MarshalJSON writes Latency as a duration string.
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsJSON{f.InternalError, f.Unavailable, f.Drop, f.Latency.String()})
}

// UnmarshalJSON reads Latency as a duration string ("" means none).
func (f *Faults) UnmarshalJSON(b []byte) error {
	var j faultsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	var lat time.Duration
	if j.Latency != "" {
		d, err := time.ParseDuration(j.Latency)
		if err != nil {
			return errors.New("emulator: Latency must be a duration such as \"250ms\"")
		}
		lat = d
	}
	*f = Faults{InternalError: j.InternalError, Unavailable: j.Unavailable, Drop: j.Drop, Latency: lat}
	return nil
}
