package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tixgate/tixgate/scanner"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

// uintFlag is a flag.Value for an unsigned number that records whether it
// was set. It takes decimal, 0x hex and 0b binary (handy for zone masks).
type uintFlag struct {
	v   uint64
	set bool
}

func (f *uintFlag) String() string { return strconv.FormatUint(f.v, 10) }
func (f *uintFlag) Set(s string) error {
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		return fmt.Errorf("want an unsigned number, got %q", s)
	}
	f.v, f.set = v, true
	return nil
}

func runTicketIssue(_ context.Context, e *env, cl *cmdline) error {
	keys := cl.String("keys", "", "organizer key directory (from tixgate keys init)")
	var event, serial, typ, zones uintFlag
	cl.Var(&event, "event", "event id")
	cl.Var(&serial, "serial", "ticket serial, unique within the event")
	cl.Var(&typ, "type", "ticket type id")
	cl.Var(&zones, "zones", "bit mask of zones the ticket opens, e.g. 0b101 (default: as the ticket type says)")
	from := cl.String("from", "", "valid from this RFC 3339 time (rounded down to the minute)")
	until := cl.String("until", "", "valid until this RFC 3339 time (rounded up to the minute)")
	seat := cl.String("seat", "", "seat label, at most 32 bytes")
	rotating := cl.Bool("rotating", false, "require the rotating part of the code at the gate")
	if _, err := cl.parseN(0, ""); err != nil {
		return err
	}
	if err := need(cl.Name(), map[string]bool{"keys": *keys != "", "event": event.set, "serial": serial.set, "type": typ.set}); err != nil {
		return err
	}
	t := ticket.Ticket{Event: event.v, Serial: serial.v, Type: typ.v, Zones: zones.v, Seat: *seat, Rotating: *rotating}
	var err error
	if t.ValidFrom, err = parseTime("from", *from); err != nil {
		return err
	}
	if t.ValidUntil, err = parseTime("until", *until); err != nil {
		return err
	}
	k, err := keyfile.Load(*keys)
	if err != nil {
		return err
	}
	code, err := ticket.Issue(t, k.Issuer)
	if err != nil {
		return usageError("%v", err)
	}
	fmt.Fprintln(e.stdout, code)
	return nil
}

// codeArg reads a code from the argument, or from stdin when it is "-",
// without the whitespace around it.
func codeArg(e *env, arg string) (string, error) {
	if arg != "-" {
		return strings.TrimSpace(arg), nil
	}
	data, err := io.ReadAll(io.LimitReader(e.stdin, 64<<10))
	if err != nil {
		return "", fmt.Errorf("read code from stdin: %w", err)
	}
	code := strings.TrimSpace(string(data))
	if code == "" {
		return "", usageError("no code on stdin")
	}
	return code, nil
}

func runTicketQR(_ context.Context, e *env, cl *cmdline) error {
	out := cl.String("out", "", "PNG file to write")
	size := cl.Int("size", 400, "image width and height in pixels")
	pos, err := cl.parseN(1, "one CODE (or - for stdin)")
	if err != nil {
		return err
	}
	if err := need(cl.Name(), map[string]bool{"out": *out != ""}); err != nil {
		return err
	}
	code, err := codeArg(e, pos[0])
	if err != nil {
		return err
	}
	png, err := scanner.RenderPNG(code, *size)
	if err != nil {
		return fmt.Errorf("render QR: %w", err)
	}
	if err := keyfile.WriteFileMode(*out, png, 0o644, true); err != nil {
		return err
	}
	v, _ := scanner.Version(code)
	fmt.Fprintf(e.stderr, "wrote %s: QR version %d, ECC M, %d characters\n", *out, v, len(code))
	return nil
}

func runTicketDecode(_ context.Context, e *env, cl *cmdline) error {
	pos, err := cl.parseN(1, "one FILE")
	if err != nil {
		return err
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	text, err := scanner.DecodeBytes(data)
	if errors.Is(err, scanner.ErrNoCode) {
		return fmt.Errorf("decode %s: no QR code found in the image", pos[0])
	}
	if err != nil {
		return fmt.Errorf("decode %s: %w", pos[0], err)
	}
	fmt.Fprintln(e.stdout, text)
	return nil
}

// verdict is the JSON that ticket verify prints: the verdict, then the
// decoded fields of the ticket when the code could be parsed.
type verdict struct {
	Valid  bool          `json:"valid"`
	Reason ticket.Reason `json:"reason"`
	Detail string        `json:"detail,omitempty"`
	*ticket.Ticket
	IssuerName string `json:"issuer_name,omitempty"`
}

// keysCodeAt parses the flags and argument that ticket verify and show
// share: --keys, --at and one code; it returns the loaded keys, the code
// and the time.
func keysCodeAt(e *env, cl *cmdline, atHelp string) (*keyfile.Keys, string, time.Time, error) {
	keys := cl.String("keys", "", "organizer key directory (from tixgate keys init)")
	at := cl.String("at", "", atHelp)
	pos, err := cl.parseN(1, "one CODE (or - for stdin)")
	if err != nil {
		return nil, "", time.Time{}, err
	}
	if err := need(cl.Name(), map[string]bool{"keys": *keys != ""}); err != nil {
		return nil, "", time.Time{}, err
	}
	when, err := parseTime("at", *at)
	if err != nil {
		return nil, "", time.Time{}, err
	}
	if when.IsZero() {
		when = e.now()
	}
	code, err := codeArg(e, pos[0])
	if err != nil {
		return nil, "", time.Time{}, err
	}
	k, err := keyfile.Load(*keys)
	return k, code, when, err
}

func runTicketVerify(_ context.Context, e *env, cl *cmdline) error {
	k, code, when, err := keysCodeAt(e, cl, "verify as at this RFC 3339 time (default: now)")
	if err != nil {
		return err
	}
	var events []uint64
	if c, err := ticket.Parse(code); err == nil {
		events = append(events, c.Ticket.Event)
	}
	store, err := k.TrustStore(events...)
	if err != nil {
		return err
	}
	r := store.Verify(code, when)
	out := verdict{Valid: r.OK(), Reason: r.Reason, Detail: r.Detail}
	if r.Reason != ticket.ReasonMalformed {
		out.Ticket = &r.Code.Ticket
	}
	if r.Issuer != nil {
		out.IssuerName = r.Issuer.Name
	}
	if err := json.NewEncoder(e.stdout).Encode(out); err != nil {
		return err
	}
	if !r.OK() {
		return silentExit(1)
	}
	return nil
}

func runTicketShow(_ context.Context, e *env, cl *cmdline) error {
	k, code, when, err := keysCodeAt(e, cl, "show the code of this RFC 3339 time (default: now)")
	if err != nil {
		return err
	}
	c, err := ticket.Parse(code)
	if err != nil {
		return err
	}
	secret := ticket.EventRotationSecret(k.RotationMaster, c.Ticket.Event)
	fmt.Fprintln(e.stdout, ticket.WithRotation(c.Static, secret, c.Ticket.Serial, when))
	fmt.Fprintf(e.stderr, "valid until about %s\n", when.Truncate(ticket.RotationStep).Add(2*ticket.RotationStep).Format(time.RFC3339))
	return nil
}
