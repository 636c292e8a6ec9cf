package sim

import (
	"strings"
	"testing"

	"github.com/tixgate/tixgate/edge"
	"github.com/tixgate/tixgate/ticket"
)

// The printed table names each login with its PIN, on the devices it
// works on: "gate PIN 1234" read as a label, not as the user "gate".
func TestDemoTableNamesLogins(t *testing.T) {
	info := DemoInfo{
		Devices: []DemoDevice{{Name: "G1", Role: string(ticket.RoleGate), Gate: "G1", URL: "http://127.0.0.1:8081/"},
			{Name: "S1", Role: string(ticket.RoleSeller), URL: "http://127.0.0.1:8085/"}},
		Logins: []DemoLogin{{Name: "gate", Role: edge.RoleGate, PIN: "111111", Devices: []string{"G1"}},
			{Name: "supervisor", Role: edge.RoleSupervisor, PIN: "222222", Devices: []string{"G1", "S1"}},
			{Name: "seller", Role: edge.RoleSeller, PIN: "333333", Devices: []string{"S1"}}},
	}
	info.Central.User, info.Central.Password = "ops", "secret"
	var b strings.Builder
	if err := info.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
	lines := map[string]string{}
	for _, l := range strings.Split(b.String(), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			lines[f[0]] = l
		}
	}
	for dev, want := range map[string]string{
		"G1": "user gate, PIN 111111; user supervisor, PIN 222222",
		"S1": "user supervisor, PIN 222222; user seller, PIN 333333",
	} {
		if got := lines[dev]; !strings.HasSuffix(got, want) {
			t.Errorf("%s's line %q: want it to end in %q", dev, got, want)
		}
	}
}
