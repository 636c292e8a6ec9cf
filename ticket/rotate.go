package ticket

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"time"
)

// Rotating codes: against screenshots and resale, a ticket type may require
// the holder's screen to add `*` and 6 digits that change every RotationStep.
// The digits are an HMAC-SHA256 of the step number, keyed per ticket by
// HKDF-SHA256(event rotation secret, serial), truncated as in RFC 4226.
const (
	RotationStep   = 15 * time.Second
	RotationDigits = 6
	// RotationSkew is how many steps either side of the gate's clock are
	// accepted: a phone's clock drifts, and a code shown just before a step
	// ends is scanned just after.
	RotationSkew = 1

	rotationKeyInfo    = "tixgate/rotation/v1"
	eventRotationLabel = "tixgate/event-rotation/v1"
)

// EventRotationSecret derives an event's rotation secret from an organizer's
// rotation master secret, so one master serves every event while each gate
// only ever holds the secrets of its own events.
func EventRotationSecret(master []byte, event uint64) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte(eventRotationLabel))
	m.Write(binary.BigEndian.AppendUint64(nil, event))
	return m.Sum(nil)
}

// RotationKey derives the key of one ticket's rotating code.
func RotationKey(eventSecret []byte, serial uint64) []byte {
	info := binary.BigEndian.AppendUint64([]byte(rotationKeyInfo), serial)
	key, err := hkdf.Key(sha256.New, eventSecret, nil, string(info), sha256.Size)
	if err != nil { // only for lengths above 255 hashes: not reachable here
		panic(fmt.Sprintf("rotation key: %v", err))
	}
	return key
}

// rotationStep is the step number of t: whole RotationSteps since the Unix
// epoch.
func rotationStep(t time.Time) int64 {
	s := t.Unix()
	step := int64(RotationStep / time.Second)
	if s < 0 {
		return (s - step + 1) / step
	}
	return s / step
}

// rotationDigits computes the 6 digits for one step.
func rotationDigits(key []byte, step int64) [RotationDigits]byte {
	m := hmac.New(sha256.New, key)
	m.Write(binary.BigEndian.AppendUint64(nil, uint64(step)))
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	var d [RotationDigits]byte
	for i := RotationDigits - 1; i >= 0; i-- {
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return d
}

// RotationCode returns the 6 digits a holder's screen shows at t.
func RotationCode(eventSecret []byte, serial uint64, at time.Time) string {
	d := rotationDigits(RotationKey(eventSecret, serial), rotationStep(at))
	return string(d[:])
}

// WithRotation appends the rotating part for time at to a static code.
func WithRotation(static string, eventSecret []byte, serial uint64, at time.Time) string {
	return static + "*" + RotationCode(eventSecret, serial, at)
}

// CheckRotation reports whether digits are the rotating code of the ticket
// within RotationSkew steps of at. It compares in constant time.
func CheckRotation(eventSecret []byte, serial uint64, digits string, at time.Time) bool {
	if len(digits) != RotationDigits {
		return false
	}
	key := RotationKey(eventSecret, serial)
	now := rotationStep(at)
	ok := 0
	for s := now - RotationSkew; s <= now+RotationSkew; s++ {
		d := rotationDigits(key, s)
		ok |= subtle.ConstantTimeCompare(d[:], []byte(digits))
	}
	return ok == 1
}
