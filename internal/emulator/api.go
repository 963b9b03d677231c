package emulator

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/scf-dbbrain/addusercontact/internal/redact"
	"github.com/scf-dbbrain/addusercontact/internal/tc3"
)

// readCap is the most body the emulator reads: enough to see that a body
// is over MaxBodyBytes and still verify its signature first, bounded so a
// runaway client cannot make it hash forever.
const readCap = 64 << 20

// apiError is an error envelope's code and message.
type apiError struct {
	Code    string
	Message string
}

// outcome is what one API request gets, decided before anything is written.
type outcome struct {
	action    string // Stats.Actions key
	secretID  string // for the log; never a key or token
	mail      string // ContactInfo of an AddUserContact, masked in the log
	requestID string
	status    int
	code      string // Stats code
	fault     string // injected fault, for the log
	ctype     string
	body      []byte
	delay     time.Duration
	drop      bool
	silent    bool // the client went away before its body was read
}

// ServeHTTP serves the API at "/" and the admin endpoints under AdminPrefix.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, AdminPrefix) {
		s.serveAdmin(w, r)
		return
	}
	start := time.Now()
	arrival := s.now()
	out := s.handle(r, arrival)
	if out.silent {
		return
	}
	s.wait(r.Context(), out.delay)
	if out.drop {
		out.status, out.code = 0, StatDropped
	}
	s.mu.Lock()
	s.stats.count(out.action, out.code)
	s.mu.Unlock()
	s.logRequest(r, out, start)
	if out.drop {
		dropConnection(w)
		return
	}
	w.Header().Set("Content-Type", out.ctype)
	if out.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", "GET, POST")
	}
	w.WriteHeader(out.status)
	_, _ = w.Write(out.body)
}

// logRequest writes the request's log line: never a key or token, and the
// contact email masked.
func (s *Server) logRequest(r *http.Request, out outcome, start time.Time) {
	attrs := []slog.Attr{
		slog.String("action", out.action),
		slog.String("code", out.code),
		slog.Int("status", out.status),
		slog.Duration("latency", time.Since(start)),
		slog.String("secret_id", out.secretID),
		slog.String("request_id", out.requestID),
	}
	if out.mail != "" {
		attrs = append(attrs, slog.String("contact", redact.Email(out.mail)))
	}
	if out.fault != "" {
		attrs = append(attrs, slog.String("fault", out.fault))
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "dbbrain request", attrs...)
}

// dropConnection closes the connection without writing a response.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2, a recorder): abort the response instead;
		// net/http resets the stream and logs nothing for this value.
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// handle decides the outcome of one API request and applies its action.
func (s *Server) handle(r *http.Request, arrival time.Time) outcome {
	out := outcome{action: statsOther, status: http.StatusOK, ctype: "application/json"}
	if action := r.Header.Get("X-TC-Action"); isAction(action) {
		out.action = action
	}
	if r.URL.Path != "/" {
		return notAPI(out, http.StatusNotFound)
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		return notAPI(out, http.StatusMethodNotAllowed)
	}
	if a, err := tc3.ParseAuthorization(r.Header.Get("Authorization")); err == nil {
		out.secretID = a.SecretID
	}

	digest, body, size, err := readBody(r.Body)
	if err != nil {
		out.silent = true
		return out
	}
	if size > readCap {
		return s.fail(out, "RequestSizeLimitExceeded", fmt.Sprintf("The request body exceeds %d bytes.", MaxBodyBytes))
	}
	if _, err := s.verifier.VerifyDigest(r, digest); err != nil {
		var te *tc3.Error
		if !errors.As(err, &te) {
			return s.fail(out, "AuthFailure", err.Error())
		}
		return s.fail(out, string(te.Code), te.Message)
	}

	// One draw per authenticated request keeps the fault sequence a
	// function of the request sequence alone.
	s.mu.Lock()
	draw := s.rng.Float64()
	faults := s.faults
	s.mu.Unlock()
	out.delay = faults.Latency

	if e := checkCommon(r); e != nil {
		return s.fail(out, e.Code, e.Message)
	}
	action := out.action

	s.mu.Lock()
	admitted, inWindow := s.limiter.allow(windowKey{out.secretID, action}, arrival)
	if admitted {
		s.stats.accept(action, arrival)
	}
	s.mu.Unlock()
	if !admitted {
		return s.fail(out, "RequestLimitExceeded", fmt.Sprintf(
			"Your current request times equals to `%d` in a second, which exceeds the frequency limit `%d` for a second. Please reduce the frequency of calls.",
			inWindow+1, s.limiter.limit))
	}

	switch {
	case draw < faults.InternalError:
		out.fault = "InternalError"
		return s.fail(out, "InternalError", "An internal error has occurred. Retry your request, but if the problem persists, contact us with details by filing a ticket.")
	case draw < faults.InternalError+faults.Unavailable:
		out.fault = StatUnavailable
		out.status, out.code, out.ctype = http.StatusServiceUnavailable, StatUnavailable, "text/html"
		out.body = []byte("<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n")
		return out
	case draw < faults.InternalError+faults.Unavailable+faults.Drop:
		out.fault = StatDropped
		out.drop = true
	}

	if size > MaxBodyBytes {
		return s.fail(out, "RequestSizeLimitExceeded", fmt.Sprintf("The request body exceeds %d bytes.", MaxBodyBytes))
	}
	params, e := parseParams(r, body)
	if e != nil {
		return s.fail(out, e.Code, e.Message)
	}
	var resp any
	switch action {
	case ActionAddUserContact:
		if m, ok := params["ContactInfo"].(string); ok {
			out.mail = m
		}
		resp, e = s.addUserContact(params)
	case ActionDescribeAllUserContact:
		resp, e = s.describeAllUserContact(params)
	}
	if e != nil {
		return s.fail(out, e.Code, e.Message)
	}
	out.requestID = s.newID()
	out.code = StatOK
	out.body = envelope(resp, out.requestID)
	return out
}

