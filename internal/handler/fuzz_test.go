package handler

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/contact"
	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
	"github.com/scf-dbbrain/addusercontact/internal/emulator"
)

// maxSeed leaves the generated megabyte events out of the seed corpus: the
// fuzzer mutates small inputs far faster, and TestBadInput covers the big
// ones. They are not even generated here.
const maxSeed = 128 << 10

// addEventSeeds seeds a target with every sample event, every golden-test
// event and every bad-input case.
func addEventSeeds(f *testing.F) {
	f.Helper()
	var files []string
	for _, pattern := range []string{"../../events/*.json", "testdata/events/*.json", "testdata/badinput/*.json", "testdata/badinput/*.bin", "testdata/badinput/*.gen"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 100 {
		f.Fatalf("only %d seed files found", len(files))
	}
	for _, file := range files {
		payload, err := loadEventUpTo(file, maxSeed)
		switch {
		case errors.Is(err, errTooLarge):
		case err != nil:
			f.Fatal(err)
		case len(payload) <= maxSeed:
			f.Add(payload)
		}
	}
}

var allSources = []Source{APIGateway, FunctionURL, Timer, Direct, CKafka, CMQ, EventBridge}

// FuzzDecodeAndValidate runs event bytes through read and
// contact.Decoder.Decode, the whole of the function's input handling. Every
// refusal must be an *apierror.Error of kind Invalid with a client-error
// code, and whatever is accepted must be a contact that keeps the
// documented rules.
func FuzzDecodeAndValidate(f *testing.F) {
	addEventSeeds(f)
	v, err := contact.NewDecoder()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		d, err := read(payload)
		if !slices.Contains(allSources, d.source) {
			t.Fatalf("read returned the source %q", d.source)
		}
		if err != nil {
			checkRefusal(t, "read", err)
			return
		}
		if d.source.records() {
			for i, r := range d.records {
				if r.coords == "" || len(r.coords) > maxCoordinates+len("…") || !utf8.ValidString(r.coords) {
					t.Fatalf("record %d has the coordinates %q", i, r.coords)
				}
				if r.err != nil {
					checkRefusal(t, "record "+r.coords, r.err)
				} else if _, err := v.Decode(r.params, dbbrain.DefaultRegion); err != nil {
					checkRefusal(t, "record "+r.coords, err)
				}
			}
			return
		}
		req, err := v.Decode(d.params, dbbrain.DefaultRegion)
		if err != nil {
			checkRefusal(t, "Decode", err)
			return
		}
		if n := len(req.Items); n == 0 || n > contact.MaxBatch || (!req.Batch && n != 1) {
			t.Fatalf("%d items (batch %v)", n, req.Batch)
		}
		if !req.Batch && req.Items[0].Err != nil {
			t.Fatalf("a single contact failed without an error: %v", req.Items[0].Err)
		}
		for i, it := range req.Items {
			if it.Err != nil {
				checkRefusal(t, fmt.Sprintf("item %d", i), it.Err)
				if it.Contact != (contact.Contact{}) {
					t.Fatalf("item %d failed but carries the contact %+q", i, it.Contact)
				}
				continue
			}
			if it.Name != it.Contact.Name {
				t.Fatalf("item %d reports the name %q for the contact %q", i, it.Name, it.Contact.Name)
			}
			if broken := contactRuleBroken(it.Contact); broken != "" {
				t.Fatalf("item %d %+q was accepted, but %s", i, it.Contact, broken)
			}
		}
		if d.source == Direct && !req.Batch {
			// The contact is what a plain JSON decoder reads from the event.
			var plain struct{ Name, ContactInfo string }
			if err := json.Unmarshal(payload, &plain); err == nil {
				c := req.Items[0].Contact
				if strings.Trim(plain.Name, " ") != c.Name || strings.Trim(plain.ContactInfo, " ") != c.ContactInfo {
					t.Fatalf("contact %+q, but the event says %+q", c, plain)
				}
			}
		}
	})
}

// checkRefusal asserts that err refuses input the documented way: kind
// Invalid, born where the input was read, never a kind that would have a
// record redelivered or a workflow retry.
func checkRefusal(t *testing.T, where string, err error) {
	t.Helper()
	var e *apierror.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: error of type %T, not *apierror.Error: %v", where, err, err)
	}
	if e.Code == "" || e.Message == "" {
		t.Fatalf("%s: error without code or message: %+v", where, e)
	}
	if e.Kind != apierror.Invalid {
		t.Fatalf("%s: refusing input with the kind %d (%s), not Invalid", where, e.Kind, e.Code)
	}
	if s := statusOf(e.Code); s < 400 || s > 499 {
		t.Fatalf("%s: code %s maps to HTTP %d, not a client error", where, e.Code, s)
	}
	if retryableCode(e.Code) {
		t.Fatalf("%s: refusing input with the retryable code %s", where, e.Code)
	}
}

