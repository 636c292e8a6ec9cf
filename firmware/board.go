package firmware

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"periph.io/x/conn/v3/gpio"

	"github.com/tixgate/tixgate/ticket/strict"
)

// Line names of a board file.
const (
	RelayIn    = "relay_in"    // turnstile relay, entering
	RelayOut   = "relay_out"   // turnstile relay, leaving
	LampGreen  = "lamp_green"  // green lamp: pass
	LampRed    = "lamp_red"    // red lamp: refused, or error
	Buzzer     = "buzzer"      // sounds on a refusal and on an error
	Passage    = "passage"     // passage sensor: active while someone passes
	ExitButton = "exit_button" // staff button: opens the exit once
	FireAlarm  = "fire_alarm"  // fire-alarm loop, normally closed: active means alarm
)

var outputs = map[string]bool{RelayIn: true, RelayOut: true, LampGreen: true, LampRed: true, Buzzer: true}
var inputs = map[string]bool{Passage: true, ExitButton: true, FireAlarm: true}

// PinSpec names the GPIO of one line and the level that means "on".
type PinSpec struct {
	// Pin is the name periph knows the pin by: "GPIO17", "P1_11".
	Pin string `toml:"pin" yaml:"pin"`
	// Active is "high" (default) or "low": the level that energises an
	// output, or that an input reads when its condition holds. A
	// normally-closed fire-alarm loop to ground with a pull-up reads low
	// while closed: it is active high (alarm = open = high).
	Active string `toml:"active" yaml:"active"`
}

// BoardFile describes a board: which pin is which line. Lines left out
// are absent: a board without a passage sensor cannot count on passage.
type BoardFile struct {
	Name  string             `toml:"name" yaml:"name"`
	Lines map[string]PinSpec `toml:"lines" yaml:"lines"`
}

// ReadBoardFile reads and checks a board description (.toml or .yaml).
func ReadBoardFile(path string) (BoardFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return BoardFile{}, fmt.Errorf("board file: %w", err)
	}
	var bf BoardFile
	if err := strict.File(path, data, &bf); err != nil {
		return bf, fmt.Errorf("board file %s: %w", path, err)
	}
	if err := bf.check(); err != nil {
		return bf, fmt.Errorf("board file %s: %w", path, err)
	}
	return bf, nil
}

func (bf BoardFile) check() error {
	if len(bf.Lines) == 0 {
		return errors.New("no lines")
	}
	pins := map[string]string{}
	for _, name := range sortedKeys(bf.Lines) {
		spec := bf.Lines[name]
		if !outputs[name] && !inputs[name] {
			return fmt.Errorf("unknown line %q (want %s)", name, strings.Join(lineNames(), ", "))
		}
		if spec.Pin == "" {
			return fmt.Errorf("line %s: no pin", name)
		}
		if other, dup := pins[spec.Pin]; dup {
			return fmt.Errorf("lines %s and %s share pin %s", other, name, spec.Pin)
		}
		pins[spec.Pin] = name
		if spec.Active != "" && spec.Active != "high" && spec.Active != "low" {
			return fmt.Errorf("line %s: active %q, want high or low", name, spec.Active)
		}
	}
	if _, ok := bf.Lines[RelayIn]; !ok {
		return errors.New("no relay_in: a turnstile needs its entry relay")
	}
	return nil
}

func lineNames() []string {
	var out []string
	for n := range outputs {
		out = append(out, n)
	}
	for n := range inputs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func sortedKeys(m map[string]PinSpec) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// line is one opened GPIO line.
type line struct {
	name      string
	pin       gpio.PinIO
	activeLow bool
}

func (l *line) set(on bool) error {
	if l == nil {
		return nil
	}
	lv := gpio.Level(on)
	if l.activeLow {
		lv = !lv
	}
	if err := l.pin.Out(lv); err != nil {
		return fmt.Errorf("%s (%s): %w", l.name, l.pin.Name(), err)
	}
	return nil
}

func (l *line) active() bool {
	if l == nil {
		return false
	}
	return bool(l.pin.Read()) != l.activeLow
}

// Board is a board's opened lines.
type Board struct {
	Name  string
	lines map[string]*line
}

// Open opens the lines of bf, finding each pin with lookup (nil when the
// machine has no such pin). Outputs start off; inputs get a pull-up and
// edge detection.
func Open(bf BoardFile, lookup func(pin string) gpio.PinIO) (*Board, error) {
	if err := bf.check(); err != nil {
		return nil, err
	}
	b := &Board{Name: bf.Name, lines: map[string]*line{}}
	for _, name := range sortedKeys(bf.Lines) {
		spec := bf.Lines[name]
		p := lookup(spec.Pin)
		if p == nil {
			return nil, fmt.Errorf("board %s: line %s: this machine has no pin %s", bf.Name, name, spec.Pin)
		}
		l := &line{name: name, pin: p, activeLow: spec.Active == "low"}
		if outputs[name] {
			if err := l.set(false); err != nil {
				return nil, fmt.Errorf("board %s: %w", bf.Name, err)
			}
		} else if err := p.In(gpio.PullUp, gpio.BothEdges); err != nil {
			return nil, fmt.Errorf("board %s: line %s (%s): %w", bf.Name, name, spec.Pin, err)
		}
		b.lines[name] = l
	}
	return b, nil
}

// Has reports whether the board has the line.
func (b *Board) Has(name string) bool { return b.lines[name] != nil }