func notAPI(out outcome, status int) outcome {
	out.status, out.code, out.ctype = status, StatNotAPI, "text/plain; charset=utf-8"
	out.body = []byte(http.StatusText(status) + "\n")
	return out
}

// fail turns out into an error envelope.
func (s *Server) fail(out outcome, code, msg string) outcome {
	out.requestID = s.newID()
	out.code = code
	out.body = envelope(struct{ Error apiError }{apiError{code, msg}}, out.requestID)
	return out
}

// envelope wraps an action's output fields (a struct) in {"Response":{...,"RequestId":id}}.
func envelope(fields any, requestID string) []byte {
	raw, err := json.Marshal(fields)
	if err != nil {
		panic(fmt.Sprintf("emulator: encoding a response: %v", err)) // only our own types are encoded
	}
	var b bytes.Buffer
	b.WriteString(`{"Response":`)
	b.Write(raw[:len(raw)-1]) // fields without the closing brace
	if len(raw) > 2 {
		b.WriteByte(',')
	}
	b.WriteString(`"RequestId":`)
	id, _ := json.Marshal(requestID)
	b.Write(id)
	b.WriteString("}}")
	return b.Bytes()
}

// readBody hashes the whole body (up to readCap+1 bytes) and keeps the first
// MaxBodyBytes+1 of it.
func readBody(body io.Reader) (digest [sha256.Size]byte, kept []byte, size int64, err error) {
	if body == nil { // an in-process caller's request without a body
		body = http.NoBody
	}
	h := sha256.New()
	var buf bytes.Buffer
	kw := &keepWriter{buf: &buf, limit: MaxBodyBytes + 1}
	size, err = io.Copy(io.MultiWriter(h, kw), io.LimitReader(body, readCap+1))
	if err != nil {
		return digest, nil, size, fmt.Errorf("read body: %w", err)
	}
	copy(digest[:], h.Sum(nil))
	return digest, buf.Bytes(), size, nil
}

// keepWriter keeps the first limit bytes written and discards the rest.
type keepWriter struct {
	buf   *bytes.Buffer
	limit int
}

// Write passes p on and remembers that the answer has started.
func (k *keepWriter) Write(p []byte) (int, error) {
	if room := k.limit - k.buf.Len(); room > 0 {
		k.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// checkCommon checks the common parameters carried in headers.
func checkCommon(r *http.Request) *apiError {
	action := r.Header.Get("X-TC-Action")
	switch {
	case action == "":
		return missing("Action")
	case !isAction(action):
		return &apiError{"InvalidAction", fmt.Sprintf("The action `%s` is not found.", clip(action))}
	}
	switch v := r.Header.Get("X-TC-Version"); {
	case v == "":
		return missing("Version")
	case v != Version:
		return &apiError{"NoSuchVersion", fmt.Sprintf("The requested version `%s` of service `%s` does not exist.", clip(v), Service)}
	}
	switch reg := r.Header.Get("X-TC-Region"); {
	case reg == "":
		return missing("Region")
	case !knownRegion(reg):
		return &apiError{"UnsupportedRegion", fmt.Sprintf("The action does not support this region `%s`.", clip(reg))}
	}
	return nil
}

func isAction(a string) bool {
	return a == ActionAddUserContact || a == ActionDescribeAllUserContact
}

func missing(name string) *apiError {
	return &apiError{"MissingParameter", fmt.Sprintf("The request is missing a required parameter `%s`.", name)}
}

// clip keeps client-supplied text short in messages.
func clip(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}