// namePunctuation is the documented punctuation of a name (REFERENCE.md:
// the 2021-05-27 API's set; the package doc adds ".").
const namePunctuation = "_-.!@#$%^&*()+=（）"

// contactRuleBroken checks a contact against the documented rules, written
// out again here rather than reusing the validator's tags. It returns the
// rule broken, or "".
func contactRuleBroken(c contact.Contact) string {
	switch n := utf8.RuneCountInString(c.Name); {
	case !utf8.ValidString(c.Name):
		return "Name is not valid UTF-8"
	case n < 2 || n > 60:
		return fmt.Sprintf("Name has %d characters", n)
	case strings.HasPrefix(c.Name, "_"):
		return "Name starts with _"
	case strings.Trim(c.Name, " ") != c.Name:
		return "Name is not trimmed"
	}
	for _, r := range c.Name {
		if !unicode.IsLetter(r) && !unicode.IsMark(r) && !unicode.IsDigit(r) && r != ' ' && !strings.ContainsRune(namePunctuation, r) {
			return fmt.Sprintf("Name holds %q", r)
		}
	}
	at := strings.LastIndexByte(c.ContactInfo, '@')
	switch {
	case !utf8.ValidString(c.ContactInfo):
		return "ContactInfo is not valid UTF-8"
	case utf8.RuneCountInString(c.ContactInfo) > dbbrain.MaxEmailLen:
		return "ContactInfo is too long"
	case strings.HasPrefix(c.ContactInfo, "_"):
		return "ContactInfo starts with _"
	case at < 1 || at == len(c.ContactInfo)-1:
		return "ContactInfo is not local@domain"
	case strings.ContainsFunc(c.ContactInfo, invisible):
		return "ContactInfo holds a control or invisible character"
	case c.Product != "mysql":
		return "Product is not mysql"
	}
	return ""
}

// invisible reports control, format and separator characters other than
// the space: nothing a person types into an address and sees.
func invisible(r rune) bool {
	return r != ' ' && (unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Zs))
}

// FuzzInvoke runs the whole handler, against the emulator, on arbitrary
// bytes. The answer must always have the documented form for the trigger, a
// function error must be a RetryableError or a SetupError whose text is
// small and names its failures, and input the function refuses must never
// reach DBbrain. One emulator and handler serve every input, as a warm
// instance does; each input's calls are counted on their own, so that a
// failing input still reproduces alone.
func FuzzInvoke(f *testing.F) {
	addEventSeeds(f)
	v, err := contact.NewDecoder()
	if err != nil {
		f.Fatal(err)
	}
	fx := newFixture(f, emulator.Config{RPS: -1}, map[string]string{"DBBRAIN_RPS": "1000", "DBBRAIN_CONCURRENCY": "4"})
	f.Fuzz(func(t *testing.T, payload []byte) {
		fx.logs.Reset()
		calls := fx.emu.Stats().Requests
		out, ierr := fx.invoke(payload, 10*time.Second)
		logs := fx.logs.String()
		if strings.Contains(logs, `"msg":"panic"`) {
			t.Fatalf("the handler panicked:\n%s", logs)
		}
		rec, ok := invocationLine(logs)
		if !ok {
			t.Fatalf("no invocation log line:\n%s", logs)
		}
		d, refusal := read(payload)
		if src := Source(fmt.Sprint(rec["trigger"])); src != d.source {
			t.Fatalf("logged trigger %s, read says %s", src, d.source)
		}
		a, err := inspectAnswer(d.source, out, ierr)
		if err != nil {
			t.Fatalf("%v\nanswer: %s\nerror: %v", err, clip(out), ierr)
		}
		if looksHTTP(payload) && !d.source.http() {
			t.Fatalf("an HTTP event answered as %s: %s", d.source, clip(out))
		}
		if refusal == nil && !d.source.records() {
			_, refusal = v.Decode(d.params, dbbrain.DefaultRegion)
		}
		if refusal == nil {
			return // records are judged one by one, in the answer's results
		}
		if n := fx.emu.Stats().Requests - calls; n != 0 {
			t.Fatalf("refused input (%v) reached DBbrain: %d requests", refusal, n)
		}
		if a.form != formError || a.fnErr != "" || a.codes[0] != apierror.CodeOf(refusal) {
			t.Fatalf("refused with %s, but answered %s %v %s", apierror.CodeOf(refusal), a.form, a.codes, a.fnErr)
		}
	})
}

// looksHTTP reports whether a lenient decoder (encoding/json: last duplicate
// wins, invalid UTF-8 replaced) sees an HTTP event: httpMethod and headers.
func looksHTTP(payload []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(payload, &m) != nil {
		return false
	}
	_, method := m["httpMethod"]
	_, headers := m["headers"]
	return method && headers
}
