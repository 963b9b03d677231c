package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// roleCredentials returns the execution-role credential variables that are
// set in scf-local's environment. SCF fills these on every invocation with the
// role's temporary keys; scf-local passes its own.
func roleCredentials(getenv func(string) string) map[string]string {
	env := map[string]string{}
	for _, k := range []string{"TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN"} {
		if v := getenv(k); v != "" {
			env[k] = v
		}
	}
	return env
}

// envEntries collects repeated --env flags in order. Values are never
// printed: they may be secrets.
type envEntries struct {
	getenv  func(string) string
	entries [][2]string
}

// String satisfies flag.Value; the entries may hold secrets, so none are shown.
func (e *envEntries) String() string { return "" }

// Set takes KEY=VALUE, or KEY alone to pass scf-local's own value of KEY
// (as `docker run -e KEY` does).
func (e *envEntries) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		v = e.getenv(k)
	}
	if err := checkEnvKey(k); err != nil {
		return err
	}
	e.entries = append(e.entries, [2]string{k, v})
	return nil
}

func checkEnvKey(k string) error {
	if k == "" || strings.ContainsAny(k, " \t\x00") {
		return fmt.Errorf("invalid variable name %q (want KEY=VALUE)", k)
	}
	return nil
}

// readEnvFile reads KEY=VALUE lines. Blank lines and lines starting with #
// are skipped, an optional "export " prefix is allowed, and one pair of
// matching surrounding quotes is removed from the value; there is no other
// quoting or expansion. Hand-written: a dotenv library would be a new module
// for a dozen lines.
func readEnvFile(path string) ([][2]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("env file: %w", err)
	}
	defer f.Close()
	entries, err := parseEnv(f)
	if err != nil {
		return nil, fmt.Errorf("env file %s: %w", path, err)
	}
	return entries, nil
}

func parseEnv(r io.Reader) ([][2]string, error) {
	var entries [][2]string
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok {
			// The line is not echoed: it may hold a secret.
			return nil, fmt.Errorf("line %d: want KEY=VALUE", n)
		}
		if err := checkEnvKey(k); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		entries = append(entries, [2]string{k, v})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return entries, nil
}
