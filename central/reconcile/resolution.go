package reconcile

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Action is what ops decided about a conflict.
type Action string

const (
	// Confirm accepts what happened: the passages stand and nothing is
	// owed (a holder let back in by staff, a revocation that came late).
	Confirm Action = "confirm"
	// Flag marks the ticket and its holder for follow-up: a copied code,
	// a refunded ticket that was used anyway, a stolen device.
	Flag Action = "flag"
	// Refund gives the holder their money back, through central's refund
	// flow: the holder was wronged (their code was copied and used by
	// someone else).
	Refund Action = "refund"
)

// MaxNoteLen bounds a resolution's note, in bytes.
const MaxNoteLen = 1000

// Resolution is ops' decision on one conflict. Central stores it with the
// conflict; a conflict has at most one resolution in force, the latest.
type Resolution struct {
	Conflict string    `json:"conflict"` // the Conflict's ID
	Action   Action    `json:"action"`
	By       string    `json:"by"` // the ops user
	At       time.Time `json:"at"`
	Note     string    `json:"note,omitempty"`
}

// ErrBadResolution is wrapped by Validate's errors.
var ErrBadResolution = errors.New("bad resolution")

// Validate reports what makes the resolution unusable.
func (r Resolution) Validate() error {
	switch {
	case len(r.Conflict) != 33 || r.Conflict[0] != 'c':
		return fmt.Errorf("%w: %q is not a conflict id", ErrBadResolution, r.Conflict)
	case r.Action != Confirm && r.Action != Flag && r.Action != Refund:
		return fmt.Errorf("%w: conflict %s: unknown action %q (want confirm, flag or refund)", ErrBadResolution, r.Conflict, r.Action)
	case r.By == "":
		return fmt.Errorf("%w: conflict %s: no user", ErrBadResolution, r.Conflict)
	case r.At.IsZero():
		return fmt.Errorf("%w: conflict %s: no time", ErrBadResolution, r.Conflict)
	case len(r.Note) > MaxNoteLen || !utf8.ValidString(r.Note):
		return fmt.Errorf("%w: conflict %s: the note is not UTF-8 of at most %d bytes", ErrBadResolution, r.Conflict, MaxNoteLen)
	case !utf8.ValidString(r.By) || len(r.By) > 128:
		return fmt.Errorf("%w: conflict %s: the user is not UTF-8 of at most 128 bytes", ErrBadResolution, r.Conflict)
	}
	for _, c := range r.Conflict[1:] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return fmt.Errorf("%w: %q is not a conflict id", ErrBadResolution, r.Conflict)
		}
	}
	return nil
}
