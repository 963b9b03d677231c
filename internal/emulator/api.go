package emulator

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
)

// outcome is what one API request gets, decided before anything is written.
type outcome struct {
	action, version, secretID string // for Stats and the log; never a key or token
	mail                      string // an added contact's email; the logger masks it
	requestID, code, fault    string // code: the Stats code
	cause                     error  // detail behind an error answer, for the debug log
	status                    int
	body                      []byte
	delay                     time.Duration
	drop, silent              bool // silent: the client left before its body was read
}

// unavailableBody is what a gateway in front of the API answers when the
// service is down.
const unavailableBody = "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n"

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	out := s.handle(r)
	if out.silent {
		return
	}
	if out.delay > 0 { // an injected latency, cut short if the client leaves or the Server closes
		t := time.NewTimer(out.delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
		case <-s.done:
		}
		t.Stop()
	}
	if out.drop {
		out.status, out.code = 0, StatDropped
	}
	s.count(out.action, out.code)
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "api request", slog.String("action", out.action),
		slog.String("version", out.version), slog.String("code", out.code), slog.Int("status", out.status),
		slog.Duration("latency", time.Since(start)), slog.String("secret_id", out.secretID),
		slog.String("request_id", out.requestID), slog.String("contact", out.mail), slog.String("fault", out.fault))
	if out.cause != nil {
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "api request detail", slog.String("request_id", out.requestID), slog.Any("cause", out.cause))
	}
	if out.drop {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			// Not hijackable (HTTP/2, a recorder): abort the response;
			// net/http resets the stream and logs nothing for this value.
			panic(http.ErrAbortHandler)
		}
		_ = conn.Close()
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if out.status == http.StatusServiceUnavailable {
		w.Header().Set("Content-Type", "text/html")
	}
	w.WriteHeader(out.status)
	_, _ = w.Write(out.body)
}

// handle decides the outcome of one API request and applies its action.
func (s *Server) handle(r *http.Request) outcome {
	arrival := s.now()
	out := outcome{action: statsOther, status: http.StatusOK}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		out.silent = true
		return out
	}
	if len(body) > MaxBodyBytes {
		return s.fail(out, apierror.E(apierror.Invalid, apierror.RequestSizeLimitExceeded, "The request body exceeds %d bytes.", MaxBodyBytes))
	}
	auth, err := s.verifier.Verify(r, body)
	action, version, region := r.Header.Get("X-TC-Action"), r.Header.Get("X-TC-Version"), r.Header.Get("X-TC-Region")
	if auth.Params != nil { // signature v1: the common parameters are among the others
		action, version, region = auth.Params.Get("Action"), auth.Params.Get("Version"), auth.Params.Get("Region")
	}
	out.version, out.secretID = version, auth.SecretID
	if isAction(action) {
		out.action = action
	}
	if err != nil {
		return s.fail(out, err)
	}

	// One draw per authenticated request keeps the fault sequence a
	// function of the request sequence alone.
	s.mu.Lock()
	draw, faults := s.rng.Float64(), s.faults
	s.mu.Unlock()
	out.delay = faults.Latency

	v, err := checkCommon(action, version, region)
	if err != nil {
		return s.fail(out, err)
	}
	if ok, n := s.admit(windowKey{s.accounts[auth.SecretID], action}, arrival); !ok {
		return s.fail(out, apierror.E(apierror.Invalid, apierror.RequestLimitExceeded,
			"Your current request times equals to `%d` in a second, which exceeds the frequency limit `%d` for a second. Please reduce the frequency of calls.",
			n+1, s.limiter.limit))
	}
	switch {
	case draw < faults.InternalError:
		out.fault = apierror.InternalError
		return s.fail(out, apierror.E(apierror.Invalid, apierror.InternalError, "An internal error has occurred. Retry your request, but if the problem persists, contact us with details by filing a ticket."))
	case draw < faults.InternalError+faults.Unavailable:
		out.fault, out.status, out.code, out.body = StatUnavailable, http.StatusServiceUnavailable, StatUnavailable, []byte(unavailableBody)
		return out
	case draw < faults.InternalError+faults.Unavailable+faults.Drop:
		out.fault, out.drop = StatDropped, true
	}

	var p params
	if auth.Params != nil {
		for _, common := range []string{"Action", "Version", "Region", "Language", "RequestClient"} {
			delete(auth.Params, common)
		}
		p, err = formParams(auth.Params)
	} else {
		p, err = parseParams(r, body)
	}
	var resp map[string]any
	switch {
	case err != nil:
	case action == dbbrain.ActionAddUserContact:
		out.mail = p.str("ContactInfo")
		resp, err = s.addUserContact(v, p)
	default:
		resp, err = s.describeAllUserContact(p)
	}
	if err != nil {
		return s.fail(out, err)
	}
	out.requestID, out.code = s.newID(), StatOK
	out.body = envelope(resp, out.requestID)
	return out
}

// checkCommon checks the common parameters and returns the version's rules.
func checkCommon(action, version, region string) (rules, error) {
	v, known := versionRules(version)
	switch {
	case action == "":
		return v, missing("Action")
	case !isAction(action):
		return v, apierror.E(apierror.Invalid, apierror.InvalidAction, "The action %s is not found.", apierror.Quote(action))
	case version == "":
		return v, missing("Version")
	case !known:
		return v, apierror.E(apierror.Invalid, apierror.NoSuchVersion, "The requested version %s of service `%s` does not exist.", apierror.Quote(version), dbbrain.Service)
	case region == "" && v.regionRequired:
		return v, missing("Region")
	case region != "" && !knownRegion(region):
		return v, apierror.E(apierror.Invalid, apierror.UnsupportedRegion, "The action does not support this region %s.", apierror.Quote(region))
	}
	return v, nil
}

func isAction(a string) bool {
	return a == dbbrain.ActionAddUserContact || a == dbbrain.ActionDescribeAllUserContact
}

// fail turns out into the error envelope of err, an *apierror.Error (any
// other error becomes an InternalError).
func (s *Server) fail(out outcome, err error) outcome {
	e := apierror.From(err)
	out.requestID, out.code, out.cause = s.newID(), e.Code, e.Err
	out.body = envelope(map[string]any{"Error": map[string]string{"Code": e.Code, "Message": e.Message}}, out.requestID)
	return out
}

// envelope wraps an action's output in {"Response":{...,"RequestId":id}}.
// It holds only strings, numbers and contacts, which always encode.
func envelope(fields map[string]any, requestID string) []byte {
	fields["RequestId"] = requestID
	raw, _ := json.Marshal(map[string]any{"Response": fields})
	return raw
}
