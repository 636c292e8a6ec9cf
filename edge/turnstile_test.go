package edge

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/tixgate/tixgate/edge/deviceapi"
	"github.com/tixgate/tixgate/firmware"
	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/ticket"
)

var _ Turnstile = (*firmware.Turnstile)(nil)

// startGate starts a node driving a turnstile on a fake board.
func startGate(t *testing.T, v *ledgertest.Venue, name string, countOnPassage bool, join ...string) (*Node, *firmware.FakeBoard, client) {
	t.Helper()
	return startGateWith(t, v, name, func(c *Config) { c.CountOnPassage = countOnPassage }, join...)
}

// startGateWith is startGate with a config edit.
func startGateWith(t *testing.T, v *ledgertest.Venue, name string, edit func(*Config), join ...string) (*Node, *firmware.FakeBoard, client) {
	t.Helper()
	fb := firmware.NewFakeBoard()
	b, err := fb.Open()
	if err != nil {
		t.Fatal(err)
	}
	fc := firmware.DefaultConfig()
	fc.Pulse, fc.PassageWindow, fc.Poll, fc.RefuseLamp = firmware.MinPulse, 300*time.Millisecond, 5*time.Millisecond, 20*time.Millisecond
	fc.Logger = ledgertest.Logger(t, 0)
	ts, err := firmware.NewTurnstile(fc, b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.Close() })
	n := startNodeWith(t, v, name, func(c *Config) {
		c.Turnstile = ts
		if edit != nil {
			edit(c)
		}
	}, join...)
	return n, fb, client{t: t, base: "http://" + n.APIAddr(), token: n.Token()}
}

func (c client) answer(body string) deviceapi.Answer {
	c.t.Helper()
	status, data := c.do("POST", "/api/v1/scans", body)
	if status != http.StatusOK {
		c.t.Fatalf("scan: %d %s", status, data)
	}
	var a deviceapi.Answer
	if err := json.Unmarshal(data, &a); err != nil {
		c.t.Fatal(err)
	}
	return a
}

func TestScanDrivesTurnstile(t *testing.T) {
	v := ledgertest.NewVenue(t, 20)
	_, fb, c := startGate(t, v, "gate-1", false)
	relay := fb.Line(firmware.RelayIn)
	code := v.Code(ticket.Ticket{Serial: 1})

	body := `{"code":"` + code + `","nonce":"n-1"}`
	if a := c.answer(body); !a.OK() || a.Repeat || a.Source != deviceapi.SourceAPI {
		t.Fatalf("first scan: %+v", a)
	}
	// A retry of the same request: the first answer, nothing new.
	if a := c.answer(body); !a.OK() || !a.Repeat {
		t.Errorf("retry with the nonce: %+v, want the first answer marked repeat", a)
	}
	ledgertest.WaitFor(t, 3*time.Second, "the pulse ends", func() bool { return relay.Rises() == 1 && relay.Level() == gpio.Low })
	if a := c.answer(`{"code":"` + code + `"}`); a.Reason != ticket.ReasonAlreadyUsed {
		t.Errorf("second scan: %+v", a)
	}
	if a := c.answer(`{"code":"garbled!!"}`); a.Reason != ticket.ReasonMalformed {
		t.Errorf("garbled: %+v", a)
	}
	time.Sleep(200 * time.Millisecond) // longer than a pulse: none may start
	if got := relay.Rises(); got != 1 {
		t.Errorf("relay pulsed %d times, want exactly 1", got)
	}
	if fb.Line(firmware.LampRed).Rises() == 0 || fb.Line(firmware.LampGreen).Rises() != 1 {
		t.Errorf("red lamp lit %d times, green %d: want the refusals red, one green", fb.Line(firmware.LampRed).Rises(), fb.Line(firmware.LampGreen).Rises())
	}
}

func TestCountOnPassage(t *testing.T) {
	v := ledgertest.NewVenue(t, 20)
	a, fb, ca := startGate(t, v, "gate-1", true)
	b, _, cb := startGate(t, v, "gate-2", true, a.MeshAddr())
	ledgertest.WaitFor(t, 10*time.Second, "the nodes see each other", func() bool { return len(a.Mesh().Peers()) == 1 && len(b.Mesh().Peers()) == 1 })

	// Nobody passes: the entry is annulled on both nodes, the ticket passes again.
	code := v.Code(ticket.Ticket{Serial: 2})
	if ans := ca.answer(`{"code":"` + code + `"}`); !ans.OK() {
		t.Fatalf("first scan: %+v", ans)
	}
	for _, n := range []*Node{a, b} {
		ledgertest.WaitFor(t, 5*time.Second, "the annul reaches "+n.Ledger().Identity().Cert.Device, func() bool {
			st, err := n.Ledger().Stats()
			return err == nil && st.Records == 2
		})
	}
	if ans := cb.answer(`{"code":"` + code + `","gate":"G2"}`); !ans.OK() {
		t.Errorf("after no passage, at gate-2: %+v, want ok", ans)
	}

	// Someone passes: the entry stays.
	code = v.Code(ticket.Ticket{Serial: 3})
	if ans := ca.answer(`{"code":"` + code + `"}`); !ans.OK() {
		t.Fatalf("scan: %+v", ans)
	}
	// The person walks through once the relay has opened: a passage before
	// the pulse belongs to no admission.
	relay := fb.Line(firmware.RelayIn)
	ledgertest.WaitFor(t, 3*time.Second, "the relay opens for the second admission", func() bool { return relay.Rises() == 2 })
	fb.Pulse(firmware.Passage, 20*time.Millisecond)
	ts := a.cfg.Turnstile.(*firmware.Turnstile)
	ledgertest.WaitFor(t, 3*time.Second, "the passage is counted", func() bool { return ts.Stats().Passages == 1 })
	if st := ts.Stats(); st.Passages != 1 || st.Missed != 1 {
		t.Errorf("turnstile stats %+v, want 1 passage and 1 missed window", st)
	}
	if ans := ca.answer(`{"code":"` + code + `"}`); ans.Reason != ticket.ReasonAlreadyUsed {
		t.Errorf("after a passage: %+v, want already_used", ans)
	}
}

func TestFireAlarmFreeEgress(t *testing.T) {
	v := ledgertest.NewVenue(t, 20)
	n, fb, c := startGate(t, v, "gate-1", true)
	ts := n.cfg.Turnstile
	fb.Line(firmware.FireAlarm).Drive(gpio.High) // the loop opens
	ledgertest.WaitFor(t, 3*time.Second, "free egress", ts.FreeEgress)
	if fb.Line(firmware.RelayIn).Level() != gpio.High {
		t.Error("fire alarm: entry relay not released")
	}
	if a := c.answer(`{"code":"nonsense"}`); !a.FreeEgress || a.OK() {
		t.Errorf("during the alarm: %+v, want a refusal that says free egress", a)
	}
	fb.Line(firmware.FireAlarm).Drive(gpio.Low)
	ledgertest.WaitFor(t, 3*time.Second, "back to normal", func() bool { return !ts.FreeEgress() })
	if a := c.answer(`{"code":"` + v.Code(ticket.Ticket{Serial: 1}) + `"}`); a.FreeEgress || !a.OK() {
		t.Errorf("after the alarm: %+v", a)
	}
	ledgertest.WaitFor(t, 3*time.Second, "relay off", func() bool { return fb.Line(firmware.RelayIn).Level() == gpio.Low })
}
