package manifest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tixgate/tixgate/ticket/keyfile"
)

// A type with share 0 gets no generated tickets; an absent share counts 1.
func TestShareZero(t *testing.T) {
	keys, err := keyfile.Init(t.TempDir(), keyfile.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	venue := strings.Replace(ExampleVenue, "zones: [0], rule: {reentry: true}}", "zones: [0], rule: {reentry: true}, share: 0}", 1)
	if venue == ExampleVenue {
		t.Fatal("example venue changed: cannot set share 0")
	}
	spec, err := ParseSpec([]byte(venue), "yaml")
	if err != nil {
		t.Fatal(err)
	}
	count := map[uint64]int{}
	err = spec.Build(BuildOptions{Signer: Signer{Key: keys.Central, Cert: &keys.CentralCert, GateKey: keys.GateKey}, RotationMaster: keys.RotationMaster,
		Tickets: 1000, BatchSize: 500}, func(c Change) error {
		if c.Kind == KindTickets {
			var b Tickets
			if err := json.Unmarshal(c.Body, &b); err != nil {
				return err
			}
			for _, tk := range b.Tickets {
				count[tk.Type]++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if count[3] != 0 || count[1] != 750 || count[2] != 250 {
		t.Errorf("tickets per type %v, want 750 of type 1, 250 of type 2, none of type 3", count)
	}
	for serial := uint64(1); serial <= 10; serial++ {
		if _, typ, ok := spec.TypeOf(serial); !ok || typ == 3 {
			t.Errorf("TypeOf(%d) = %d, %v", serial, typ, ok)
		}
	}
}
