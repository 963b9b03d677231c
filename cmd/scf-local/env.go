package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

func checkEnvKey(k string) error {
	if k == "" || strings.ContainsAny(k, " \t\x00") {
		return fmt.Errorf("invalid variable name %q (want KEY=VALUE)", k)
	}
	return nil
}

// readEnvFile reads KEY=VALUE lines. Blank lines and lines starting with #
// are skipped, an optional "export " prefix is allowed, and one pair of
// matching surrounding quotes is removed from the value; there is no other
// quoting or expansion. A UTF-8 byte-order mark, which some Windows editors
// write, is dropped. Hand-written: a dotenv library would be a new module
// for a dozen lines. Lines are never echoed: they may hold secrets.
func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("env file: %w", err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\uFEFF"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if err := checkEnvKey(k); !ok || err != nil {
			return nil, fmt.Errorf("env file %s: line %d: want KEY=VALUE", path, n)
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		env[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("env file %s: %w", path, err)
	}
	return env, nil
}
