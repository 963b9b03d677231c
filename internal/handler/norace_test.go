//go:build !race

package handler

// raceEnabled is set under the race detector; see race_test.go.
const raceEnabled = false
