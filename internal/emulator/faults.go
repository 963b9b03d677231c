package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// maxLatency bounds Faults.Latency so that a typo cannot hang a test run.
const maxLatency = 10 * time.Minute

// Faults are injected into authenticated API requests. The three
// probabilities are exclusive outcomes of one draw: their sum is at most 1.
type Faults struct {
	// InternalError is the probability of an InternalError answer that
	// changes nothing.
	InternalError float64
	// Unavailable is the probability of a bare HTTP 503 with an HTML body
	// that changes nothing.
	Unavailable float64
	// Drop is the probability of applying the call, then closing the
	// connection unanswered: a contact may be created whose answer is lost.
	Drop float64
	// Latency delays every authenticated answer, after the call is applied.
	Latency time.Duration
}

// Validate checks the probabilities and the latency.
func (f Faults) Validate() error {
	for name, p := range map[string]float64{"InternalError": f.InternalError, "Unavailable": f.Unavailable, "Drop": f.Drop} {
		if !(p >= 0 && p <= 1) { // also refuses NaN
			return fmt.Errorf("emulator: fault probability %s=%v is not in [0,1]", name, p)
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

// faultsJSON is Faults with Latency as a time.ParseDuration string ("250ms").
type faultsJSON struct {
	InternalError, Unavailable, Drop float64
	Latency                          string
}

// MarshalJSON writes Latency as a duration string.
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsJSON{f.InternalError, f.Unavailable, f.Drop, f.Latency.String()})
}

// UnmarshalJSON reads Latency as a duration string ("" means none) and
// refuses unknown fields, so that a misspelt fault is not silently ignored.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var j faultsJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err := dec.Decode(&j)
	var lat time.Duration
	if err == nil && j.Latency != "" {
		lat, err = time.ParseDuration(j.Latency)
	}
	if err != nil {
		return fmt.Errorf("emulator: faults (Latency is a duration such as \"250ms\"): %w", err)
	}
	*f = Faults{InternalError: j.InternalError, Unavailable: j.Unavailable, Drop: j.Drop, Latency: lat}
	return nil
}
