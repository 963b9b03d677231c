package event

import "github.com/tencentyun/scf-go-lib/events"

// TimerEvent is the event of a timer trigger, scf-go-lib's type; Message is the
// trigger's argument (at most 4 KB).
type TimerEvent = events.TimerEvent
