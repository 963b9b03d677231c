package trigger

import (
	"strings"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
	"github.com/scf-dbbrain/addusercontact/internal/params"
)

// TimerEvent is the event of a timer trigger. Message is the trigger's
// argument (at most 4 KB), which here holds the contact or batch JSON.
type TimerEvent struct {
	Type        string `json:"Type"`        // Always "Timer".
	TriggerName string `json:"TriggerName"` // The trigger's name.
	Time        string `json:"Time"`        // When it fired (RFC 3339).
	Message     string `json:"Message"`     // The trigger's argument.
}

// Params parses the Message.
func (e TimerEvent) Params() (params.Object, error) {
	if strings.TrimSpace(e.Message) == "" {
		return params.Object{}, apierror.New(apierror.MissingParameter,
			"the timer %s has no argument: set the trigger's argument (Message) to the contact JSON", params.Describe(e.TriggerName))
	}
	return params.Parse([]byte(e.Message), "the timer's Message")
}
