package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

func TestParseSpecFiles(t *testing.T) {
	for _, tt := range []struct {
		file, format     string
		venue            string
		gates, types     int
		firstRuleWeekday bool
	}{
		{"venue.yaml", "yaml", "arena", 5, 4, false},
		{"venue.toml", "toml", "museum", 1, 1, true},
		{"venue.toml", "", "museum", 1, 1, true},
	} {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", tt.file))
		if err != nil {
			t.Fatal(err)
		}
		s, err := ParseSpec(data, tt.format)
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if s.Venue != tt.venue || len(s.Gates) != tt.gates || len(s.TicketTypes) != tt.types {
			t.Errorf("%s: %s, %d gates, %d types", tt.file, s.Venue, len(s.Gates), len(s.TicketTypes))
		}
		if got := len(s.TicketTypes[0].Rule.Weekdays) > 0; got != tt.firstRuleWeekday {
			t.Errorf("%s: first rule weekdays %v", tt.file, s.TicketTypes[0].Rule.Weekdays)
		}
	}
}

func TestParseSpecRefuses(t *testing.T) {
	good := ExampleVenue
	for name, text := range map[string]string{
		"typo in a rule":      strings.Replace(good, "reentry: true", "rentry: true", 1),
		"unknown key":         good + "\ncolour: red\n",
		"gate of no zone":     strings.Replace(good, "{name: B1, zone: 1}", "{name: B1, zone: 7}", 1),
		"bad time zone":       strings.Replace(good, "Europe/Berlin", "Mars/Olympus", 1),
		"type of no event":    strings.Replace(good, "{event: 1042, id: 2,", "{event: 9, id: 2,", 1),
		"event ends first":    strings.Replace(good, "ends: 2026-06-12T23:30:00Z", "ends: 2026-06-11T23:30:00Z", 1),
		"not YAML nor TOML":   "{{{",
		"empty":               "",
		"repeated gate names": strings.Replace(good, "{name: G3, zone: 0}", "{name: G1, zone: 0}", 1),
	} {
		if _, err := ParseSpec([]byte(text), ""); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestBuildSignVerify(t *testing.T) {
	keys, err := keyfile.Init(t.TempDir(), keyfile.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ParseSpec([]byte(ExampleVenue), "yaml")
	if err != nil {
		t.Fatal(err)
	}
	var changes []Change
	err = spec.Build(BuildOptions{Signer: Signer{Key: keys.Central, Cert: &keys.CentralCert, GateKey: keys.GateKey}, Issuers: []ticket.IssuerCert{keys.IssuerCert},
		RotationMaster: keys.RotationMaster, Tickets: 2500, BatchSize: 1000, FirstSeq: 5}, func(c Change) error {
		changes = append(changes, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// venue, issuer, event, 3 types, 3 batches of tickets
	if len(changes) != 9 || changes[0].Seq != 5 || changes[8].Seq != 13 {
		t.Fatalf("%d changes, numbered %d-%d", len(changes), changes[0].Seq, changes[len(changes)-1].Seq)
	}
	trust, err := keys.TrustStore()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, c := range changes {
		back, err := Parse(c.Marshal())
		if err != nil {
			t.Fatal(err)
		}
		if err := back.Verify(trust, now); err != nil {
			t.Errorf("change %d: %v", c.Seq, err)
		}
	}
	// Altered in transit: the body, the number, the kind.
	for name, alter := range map[string]func(*Change){
		"body": func(c *Change) { c.Body = []byte(strings.Replace(string(c.Body), "arena", "arenb", 1)) },
		"seq":  func(c *Change) { c.Seq++ },
		"kind": func(c *Change) { c.Kind = KindEvent },
		"cert": func(c *Change) { cc := *c.Cert; cc.Venue = "elsewhere"; c.Cert = &cc },
	} {
		c := changes[0]
		alter(&c)
		if err := c.Verify(trust, now); err == nil {
			t.Errorf("altered %s: verified", name)
		}
	}
	// A stranger's signature, even with central's certificate attached.
	stranger, _ := ticket.GenerateKey(nil)
	c, err := Signer{Key: stranger, Cert: &keys.CentralCert}.Sign(1, KindVenue, &Venue{Name: "x", TimeZone: "UTC"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Verify(trust, now); err == nil {
		t.Error("a stranger's change verified")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"seq":1,"kind":"venue","body":{"name":"a","time_zone":"UTC","zones":[],"gates":[]},"signer":"00000000","sig":"AAAA"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		c, err := Parse(line)
		if err != nil {
			return
		}
		c.Decode() // must not panic
	})
}

// TestRevokeAt: a revocation without a time encodes as it did before the
// field existed, one with a time keeps it, and both decode.
func TestRevokeAt(t *testing.T) {
	root, err := ticket.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := Signer{Key: root}
	old, err := s.Sign(1, KindRevoke, Revoke{Devices: []ticket.KeyID{{1, 2, 3, 4}}, Reason: "lost"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"devices":["01020304"],"reason":"lost"}`; string(old.Body) != want {
		t.Errorf("body without a time = %s, want %s", old.Body, want)
	}
	lost := time.Date(2026, 6, 12, 18, 0, 0, 0, time.UTC)
	timed, err := s.Sign(2, KindRevoke, Revoke{Devices: []ticket.KeyID{{1, 2, 3, 4}}, At: lost})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []Change{old, timed} {
		body, err := c.Decode()
		if err != nil {
			t.Fatalf("change %d: %v", c.Seq, err)
		}
		want := time.Time{}
		if c.Seq == 2 {
			want = lost
		}
		if got := body.(*Revoke).At; !got.Equal(want) {
			t.Errorf("change %d: at %v, want %v", c.Seq, got, want)
		}
	}
}
