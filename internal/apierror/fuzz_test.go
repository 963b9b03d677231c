package apierror

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzQuote checks that a quoted value is always a short, valid Go
// quoted string, whatever bytes the name holds.
func FuzzQuote(f *testing.F) {
	f.Add("Name")
	f.Add(strings.Repeat("长", 100))
	f.Add("\xff\xfe" + strings.Repeat("a", 50))
	f.Fuzz(func(t *testing.T, name string) {
		d := Quote(name)
		s, err := strconv.Unquote(d)
		if err != nil {
			t.Fatalf("Quote(%q) = %s: %v", name, d, err)
		}
		if n := utf8.RuneCountInString(s); n > 41 {
			t.Fatalf("Quote(%q) keeps %d characters", name, n)
		}
	})
}
