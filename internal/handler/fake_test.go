package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
	"github.com/scf-dbbrain/addusercontact/internal/testsupport"
)

// fakeAnswer is how the fake DBbrain answers one AddUserContact.
type fakeAnswer struct {
	code   string // an API 3.0 error envelope with this code
	status int    // else a bare HTTP status with an HTML page, as a gateway sends
	body   string // else HTTP 200 with this body
	drop   bool   // else the connection closes unanswered
	hang   bool   // else no answer until the caller gives up
}

// fakeDBbrain answers the two actions as a test scripts them, without
// checking signatures: AddUserContact as refuse says (nil: the contact is
// stored), DescribeAllUserContact with the stored contacts whose names
// contain a requested one, as DBbrain matches. It counts each action's
// calls.
type fakeDBbrain struct {
	refuse func(name string) *fakeAnswer

	mu       sync.Mutex
	contacts []dbbrain.Contact
	calls    map[string]int
}

func newFakeDBbrain(refuse func(name string) *fakeAnswer, known ...dbbrain.Contact) *fakeDBbrain {
	return &fakeDBbrain{refuse: refuse, contacts: known, calls: map[string]int{}}
}

func (f *fakeDBbrain) count(action string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[action]
}

func (f *fakeDBbrain) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	action := r.Header.Get("X-TC-Action")
	var p struct {
		Name, ContactInfo string
		Names             []string
	}
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.calls[action]++
	n := f.calls[action]
	f.mu.Unlock()
	rid := fmt.Sprintf("fake-%s-%d", action, n)
	envelope := func(fields map[string]any) {
		fields["RequestId"] = rid
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"Response": fields})
	}
	switch action {
	case dbbrain.ActionDescribeAllUserContact:
		f.mu.Lock()
		var found []dbbrain.Contact
		for _, c := range f.contacts {
			for _, name := range p.Names {
				if strings.Contains(c.Name, name) {
					found = append(found, c)
					break
				}
			}
		}
		f.mu.Unlock()
		envelope(map[string]any{"TotalCount": len(found), "Contacts": found})
		return
	case dbbrain.ActionAddUserContact:
	default:
		envelope(map[string]any{"Error": map[string]string{"Code": "InvalidAction", "Message": "not faked"}})
		return
	}
	var a *fakeAnswer
	if f.refuse != nil {
		a = f.refuse(p.Name)
	}
	switch {
	case a == nil:
		f.mu.Lock()
		c := dbbrain.Contact{ID: int64(len(f.contacts) + 1), Name: p.Name, Mail: p.ContactInfo}
		f.contacts = append(f.contacts, c)
		f.mu.Unlock()
		envelope(map[string]any{"Id": c.ID})
	case a.code != "":
		envelope(map[string]any{"Error": map[string]string{"Code": a.code, "Message": "the fake DBbrain answers " + a.code}})
	case a.status != 0:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(a.status)
		fmt.Fprintf(w, "<html><body><h1>%d %s</h1></body></html>", a.status, http.StatusText(a.status))
	case a.body != "":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(a.body))
	case a.drop:
		panic(http.ErrAbortHandler)
	case a.hang:
		<-r.Context().Done()
	}
}

// fakeEnv is a handler's environment for the fake DBbrain, reached in
// memory.
func fakeEnv(extra map[string]string) func(string) string {
	env := map[string]string{
		"TENCENTCLOUD_SECRETID":     roleID,
		"TENCENTCLOUD_SECRETKEY":    roleKey,
		"TENCENTCLOUD_SESSIONTOKEN": roleToken,
		"DBBRAIN_ENDPOINT":          memoryEndpoint,
	}
	for k, v := range extra {
		env[k] = v
	}
	return func(k string) string { return env[k] }
}

// newFakeHandler is a handler that calls fake in memory, with the
// registrar's own retry schedule, and its log.
func newFakeHandler(t testing.TB, fake http.Handler, env map[string]string) (*Handler, *testsupport.Buffer) {
	t.Helper()
	logs := &testsupport.Buffer{}
	h, err := New(Deps{Getenv: fakeEnv(env), Log: logs, Transport: testsupport.InMemory{Handler: fake}, Fallback: noFallback{}, NewRequestID: counter("inv")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	logs.Reset()
	return h, logs
}

func invokeFor(h *Handler, payload []byte, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return h.Invoke(ctx, payload)
}

// apigwEvent is a legacy API Gateway POST of body.
func apigwEvent(body string) string {
	b, _ := json.Marshal(map[string]any{
		"requestContext": map[string]any{"serviceId": "service-1", "path": "/contacts", "httpMethod": "POST", "requestId": "gw-1", "stage": "release"},
		"headers":        map[string]string{"content-type": "application/json"}, "body": body, "isBase64Encoded": false,
		"httpMethod": "POST", "path": "/contacts", "queryString": map[string]string{},
	})
	return string(b)
}

// eventFor wraps one contact's JSON in the event of the trigger src.
func eventFor(src Source, contact string) []byte {
	switch src {
	case APIGateway:
		return []byte(apigwEvent(contact))
	case FunctionURL:
		return []byte(functionURLEvent(contact))
	case Timer:
		return []byte(timerEvent(contact))
	case CKafka:
		return ckafkaEvent(contact)
	case CMQ:
		return cmqEvent(contact)
	case EventBridge:
		return eventBridgeEvent(contact)
	}
	return []byte(contact)
}
