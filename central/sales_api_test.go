package central

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/devices"
	"github.com/tixgate/tixgate/central/quota"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/uplink"
)

func (f *fixture) post(path, token string, body any) (int, []byte) {
	f.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, f.http.URL+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	out.ReadFrom(resp.Body)
	return resp.StatusCode, out.Bytes()
}

// The sellers' endpoints: who may call them, and what they answer.
func TestSalesAPI(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	_, gate := f.enroll("gate-1", "G1")
	s, err := f.srv.Devices.Add(ctx, devices.Device{Name: "seller-1", Role: ticket.RoleSeller, Venue: "arena"})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ticket.GenerateKey(nil)
	seller, err := uplink.Enroll(ctx, nil, f.http.URL, uplink.EnrollRequest{Token: s.Token, Key: ticket.PublicOf(key), Version: "test", Hardware: "test"})
	if err != nil {
		t.Fatal(err)
	}
	read, err := AddAPIToken(ctx, f.db, f.clock, "ops", "read", []string{"read"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := AddAPIToken(ctx, f.db, f.clock, "ops", "other", []string{"box_office"})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/v1/sales/orders", "/api/v1/sales/shifts", "/api/v1/quotas"} {
		for _, c := range []struct {
			token string
			want  int
		}{{"", 401}, {"tgo_nonsense", 401}, {gate.Credential, 401}, {other, 403}, {read, 200}} {
			if got, body := f.get(path, c.token); got != c.want {
				t.Errorf("GET %s with %q: %d %s, want %d", path, c.token, got, body, c.want)
			}
		}
	}
	if got, body := f.get("/api/v1/sales/shifts?day=12.06.2026", read); got != 400 || !strings.Contains(string(body), "YYYY-MM-DD") {
		t.Errorf("a malformed day: %d %s", got, body)
	}

	ask := uplink.QuotaRequest{Event: 1042, Type: 1}
	if got, body := f.post(uplink.PathQuotaRequest, gate.Credential, ask); got != 403 || !strings.Contains(string(body), uplink.ErrCodeNotSeller) {
		t.Errorf("a gate asks for a quota: %d %s", got, body)
	}
	if got, body := f.post(uplink.PathQuotaRequest, seller.Credential, ask); got != 403 || !strings.Contains(string(body), uplink.ErrCodeQuotaLimit) {
		t.Errorf("a seller without a limit asks: %d %s", got, body)
	}
	if got, _ := f.post(uplink.PathQuotaRequest, read, ask); got != 401 {
		t.Errorf("an ops token asks for a quota: %d", got)
	}
	if _, err := f.srv.Quotas.Allocate(ctx, quota.Allocation{Device: "seller-1", Event: 1042, Type: 1, Count: 5, Price: 9900, Currency: "EUR",
		Until: now0.Add(24 * time.Hour), RequestBlock: 5, RequestMax: 10}); err != nil {
		t.Fatal(err)
	}
	got, body := f.post(uplink.PathQuotaRequest, seller.Credential, ask)
	var g uplink.QuotaGrant
	json.Unmarshal(body, &g)
	if got != 200 || g.Cert.SerialMax-g.Cert.SerialMin != 4 || g.Price != 9900 || g.Currency != "EUR" || g.Cert.Verify(f.keys.RootPublic()) != nil ||
		!g.Cert.Key.Equal(ticket.PublicOf(key)) {
		t.Fatalf("a grant: %d %s", got, body)
	}
	head, _ := f.db.ManifestHead(ctx, "arena")
	if g.ManifestHead != head {
		t.Errorf("grant's manifest head %d, central's %d", g.ManifestHead, head)
	}
	if got, body := f.post(uplink.PathQuotaRequest, seller.Credential, ask); got != 403 || !strings.Contains(string(body), "would pass its 10") {
		t.Errorf("beyond the limit: %d %s", got, body)
	}
	_, body = f.get("/api/v1/quotas?device=seller-1", read)
	var list struct{ Quotas []Quota }
	json.Unmarshal(body, &list)
	if len(list.Quotas) != 2 || list.Quotas[0].Asked || !list.Quotas[1].Asked || list.Quotas[1].Issuer != ticket.KeyIDOf(ticket.PublicOf(key)).String() {
		t.Errorf("quotas: %s", body)
	}
}
