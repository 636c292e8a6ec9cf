package central

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/pricing"
)

// GET /api/v1/orders/{id}/invoices lists a paid order's invoice and,
// once it is cancelled, its credit note, to box office and read tokens;
// each document's PDF is at the path it names; other tokens and nobody
// are refused.
func TestOrderInvoicesAPI(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		ctx := context.Background()
		if err := f.srv.Shop.PutOffer(ctx, shop.Offer{Event: 1042, Type: 1, Price: pricing.New(12800, pricing.CNY), Quota: 10}); err != nil {
			t.Fatal(err)
		}
		a, err := f.srv.Shop.AddVerifiedBuyer(ctx, shop.Registration{Email: "buyer@example.org", Password: "a long password", Name: "Chen Jie"})
		if err != nil {
			t.Fatal(err)
		}
		o, err := f.srv.Shop.Place(ctx, a, shop.OrderRequest{Event: 1042, Items: []pricing.Item{{Type: 1, Quantity: 2}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.srv.Shop.Pay(ctx, o.ID, shop.MethodBoxOffice); err != nil {
			t.Fatal(err)
		}
		desk, _ := AddAPIToken(ctx, f.db, f.clock, "mei", "desk", []string{"box_office"})
		audit, _ := AddAPIToken(ctx, f.db, f.clock, "audit-bot", "audit", []string{"read"})
		opsTok, _ := AddAPIToken(ctx, f.db, f.clock, "ops", "ops", []string{"ops"})
		path := fmt.Sprintf("/api/v1/orders/%d/invoices", o.ID)
		type doc struct {
			Kind, Number, Credits, Currency string
			Total                           int64
			BuyerTitle                      string `json:"buyer_title"`
			Seller                          struct{ Name string }
			Lines                           []struct {
				Name     string
				Quantity int
				Unit     int64
				Total    int64
			}
			PDF string
		}
		list := func(tok string) []doc {
			t.Helper()
			st, body := f.get(path, tok)
			var out struct {
				Order     int64
				Documents []doc
			}
			if st != http.StatusOK || json.Unmarshal(body, &out) != nil || out.Order != o.ID {
				t.Fatalf("GET %s: %d %s", path, st, body)
			}
			return out.Documents
		}
		docs := list(desk)
		if len(docs) != 1 || docs[0].Kind != "invoice" || docs[0].Number != "INV-2026-000001" || docs[0].Total != 25600 || docs[0].Currency != "CNY" ||
			docs[0].BuyerTitle != "Chen Jie" || docs[0].Seller.Name != "acme" || len(docs[0].Lines) != 1 || docs[0].Lines[0].Quantity != 2 || docs[0].Lines[0].Unit != 12800 {
			t.Fatalf("documents %+v", docs)
		}
		if _, err := f.srv.Shop.Cancel(ctx, o.ID, "refunded at the desk"); err != nil {
			t.Fatal(err)
		}
		docs = list(audit)
		if len(docs) != 2 || docs[1].Kind != "credit_note" || docs[1].Number != "CN-2026-000001" || docs[1].Credits != "INV-2026-000001" || docs[1].Total != -25600 {
			t.Fatalf("documents after the cancel %+v", docs)
		}
		req, _ := http.NewRequest(http.MethodGet, f.http.URL+docs[1].PDF, nil)
		req.Header.Set("Authorization", "Bearer "+desk)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pdf" || !strings.HasSuffix(docs[1].PDF, "/CN-2026-000001.pdf") {
			t.Errorf("GET %s: %d %s", docs[1].PDF, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		for _, tc := range []struct {
			path, tok string
			want      int
		}{
			{path, opsTok, http.StatusForbidden},
			{path, "", http.StatusUnauthorized},
			{"/api/v1/orders/999/invoices", desk, http.StatusNotFound},
			{"/api/v1/orders/x/invoices", desk, http.StatusBadRequest},
			{path + "/INV-2026-000009.pdf", desk, http.StatusNotFound},
		} {
			if st, body := f.get(tc.path, tc.tok); st != tc.want {
				t.Errorf("GET %s: %d %s, want %d", tc.path, st, body, tc.want)
			}
		}
	})
}
