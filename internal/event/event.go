// Package event holds the events of the SCF triggers this function serves, one type per trigger per file, data
// only, as aws-lambda-go's events are. Members whose type varies between Tencent's samples (a partition sent as 0
// or "", msgTag as a string or a list) are kept as raw JSON: decoding never fails on metadata the function ignores.
package event

// MaxEvent is SCF's limit on a synchronous event (and answer): 6 MB.
const MaxEvent = 6 << 20
