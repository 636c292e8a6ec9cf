package firmware

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// MinPulse is the shortest relay pulse a turnstile controller reliably
// sees.
const MinPulse = 100 * time.Millisecond

// Config configures a Turnstile.
type Config struct {
	// Pulse is how long the relay is energised on an admission. Controllers
	// latch on a pulse of 100 ms or more; longer pulses hold the arm free
	// longer and let a second person slip through.
	Pulse time.Duration
	// PassageWindow is how long after the pulse a passage counts for the
	// admission. Long windows forgive slow people, short ones annul a
	// ticket sooner when nobody used it.
	PassageWindow time.Duration
	// Poll bounds how long an input watcher waits for an edge before it
	// reads the level again: the slowest a missed edge is noticed.
	Poll time.Duration
	// RefuseLamp is how long the red lamp (and the buzzer's first part)
	// shows a refusal.
	RefuseLamp time.Duration
	// Logger gets the fire-alarm changes and I/O errors.
	Logger *slog.Logger
}

// DefaultConfig suits a tripod turnstile.
func DefaultConfig() Config {
	return Config{
		Pulse:         200 * time.Millisecond,
		PassageWindow: 5 * time.Second,
		Poll:          250 * time.Millisecond,
		RefuseLamp:    time.Second,
		Logger:        slog.Default(),
	}
}

// Stats counts what the turnstile did.
type Stats struct {
	Pulses   uint64 // relay pulses
	Passages uint64 // passages seen within a window
	Missed   uint64 // windows that ended without a passage
}

// Turnstile drives one turnstile's lines.
type Turnstile struct {
	cfg   Config
	b     *Board
	log   *slog.Logger
	queue chan admission
	pass  chan struct{}
	quit  chan struct{}
	wg    sync.WaitGroup

	mu    sync.Mutex // guards the outputs
	alarm atomic.Bool
	fault atomic.Bool

	pulses, passages, missed atomic.Uint64
}

type admission struct {
	out    bool
	passed func(bool)
}

