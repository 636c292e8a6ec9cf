package firmware

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

func testConfig(t testing.TB) Config {
	c := DefaultConfig()
	c.Pulse, c.PassageWindow, c.Poll, c.RefuseLamp = MinPulse, 400*time.Millisecond, 10*time.Millisecond, 50*time.Millisecond
	return c
}

func newTestTurnstile(t *testing.T, lines ...string) (*FakeBoard, *Turnstile) {
	t.Helper()
	fb := NewFakeBoard(lines...)
	b, err := fb.Open()
	if err != nil {
		t.Fatal(err)
	}
	ts, err := NewTurnstile(testConfig(t), b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.Close() })
	return fb, ts
}

func waitPassed(t *testing.T, ch chan bool) bool {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("the admission never ended")
		return false
	}
}

func TestTurnstileAdmit(t *testing.T) {
	fb, ts := newTestTurnstile(t)
	done := make(chan bool, 1)
	start := time.Now()
	ts.Admit(false, func(p bool) { done <- p })
	time.Sleep(30 * time.Millisecond)
	if fb.Line(RelayIn).Level() != gpio.High || fb.Line(LampGreen).Level() != gpio.High {
		t.Error("relay or green lamp off during the pulse")
	}
	go func() { time.Sleep(150 * time.Millisecond); fb.Pulse(Passage, 30*time.Millisecond) }()
	if !waitPassed(t, done) {
		t.Error("a passage within the window was missed")
	}
	if d := time.Since(start); d < MinPulse {
		t.Errorf("admission ended after %s, before the pulse", d)
	}
	if got := fb.Line(RelayIn).Rises(); got != 1 {
		t.Errorf("relay pulsed %d times, want 1", got)
	}
	if fb.Line(RelayIn).Level() != gpio.Low || fb.Line(RelayOut).Rises() != 0 {
		t.Error("relays not back to off, or the exit relay moved")
	}
	// Nobody passes: the window ends false.
	ts.Admit(false, func(p bool) { done <- p })
	if waitPassed(t, done) {
		t.Error("an empty window counted a passage")
	}
	if st := ts.Stats(); st.Pulses != 2 || st.Passages != 1 || st.Missed != 1 {
		t.Errorf("stats %+v, want 2 pulses, 1 passage, 1 missed", st)
	}
	// Leaving uses the exit relay.
	ts.Admit(true, func(p bool) { done <- p })
	go fb.Pulse(Passage, 200*time.Millisecond)
	waitPassed(t, done)
	if fb.Line(RelayOut).Rises() != 1 {
		t.Error("exit did not pulse the exit relay")
	}
}

func TestTurnstileNoSensor(t *testing.T) {
	fb, ts := newTestTurnstile(t, RelayIn, LampGreen, LampRed)
	done := make(chan bool, 1)
	ts.Admit(false, func(p bool) { done <- p })
	if !waitPassed(t, done) || fb.Line(RelayIn).Rises() != 1 || ts.HasPassageSensor() {
		t.Error("without a sensor an admission is one pulse, counted as passed")
	}
}

func TestFireAlarm(t *testing.T) {
	fb, ts := newTestTurnstile(t)
	fb.Line(FireAlarm).Drive(gpio.High) // the loop opens
	waitFor(t, ts.FreeEgress)
	if fb.Line(RelayIn).Level() != gpio.High || fb.Line(RelayOut).Level() != gpio.High {
		t.Error("fire alarm: relays not released")
	}
	ts.Fault()
	if fb.Line(RelayIn).Level() != gpio.High {
		t.Error("a fault during the fire alarm closed the turnstile")
	}
	fb.Line(FireAlarm).Drive(gpio.Low)
	waitFor(t, func() bool { return !ts.FreeEgress() })
	if fb.Line(RelayIn).Level() != gpio.Low || fb.Line(RelayOut).Level() != gpio.Low {
		t.Error("alarm cleared: relays still released")
	}
}

func TestFault(t *testing.T) {
	fb, ts := newTestTurnstile(t)
	ts.Fault()
	if fb.Line(RelayIn).Level() != gpio.Low || fb.Line(LampRed).Level() != gpio.High {
		t.Error("fault: want relay off, red lamp on")
	}
	ts.Refuse()
	time.Sleep(100 * time.Millisecond)
	if fb.Line(LampRed).Level() != gpio.High {
		t.Error("a refusal after a fault cleared the error lamp")
	}
}

func TestConfigChecks(t *testing.T) {
	b, err := NewFakeBoard().Open()
	if err != nil {
		t.Fatal(err)
	}
	c := testConfig(t)
	c.Pulse = 50 * time.Millisecond
	if _, err := NewTurnstile(c, b); err == nil || !strings.Contains(err.Error(), "shorter than 100ms") {
		t.Errorf("50 ms pulse: %v", err)
	}
}

func TestBoardFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ name, file, text, err string }{
		{"yaml", "b.yaml", "name: pi\nlines:\n  relay_in: {pin: GPIO17}\n  fire_alarm: {pin: GPIO27, active: high}\n  passage: {pin: GPIO22, active: low}\n", ""},
		{"toml", "b.toml", "name = \"pi\"\n[lines.relay_in]\npin = \"GPIO17\"\n", ""},
		{"unknown line", "c.yaml", "lines:\n  relay_up: {pin: GPIO1}\n", "unknown line"},
		{"shared pin", "d.yaml", "lines:\n  relay_in: {pin: GPIO1}\n  buzzer: {pin: GPIO1}\n", "share pin"},
		{"bad level", "e.yaml", "lines:\n  relay_in: {pin: GPIO1, active: up}\n", "want high or low"},
		{"no entry relay", "f.yaml", "lines:\n  buzzer: {pin: GPIO1}\n", "no relay_in"},
		{"typo key", "g.yaml", "lines:\n  relay_in: {pn: GPIO1}\n", "pn"},
	}
	for _, tt := range tests {
		p := filepath.Join(dir, tt.file)
		os.WriteFile(p, []byte(tt.text), 0o644)
		bf, err := ReadBoardFile(p)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.err == "" && bf.Lines[RelayIn].Pin != "GPIO17":
			t.Errorf("%s: relay_in %+v", tt.name, bf.Lines[RelayIn])
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s: %v, want an error saying %q", tt.name, err, tt.err)
		}
	}
	// A pin the machine does not have is named.
	_, err := Open(BoardFile{Lines: map[string]PinSpec{RelayIn: {Pin: "GPIO99"}}}, func(string) gpio.PinIO { return nil })
	if err == nil || !strings.Contains(err.Error(), "no pin GPIO99") {
		t.Errorf("missing pin: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The board file the README shows opens on a fake machine with its pins.
func TestExampleBoardFile(t *testing.T) {
	bf, err := ReadBoardFile(filepath.Join("testdata", "pi-gate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pins := map[string]gpio.PinIO{}
	for _, spec := range bf.Lines {
		pins[spec.Pin] = &FakePin{Pin: gpiotest.Pin{N: spec.Pin, EdgesChan: make(chan gpio.Level, 1)}}
	}
	b, err := Open(bf, func(p string) gpio.PinIO { return pins[p] })
	if err != nil {
		t.Fatal(err)
	}
	if !b.Has(Passage) || !b.Has(FireAlarm) || !b.lines[Passage].activeLow || b.lines[RelayIn].activeLow {
		t.Errorf("board %+v", bf)
	}
}
