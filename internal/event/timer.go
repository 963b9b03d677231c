package event

import (
	"strings"

	"github.com/tencentyun/scf-go-lib/events"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/contact"
)

// TimerEvent is the event of a timer trigger: scf-go-lib's own type, which
// fits it exactly. Message is the trigger's argument (at most 4 KB), which
// here holds the contact or batch JSON.
type TimerEvent = events.TimerEvent

func timerParams(e TimerEvent) (contact.Params, error) {
	if strings.TrimSpace(e.Message) == "" {
		return contact.Params{}, apierror.New(apierror.MissingParameter,
			"the timer %s has no argument: set the trigger's argument (Message) to the contact JSON", apierror.Quote(e.TriggerName))
	}
	return contact.ParseJSON([]byte(e.Message), "the timer's Message")
}
