package central

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/uplink"
)

// call sends a device's request and returns the status, the error code
// of a failure and the answer's headers.
func (f *fixture) call(method, path, cred string, out any) (int, string, http.Header) {
	f.t.Helper()
	var body *strings.Reader
	if method == http.MethodPost {
		body = strings.NewReader("{}")
		if path == uplink.PathRecords {
			body = strings.NewReader(`{"status":{"time":"2026-06-12T17:00:00Z","manifest_seq":0,"backlog":0,"state":"ok"},"records":[]}`)
		}
	}
	var req *http.Request
	if body != nil {
		req, _ = http.NewRequest(method, f.http.URL+path, body)
	} else {
		req, _ = http.NewRequest(method, f.http.URL+path, nil)
	}
	req.Header.Set("Authorization", "Bearer "+cred)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var e uplink.Error
		json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, e.Code, resp.Header
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			f.t.Fatal(err)
		}
	}
	return resp.StatusCode, "", resp.Header
}

func (f *fixture) audited(action, target string) int {
	f.t.Helper()
	log, err := f.db.AuditLog(context.Background(), 0)
	if err != nil {
		f.t.Fatal(err)
	}
	n := 0
	for _, e := range log {
		if e.Action == action && e.Target == target {
			n++
		}
	}
	return n
}

// A suspended device's uploads and pulls are refused with device_suspended,
// and nothing is signed: the manifest does not change, and its records
// uploaded by a peer are stored. Resume makes it normal again.
func TestSuspendedDevice(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		ctx := context.Background()
		_, dev1 := f.enroll("gate-1", "G1")
		key2, dev2 := f.enroll("gate-2", "G2")
		head, _ := f.db.ManifestHead(ctx, "arena")
		if _, err := f.srv.Devices.Suspend(ctx, "mei", "gate-2", "under investigation"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.srv.Devices.Suspend(ctx, "mei", "gate-2", "again"); !errors.Is(err, store.ErrSuspended) {
			t.Errorf("suspended twice: %v", err)
		}
		for _, c := range []struct{ method, path string }{
			{http.MethodGet, uplink.PathAcks}, {http.MethodPost, uplink.PathRecords}, {http.MethodGet, uplink.PathManifest},
			{http.MethodPost, uplink.PathCredential}, {http.MethodPost, uplink.PathQuotaRequest},
		} {
			if code, ecode, _ := f.call(c.method, c.path, dev2.Credential, nil); code != http.StatusForbidden || ecode != uplink.ErrCodeDeviceSuspended {
				t.Errorf("suspended device's %s %s: %d %q, want 403 %s", c.method, c.path, code, ecode, uplink.ErrCodeDeviceSuspended)
			}
		}
		// The client names it.
		c, err := uplink.New(uplink.Config{URL: f.http.URL, Credential: dev2.Credential})
		if err != nil {
			t.Fatal(err)
		}
		err = c.Sync(ctx, &memDevice{})
		if st := c.State(); !uplink.Suspended(err) || st.State != uplink.StateSuspended || !strings.Contains(st.LastError, "suspended by central") ||
			!strings.Contains(st.LastError, "under investigation") || st.Failures != 1 {
			t.Errorf("client: %v, %+v", err, st)
		}
		if h, _ := f.db.ManifestHead(ctx, "arena"); h != head {
			t.Errorf("suspension changed the manifest: head %d, was %d", h, head)
		}
		// Its peer uploads its records: they are stored.
		recs := chain(t, key2, 2, now0.Add(-time.Minute))
		peer, _ := uplink.New(uplink.Config{URL: f.http.URL, Credential: dev1.Credential})
		refused, err := peer.Push(ctx, &memDevice{recs: map[ticket.KeyID][][]byte{ticket.KeyIDOf(ticket.PublicOf(key2)): recs}})
		if err != nil || refused != nil {
			t.Fatalf("peer's upload of the suspended device's records: %v, %v", refused, err)
		}
		var n int
		f.db.SQL().QueryRow("SELECT COUNT(*) FROM records").Scan(&n)
		if n != 2 {
			t.Errorf("%d records stored, want the suspended device's 2", n)
		}

		if _, err := f.srv.Devices.Resume(ctx, "mei", "gate-2", "cleared"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.srv.Devices.Resume(ctx, "mei", "gate-2", "cleared"); !errors.Is(err, store.ErrNotSuspended) {
			t.Errorf("resumed twice: %v", err)
		}
		if err := c.Sync(ctx, &memDevice{}); err != nil || c.State().State != uplink.StateOK {
			t.Errorf("after resume: %v, %+v", err, c.State())
		}
		if f.audited("device.suspend", "gate-2") != 1 || f.audited("device.resume", "gate-2") != 1 {
			t.Error("suspend and resume are not in the audit log once each")
		}
		if _, err := f.srv.Devices.Suspend(ctx, "mei", "nobody", ""); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("suspend of an unknown device: %v", err)
		}
	})
}

