package event

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-json-experiment/json"
)

// FuzzRoundTrip checks every event type against any input: whatever
// decodes encodes, and what it encodes to decodes and encodes again to the
// same bytes, so that an event built or read by one tool reads the same in
// the next. Seeds are the samples.
func FuzzRoundTrip(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no samples: %v", err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"Records":[{"Ckafka":{"partition":"","offset":1e2}},{"CMQ":{"msgTag":7}}]}`))
	f.Add([]byte(`{"httpMethod":"GET","headers":{"a":["1","2"]},"isBase64Encoded":"true","queryString":{"x":true}}`))
	news := []func() any{
		func() any { return new(APIGatewayEvent) }, func() any { return new(FunctionURLEvent) },
		func() any { return new(TimerEvent) }, func() any { return new(CKafkaEvent) },
		func() any { return new(CMQEvent) }, func() any { return new(CloudEvent) },
		func() any { return new(EventList) }, func() any { return new(IntegrationResponse) },
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, n := range news {
			v := n()
			if json.Unmarshal(data, v) != nil {
				continue
			}
			once, err := json.Marshal(v, json.Deterministic(true))
			if err != nil {
				t.Fatalf("%T decoded from %q does not encode: %v", v, data, err)
			}
			w := n()
			if err := json.Unmarshal(once, w); err != nil {
				t.Fatalf("%T: its own encoding %s does not decode: %v", v, once, err)
			}
			twice, err := json.Marshal(w, json.Deterministic(true))
			if err != nil || !bytes.Equal(once, twice) {
				t.Fatalf("%T: encodes to %s, then to %s (%v)", v, once, twice, err)
			}
		}
	})
}