// NewTurnstile starts driving b.
func NewTurnstile(cfg Config, b *Board) (*Turnstile, error) {
	if cfg.Pulse < MinPulse {
		return nil, fmt.Errorf("turnstile: relay pulse %s is shorter than %s", cfg.Pulse, MinPulse)
	}
	if cfg.PassageWindow <= 0 || cfg.Poll <= 0 {
		return nil, errors.New("turnstile: passage window and poll must be positive")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	t := &Turnstile{cfg: cfg, b: b, log: cfg.Logger, queue: make(chan admission, 64), pass: make(chan struct{}, 8), quit: make(chan struct{})}
	t.wg.Add(1)
	go t.run()
	if l := b.lines[Passage]; l != nil {
		t.watch(l, func(on bool) {
			if on {
				select {
				case t.pass <- struct{}{}:
				default:
				}
			}
		})
	}
	if l := b.lines[FireAlarm]; l != nil {
		t.watch(l, t.setAlarm)
	}
	return t, nil
}

// HasPassageSensor reports whether admissions can wait for a passage.
func (t *Turnstile) HasPassageSensor() bool { return t.b.Has(Passage) }

// FreeEgress reports whether the fire alarm holds the turnstile open.
func (t *Turnstile) FreeEgress() bool { return t.alarm.Load() }

// Admit lets one person through in a direction: a relay pulse, then the
// passage window. passed (if not nil) is called once, from another
// goroutine, with whether someone passed in the window; without a passage
// sensor, or during free egress, it is called with true after the pulse.
func (t *Turnstile) Admit(out bool, passed func(bool)) {
	if passed == nil {
		passed = func(bool) {}
	}
	select {
	case t.queue <- admission{out: out, passed: passed}:
	case <-t.quit:
		passed(false)
	}
}

// Refuse shows a refusal: red lamp and a short buzz.
func (t *Turnstile) Refuse() {
	t.mu.Lock()
	t.b.lines[LampGreen].set(false)
	t.b.lines[LampRed].set(true)
	t.b.lines[Buzzer].set(true)
	t.mu.Unlock()
	// Real timers: how long a person sees the lamp and hears the buzzer.
	time.AfterFunc(t.cfg.RefuseLamp/4, func() { t.output(Buzzer, false) })
	time.AfterFunc(t.cfg.RefuseLamp, func() {
		if !t.fault.Load() {
			t.output(LampRed, false)
		}
	})
}

// Fault fails closed: both relays off (unless the fire alarm holds them),
// red lamp on until the next admission.
func (t *Turnstile) Fault() {
	t.fault.Store(true)
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.alarm.Load() {
		t.b.lines[RelayIn].set(false)
		t.b.lines[RelayOut].set(false)
	}
	t.b.lines[LampGreen].set(false)
	t.b.lines[LampRed].set(true)
}

// Stats returns the counters.
func (t *Turnstile) Stats() Stats {
	return Stats{Pulses: t.pulses.Load(), Passages: t.passages.Load(), Missed: t.missed.Load()}
}

// Close stops the turnstile, relays off.
func (t *Turnstile) Close() error {
	select {
	case <-t.quit:
		return nil
	default:
	}
	close(t.quit)
	t.wg.Wait()
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	for _, n := range []string{RelayIn, RelayOut, LampGreen, LampRed, Buzzer} {
		errs = append(errs, t.b.lines[n].set(false))
	}
	return errors.Join(errs...)
}

func (t *Turnstile) output(name string, on bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.b.lines[name].set(on); err != nil {
		t.log.Error("turnstile output failed", "line", name, "err", err)
	}
}

func (t *Turnstile) setAlarm(on bool) {
	if t.alarm.Swap(on) == on {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b.lines[RelayIn].set(on)
	t.b.lines[RelayOut].set(on)
	if on {
		t.log.Warn("fire alarm: turnstile released for free egress")
	} else {
		t.log.Info("fire alarm cleared: turnstile back to normal")
	}
}

// watch calls fn with the line's state whenever it changes.
func (t *Turnstile) watch(l *line, fn func(bool)) {
	t.wg.Add(1)
	last := l.active()
	fn(last)
	go func() {
		defer t.wg.Done()
		for {
			select {
			case <-t.quit:
				return
			default:
			}
			l.pin.WaitForEdge(t.cfg.Poll)
			if now := l.active(); now != last {
				last = now
				fn(now)
			}
		}
	}()
}

func (t *Turnstile) run() {
	defer t.wg.Done()
	for {
		select {
		case <-t.quit:
			return
		case a := <-t.queue:
			a.passed(t.admit(a.out))
		}
	}
}

// admit pulses the relay and waits for the passage.
func (t *Turnstile) admit(out bool) bool {
	relay := RelayIn
	if out && t.b.Has(RelayOut) {
		relay = RelayOut
	}
	t.fault.Store(false)
	for len(t.pass) > 0 { // a passage before the pulse is not this one
		<-t.pass
	}
	t.mu.Lock()
	t.b.lines[LampRed].set(false)
	t.b.lines[LampGreen].set(true)
	alarm := t.alarm.Load()
	var err error
	if !alarm {
		err = t.b.lines[relay].set(true)
	}
	t.mu.Unlock()
	if err != nil {
		t.log.Error("turnstile relay failed", "err", err)
		t.Fault()
		return false
	}
	if alarm {
		t.output(LampGreen, false)
		return true
	}
	t.pulses.Add(1)
	// The pulse and the passage window are how long a relay is held and a
	// person takes to walk through: physical time, so real timers, never
	// a clock a test could stop (tests shorten them in the Config).
	timer := time.NewTimer(t.cfg.Pulse)
	select {
	case <-timer.C:
	case <-t.quit:
	}
	t.mu.Lock()
	if !t.alarm.Load() {
		t.b.lines[relay].set(false)
	}
	t.mu.Unlock()
	defer t.output(LampGreen, false)
	if !t.b.Has(Passage) {
		return true
	}
	window := time.NewTimer(t.cfg.PassageWindow)
	defer window.Stop()
	select {
	case <-t.pass:
		t.passages.Add(1)
		return true
	case <-window.C:
		t.missed.Add(1)
		return false
	case <-t.quit:
		return false
	}
}