// Rolling a credential with the answer lost: the old credential keeps
// working, the credential in the lost answer is replaced by the next roll,
// and once the new one is used the old one is refused.
func TestRollCredentialAnswerLost(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		_, dev := f.enroll("gate-1", "G1")
		old := dev.Credential
		var lost, got uplink.CredentialResponse
		if code, _, _ := f.call(http.MethodPost, uplink.PathCredential, old, &lost); code != http.StatusOK || !strings.HasPrefix(lost.Credential, "tgd_") {
			t.Fatalf("roll: %d %+v", code, lost)
		}
		// The answer never reached the device: it still uses the old one,
		// and asks again.
		if code, _, _ := f.call(http.MethodGet, uplink.PathAcks, old, nil); code != http.StatusOK {
			t.Fatalf("old credential after a roll: %d", code)
		}
		if code, _, _ := f.call(http.MethodPost, uplink.PathCredential, old, &got); code != http.StatusOK || got.Credential == lost.Credential {
			t.Fatalf("second roll: %d", code)
		}
		if code, _, _ := f.call(http.MethodGet, uplink.PathAcks, lost.Credential, nil); code != http.StatusUnauthorized {
			t.Errorf("the lost answer's credential, replaced by a newer roll: %d, want 401", code)
		}
		if code, _, _ := f.call(http.MethodGet, uplink.PathAcks, old, nil); code != http.StatusOK {
			t.Errorf("old credential before the new one is used: %d", code)
		}
		if code, _, _ := f.call(http.MethodGet, uplink.PathAcks, got.Credential, nil); code != http.StatusOK {
			t.Fatalf("new credential: %d", code)
		}
		if code, _, _ := f.call(http.MethodGet, uplink.PathAcks, old, nil); code != http.StatusUnauthorized {
			t.Errorf("old credential after the new one was used: %d, want 401", code)
		}
		if code, _, _ := f.call(http.MethodGet, uplink.PathManifest, got.Credential, nil); code != http.StatusOK {
			t.Errorf("new credential, used again: %d", code)
		}
		if f.audited("device.credential_issued", "gate-1") != 2 || f.audited("device.credential_rolled", "gate-1") != 1 {
			t.Error("the rolls are not in the audit log")
		}
	})
}

