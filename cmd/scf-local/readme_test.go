package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The README's "what make invoke runs" (serve, onboard) lines are
// the Makefile's recipes, with the variables at their defaults and ARGS
// empty: a reader who copies one gets what make would have run.
func TestReadmeShowsWhatMakeRuns(t *testing.T) {
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^([A-Z_]+)\s*[?:]?=[ \t]*(.*)$`).FindAllStringSubmatch(string(makefile), -1) {
		vars[m[1]] = strings.TrimSpace(m[2])
	}
	expand := func(s string) string {
		for range 3 { // $(LOCAL) is $(DIST)/local/main
			s = regexp.MustCompile(`\$\(([A-Z_]+)\)`).ReplaceAllStringFunc(s, func(v string) string { return vars[v[2:len(v)-1]] })
		}
		return strings.Join(strings.Fields(s), " ")
	}
	for target, command := range map[string]string{"invoke": "invoke", "serve": "serve", "onboard": "consume"} {
		recipe := regexp.MustCompile(`(?m)^` + target + `:.*\n\t@?(.*)$`).FindStringSubmatch(string(makefile))
		if recipe == nil {
			t.Fatalf("no %s recipe in the Makefile", target)
		}
		line := regexp.MustCompile(`(?m)^(dist/scf-local ` + command + ` .*?)\s+# what make ` + target + ` runs`).FindStringSubmatch(string(readme))
		if line == nil {
			t.Errorf("the README has no %q line", "# what make "+target+" runs")
			continue
		}
		if got, want := strings.Join(strings.Fields(line[1]), " "), expand(recipe[1]); got != want {
			t.Errorf("README: %s\nmake %s runs: %s", got, target, want)
		}
	}
}
