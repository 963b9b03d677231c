//go:build race

package handler

// raceEnabled is set under the race detector, which makes the tests that
// only measure size limits on multi-megabyte inputs take seconds each; they
// run in the ordinary `go test`.
const raceEnabled = true