// Ops asks for a roll: central says so on the device's next answer, the
// client rolls, keeps the new credential before it uses it, and from then
// on the old (leaked) one is refused.
func TestOpsRollsDeviceCredential(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		ctx := context.Background()
		_, dev := f.enroll("gate-1", "G1")
		old := dev.Credential
		var saved []string
		c, err := uplink.New(uplink.Config{URL: f.http.URL, Credential: old, SaveCredential: func(cred string) error {
			// The credential is not used before it is kept.
			if code, _, _ := f.call(http.MethodGet, uplink.PathAcks, old, nil); code != http.StatusOK {
				t.Errorf("old credential refused before the new one was kept: %d", code)
			}
			saved = append(saved, cred)
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Sync(ctx, &memDevice{}); err != nil || len(saved) != 0 {
			t.Fatalf("sync without a roll asked: %v, saved %d", err, len(saved))
		}
		if _, err := f.srv.Devices.RequestRoll(ctx, "mei", "gate-1", "leaked"); err != nil {
			t.Fatal(err)
		}
		if _, _, h := f.call(http.MethodGet, uplink.PathAcks, old, nil); h.Get(uplink.HeaderRollCredential) != "1" {
			t.Error("central does not tell the device to roll")
		}
		if err := c.Sync(ctx, &memDevice{}); err != nil {
			t.Fatal(err)
		}
		if len(saved) != 1 || c.State().CredentialRolled.IsZero() {
			t.Fatalf("after the sync: saved %d credentials, state %+v", len(saved), c.State())
		}
		if code, _, _ := f.call(http.MethodGet, uplink.PathAcks, old, nil); code != http.StatusUnauthorized {
			t.Errorf("the old credential after the roll: %d, want 401", code)
		}
		code, _, h := f.call(http.MethodGet, uplink.PathAcks, saved[0], nil)
		if code != http.StatusOK || h.Get(uplink.HeaderRollCredential) != "" {
			t.Errorf("the new credential: %d, roll header %q", code, h.Get(uplink.HeaderRollCredential))
		}
		if err := c.Sync(ctx, &memDevice{}); err != nil || len(saved) != 1 {
			t.Errorf("a sync after the roll: %v, saved %d", err, len(saved))
		}
		d, _ := f.db.DeviceByName(ctx, "gate-1")
		if !d.RollRequested.IsZero() || d.RollPending || d.CredentialRolled.IsZero() {
			t.Errorf("device at central: %+v", d)
		}
		if f.audited("device.roll_requested", "gate-1") != 1 || f.audited("device.credential_rolled", "gate-1") != 1 {
			t.Error("the roll is not in the audit log")
		}

		// The answer to the client's roll is lost on the way: the client
		// keeps its credential, which still works, and rolls again at the
		// next sync.
		_, dev3 := f.enroll("gate-3", "G3")
		var kept []string
		lose := &losingTransport{path: uplink.PathCredential}
		c4, _ := uplink.New(uplink.Config{URL: f.http.URL, Credential: dev3.Credential, HTTP: &http.Client{Transport: lose},
			SaveCredential: func(cred string) error { kept = append(kept, cred); return nil }})
		f.srv.Devices.RequestRoll(ctx, "mei", "gate-3", "")
		if err := c4.Sync(ctx, &memDevice{}); err == nil || len(kept) != 0 || lose.lost != 1 {
			t.Fatalf("sync with the roll's answer lost: %v, kept %d, lost %d", err, len(kept), lose.lost)
		}
		if code, _, _ := f.call(http.MethodGet, uplink.PathAcks, dev3.Credential, nil); code != http.StatusOK {
			t.Errorf("the credential after a lost answer: %d", code)
		}
		if err := c4.Sync(ctx, &memDevice{}); err != nil || len(kept) != 1 {
			t.Fatalf("the next sync: %v, kept %d", err, len(kept))
		}
		if code, _, _ := f.call(http.MethodGet, uplink.PathAcks, dev3.Credential, nil); code != http.StatusUnauthorized {
			t.Errorf("the old credential after the roll: %d", code)
		}
		if code, _, _ := f.call(http.MethodGet, uplink.PathAcks, kept[0], nil); code != http.StatusOK {
			t.Errorf("the rolled credential: %d", code)
		}

		// A device that cannot keep a credential does not roll, and says so.
		_, dev2 := f.enroll("gate-2", "G2")
		c2, _ := uplink.New(uplink.Config{URL: f.http.URL, Credential: dev2.Credential})
		f.srv.Devices.RequestRoll(ctx, "mei", "gate-2", "")
		if err := c2.Sync(ctx, &memDevice{}); err == nil || !strings.Contains(err.Error(), "nowhere to keep") {
			t.Errorf("roll without SaveCredential: %v", err)
		}
		if code, _, _ := f.call(http.MethodGet, uplink.PathAcks, dev2.Credential, nil); code != http.StatusOK {
			t.Errorf("its credential after the failed roll: %d", code)
		}
		// A failed save keeps the old credential in use.
		c3, _ := uplink.New(uplink.Config{URL: f.http.URL, Credential: dev2.Credential, SaveCredential: func(string) error { return errors.New("disk full") }})
		if err := c3.Sync(ctx, &memDevice{}); err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("roll with a failing save: %v", err)
		}
		if code, _, _ := f.call(http.MethodGet, uplink.PathAcks, dev2.Credential, nil); code != http.StatusOK {
			t.Errorf("its credential after the failed save: %d", code)
		}
	})
}

// losingTransport sends every request, and loses the answer to the first
// one to path: central did the work, the device never hears of it.
type losingTransport struct {
	path string
	lost int
}

func (l *losingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && r.URL.Path == l.path && l.lost == 0 {
		l.lost++
		resp.Body.Close()
		return nil, errors.New("connection reset by peer")
	}
	return resp, err
}
