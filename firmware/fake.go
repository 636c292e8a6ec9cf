package firmware

import (
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// FakePin is a gpiotest pin that remembers every level written to it, so a
// test can count relay pulses.
type FakePin struct {
	gpiotest.Pin
	mu      sync.Mutex
	written []gpio.Level
}

// Out records the level.
func (p *FakePin) Out(l gpio.Level) error {
	p.mu.Lock()
	p.written = append(p.written, l)
	p.mu.Unlock()
	return p.Pin.Out(l)
}

// Rises counts the low-to-high transitions written.
func (p *FakePin) Rises() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n, last := 0, gpio.Low
	for _, l := range p.written {
		if l == gpio.High && last == gpio.Low {
			n++
		}
		last = l
	}
	return n
}

// Level is the pin's level now.
func (p *FakePin) Level() gpio.Level { return p.Read() }

// Drive sets an input pin's level as the outside world would, with an edge.
func (p *FakePin) Drive(l gpio.Level) {
	p.Pin.Out(l)
	select {
	case p.EdgesChan <- l:
	default:
	}
}

// FakeBoard is a board of fake pins with every line, all active high.
type FakeBoard struct {
	File BoardFile
	Pins map[string]*FakePin
}

// NewFakeBoard makes a fake board with every line, or only the lines named.
func NewFakeBoard(lines ...string) *FakeBoard {
	if len(lines) == 0 {
		lines = lineNames()
	}
	fb := &FakeBoard{File: BoardFile{Name: "fake", Lines: map[string]PinSpec{}}, Pins: map[string]*FakePin{}}
	for i, name := range lines {
		pin := "FAKE" + string(rune('A'+i))
		fb.File.Lines[name] = PinSpec{Pin: pin, Active: "high"}
		fb.Pins[pin] = &FakePin{Pin: gpiotest.Pin{N: pin, Num: i, EdgesChan: make(chan gpio.Level, 16)}}
		fb.Pins[name] = fb.Pins[pin]
	}
	return fb
}

// Open opens the fake board, its inputs idle (low: the fire-alarm loop
// closed, nobody in the passage).
func (fb *FakeBoard) Open() (*Board, error) {
	b, err := Open(fb.File, func(name string) gpio.PinIO {
		if p := fb.Pins[name]; p != nil {
			return p
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for name := range inputs {
		if p := fb.Pins[name]; p != nil {
			p.Pin.Out(gpio.Low)
		}
	}
	return b, nil
}

// Line returns the fake pin of a line.
func (fb *FakeBoard) Line(name string) *FakePin { return fb.Pins[name] }

// Pulse drives an input active for d, as a person walking through would.
func (fb *FakeBoard) Pulse(name string, d time.Duration) {
	p := fb.Pins[name]
	p.Drive(gpio.High)
	time.Sleep(d)
	p.Drive(gpio.Low)
}
