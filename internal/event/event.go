// Package event holds the events of the SCF triggers this function serves, one
// type per trigger per file, data only, as aws-lambda-go's. Members whose type
// varies between samples are raw JSON: decoding never fails on unused metadata.
package event

// MaxEvent is SCF's limit on a synchronous event (and answer): 6 MB.
const MaxEvent = 6 << 20
