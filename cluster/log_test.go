package cluster

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// memberlist's lines come out at their level, but what the mesh says once
// itself (a node refused) or what a partition makes every few seconds (a
// peer out of reach) is quieter.
func TestMemberlistLogLevels(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"[ERR] memberlist: something broke", "level=ERROR"},
		{"[WARN] memberlist: Was able to connect to gate-2 over TCP but UDP probes failed", "level=WARN"},
		{"[WARN] memberlist: ignoring alive message for 'gate-2': untrusted node \"gate-2\": its device key 862e3d5e is revoked", ""},
		{"[ERR] memberlist: Failed push/pull merge: untrusted node \"gate-2\": its device key 862e3d5e is revoked", ""},
		{"[ERR] memberlist: Push/Pull with gate-3 failed: dial tcp: connection refused", "level=WARN"},
		{"[ERR] memberlist: Failed fallback TCP ping: timeout 1s: read tcp 127.0.0.1:46562->127.0.0.1:34399: i/o timeout", "level=WARN"},
		{"[ERR] memberlist: Failed to send ack: write tcp 127.0.0.1:40297->127.0.0.1:37486: write: broken pipe from=127.0.0.1:37486", "level=WARN"},
		{"[ERR] memberlist: failed to receive and remove the stream label header: read tcp 127.0.0.1:45501->127.0.0.1:40992: i/o timeout", "level=WARN"},
		{"[DEBUG] memberlist: Stream connection from=127.0.0.1:5000", ""},
	} {
		var out bytes.Buffer
		l := memberlistLogger(slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo})), "gate-1")
		l.Print(tc.line)
		got := out.String()
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%q logged as %q, want %q", tc.line, got, tc.want)
		}
	}
}
