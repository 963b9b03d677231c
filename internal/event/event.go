// Package event holds the events of the SCF triggers this function serves,
// one type per trigger per file, as aws-lambda-go's events are: data only,
// decoded by encoding/json/v2's rules. Which trigger sent an event, and what
// it asks for, is the handler's business.
//
// Members whose type differs between Tencent's own samples and triggers (a
// partition sent as 0 or "", msgTag as a string or a list, isBase64Encoded
// as true or "true", a query value as a string, a list or true) are kept as
// raw JSON (jsontext.Value), so that decoding an event never fails on
// metadata the function does not need.
package event

// MaxEvent is SCF's limit on a synchronous event (and answer): 6 MB.
const MaxEvent = 6 << 20
