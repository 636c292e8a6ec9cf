package edge

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/tixgate/tixgate/edge/deviceapi"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/rules"
)

// Turnstile is what a node drives after each decision. firmware.Turnstile
// is the real one; a node without one (a handheld, a script's gate) only
// answers.
type Turnstile interface {
	// Admit opens the turnstile once in a direction and calls passed, once
	// and from another goroutine, with whether someone went through in the
	// passage window (true when the turnstile has no passage sensor).
	Admit(out bool, passed func(bool))
	// Refuse shows a refusal (red lamp, buzzer); the turnstile stays shut.
	Refuse()
	// Fault fails closed: relays off, red lamp on, until the next Admit.
	Fault()
	// FreeEgress reports whether the fire alarm holds the turnstile open.
	FreeEgress() bool
	// HasPassageSensor reports whether Admit can tell that nobody passed.
	HasPassageSensor() bool
}

// ReasonNoPassage is the reason written in the annul of an entry nobody
// used.
const ReasonNoPassage = "no_passage"

// decide is the one decision path of every input: the API, a hardware
// scanner's line, a camera frame, a code typed by staff. It records the
// decision, drives the turnstile and says what it did. An error means
// nothing may pass: the turnstile is put in fault.
func (n *Node) decide(ctx context.Context, s ledger.Scan, source string) (deviceapi.Answer, error) {
	start := n.cfg.Clock.Now()
	a, err := n.decideAndDrive(ctx, s, source)
	took := n.cfg.Clock.Now().Sub(start)
	if err != nil {
		n.metrics.scans.WithLabelValues("error", "", source).Inc()
		n.log.Error("scan could not be decided: turnstile held shut", "gate", s.Gate, "source", source, "err", err)
		return a, err
	}
	n.metrics.scans.WithLabelValues(a.Result, string(a.Reason), source).Inc()
	n.metrics.latency.Observe(took.Seconds())
	// Never the holder's name or the code's text.
	attrs := []any{"result", a.Result, "reason", a.Reason, "gate", a.Gate, "source", source, "latency", took}
	if a.Ticket != nil {
		attrs = append(attrs, "event", a.Event, "serial", a.Serial)
	}
	if a.FreeEgress {
		attrs = append(attrs, "free_egress", true)
	}
	n.log.Info("scan", attrs...)
	n.hub.record(a)
	return a, nil
}

func (n *Node) decideAndDrive(ctx context.Context, s ledger.Scan, source string) (deviceapi.Answer, error) {
	ts := n.cfg.Turnstile
	if h, _ := n.readiness(); h.State != deviceapi.StateReady {
		a := notProvisioned(h, s.Gate, n)
		a.Source = source
		if ts != nil {
			a.FreeEgress = ts.FreeEgress()
			ts.Refuse()
		}
		return a, nil
	}
	d, err := n.ledger.Decide(ctx, s)
	if err != nil {
		if ts != nil {
			ts.Fault()
		}
		return deviceapi.Answer{}, fmt.Errorf("decide: %w", err)
	}
	a := deviceapi.Answer{Decision: d, Source: source}
	if ts == nil {
		return a, nil
	}
	a.FreeEgress = ts.FreeEgress()
	if !d.OK() {
		ts.Refuse()
		return a, nil
	}
	out := d.Direction == rules.Out
	countOnPassage := n.cfg.CountOnPassage && ts.HasPassageSensor()
	record := d.Record
	free := a.FreeEgress
	ts.Admit(out, func(passed bool) {
		switch {
		case free || ts.FreeEgress():
			n.metrics.turnstile.WithLabelValues("free_egress").Inc()
		case passed:
			n.metrics.turnstile.WithLabelValues("passed").Inc()
		default:
			n.metrics.turnstile.WithLabelValues("no_passage").Inc()
			if countOnPassage {
				n.annul(record)
			}
		}
	})
	return a, nil
}

// annul takes back the entry record (origin/seq) nobody passed through.
func (n *Node) annul(record string) {
	i := strings.LastIndexByte(record, '/')
	seq, err := strconv.ParseUint(record[i+1:], 10, 64)
	if i < 0 || err != nil {
		n.log.Error("no passage, but the entry cannot be annulled: bad record name", "record", record)
		return
	}
	id, err := n.ledger.Annul(context.Background(), seq, ReasonNoPassage)
	switch {
	case errors.Is(err, ledger.ErrNotAnnullable):
		n.log.Info("no passage; the entry was already taken back", "record", record)
	case err != nil:
		n.log.Error("no passage, but the entry could not be annulled", "record", record, "err", err)
	default:
		n.log.Info("no passage: entry annulled, the ticket may be used again", "record", record, "annul", id)
	}
}

// nonces remembers the answers to the last scans that carried a nonce, so
// a retried request gets the first answer and records nothing new. A retry
// that arrives while the first is being decided waits for its answer.
type nonces struct {
	mu    sync.Mutex
	max   int
	seen  map[string]*nonceEntry
	order []string
}

type nonceEntry struct {
	done chan struct{}
	a    deviceapi.Answer
	err  error
}

func newNonces(max int) *nonces {
	return &nonces{max: max, seen: make(map[string]*nonceEntry, max)}
}

// do runs decide once per nonce; a later call with the nonce gets the
// first answer marked Repeat. A failed decision is forgotten, so a retry
// decides again.
func (ns *nonces) len() int {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return len(ns.seen)
}

func (ns *nonces) do(nonce string, decide func() (deviceapi.Answer, error)) (deviceapi.Answer, error) {
	ns.mu.Lock()
	if e, ok := ns.seen[nonce]; ok {
		ns.mu.Unlock()
		<-e.done
		if e.err != nil {
			return ns.do(nonce, decide)
		}
		a := e.a
		a.Repeat = true
		return a, nil
	}
	e := &nonceEntry{done: make(chan struct{})}
	if len(ns.order) >= ns.max {
		delete(ns.seen, ns.order[0])
		ns.order = ns.order[1:]
	}
	ns.seen[nonce] = e
	ns.order = append(ns.order, nonce)
	ns.mu.Unlock()

	e.a, e.err = decide()
	if e.err != nil {
		ns.mu.Lock()
		if ns.seen[nonce] == e {
			delete(ns.seen, nonce)
		}
		ns.mu.Unlock()
	}
	close(e.done)
	return e.a, e.err
}
