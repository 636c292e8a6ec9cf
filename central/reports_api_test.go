package central

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/store"
)

// A fixture of known sales: the report's sums by type, channel and hour,
// its refunds and no-shows (from the gates' entries) and its funnel are the
// figures worked out by hand below, on both databases.
func TestSalesReport(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		ctx := context.Background()
		tok, _ := AddAPIToken(ctx, f.db, f.clock, "audit-bot", "read", []string{"read"})
		sold := now0.Add(-2 * time.Hour)
		facts := []store.SaleFact{
			{Serial: 1, Type: 1, Channel: store.ChannelOnline, Method: "alipay", Currency: "CNY", Amount: 1000, Hour: 15},
			{Serial: 2, Type: 1, Channel: store.ChannelOnline, Method: "wechat", Currency: "CNY", Amount: 1000, Hour: 15},
			{Serial: 3, Type: 2, Channel: store.ChannelBoxOffice, Method: "cash", Currency: "CNY", Amount: 5000, Hour: 16},
			{Serial: 4, Type: 1, Channel: store.ChannelSeller, Method: "card", Currency: "CNY", Amount: 800, Hour: 16},
			{Serial: 5, Type: 1, Channel: store.ChannelSeller, Method: "cash", Currency: "CNY", Amount: 800, Hour: 16},
			{Serial: 6, Type: 1, Channel: store.ChannelOnline, Method: "card", Currency: "USD", Amount: 1500, Hour: 16},
			// 40 days ago: outside the default 30 days.
			{Serial: 7, Type: 1, Channel: store.ChannelOnline, Method: "card", Currency: "CNY", Amount: 9999, Hour: 9, SoldAt: now0.AddDate(0, 0, -40)},
		}
		err := f.db.Update(ctx, func(tx *store.Tx) error {
			for _, fc := range facts {
				fc.Event = 1042
				if fc.SoldAt.IsZero() {
					fc.SoldAt = sold
				}
				fc.Day = fc.SoldAt.Format(time.DateOnly)
				if err := tx.AddSaleFact(fc); err != nil {
					return err
				}
				if err := tx.AddSaleFact(fc); err != nil { // twice: counted once
					return err
				}
			}
			return tx.RefundFact(1042, 5, 800, now0.Add(-time.Hour))
		})
		if err != nil {
			t.Fatal(err)
		}
		// Tickets 1-3 come in at the gates: 4 and 6 are no-shows, 5 refunded.
		key, dev := f.enroll("gate-1", "G1")
		pushTo(t, f.http.URL, dev.Credential, chain(t, key, 3, now0.Add(-30*time.Minute)))

		type row struct {
			Key, Name, Currency       string
			Tickets, Revenue, Refunds int64
			RefundAmount              int64   `json:"refund_amount"`
			Entered                   *int64  `json:"entered"`
			NoShows                   *int64  `json:"no_shows"`
			RefundRate                float64 `json:"refund_rate"`
		}
		report := func(query string) []row {
			t.Helper()
			code, b := f.get("/api/v1/reports/sales"+query, tok)
			var rep struct{ Rows []row }
			if code != http.StatusOK || json.Unmarshal(b, &rep) != nil {
				t.Fatalf("%s: %d %s", query, code, b)
			}
			return rep.Rows
		}
		n := func(p *int64) string {
			if p == nil {
				return "-"
			}
			return fmt.Sprint(*p)
		}
		var got []string
		for _, r := range report("?by=type") {
			got = append(got, fmt.Sprintf("%s %s %s: %d tickets, %d, %d refunded (%d), entered %s, no-shows %s", r.Key, r.Name, r.Currency,
				r.Tickets, r.Revenue, r.Refunds, r.RefundAmount, n(r.Entered), n(r.NoShows)))
		}
		want := []string{
			"1042/1 Standing CNY: 4 tickets, 3600, 1 refunded (800), entered 2, no-shows 1",
			"1042/1 Standing USD: 1 tickets, 1500, 0 refunded (0), entered 0, no-shows 1",
			"1042/2 Balcony CNY: 1 tickets, 5000, 0 refunded (0), entered 1, no-shows 0",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("by type:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		got = nil
		for _, r := range report("?by=channel") {
			got = append(got, fmt.Sprintf("%s %s %d %d %d %.2f", r.Key, r.Currency, r.Tickets, r.Revenue, r.Refunds, r.RefundRate))
		}
		want = []string{"box_office CNY 1 5000 0 0.00", "online CNY 2 2000 0 0.00", "online USD 1 1500 0 0.00", "seller CNY 2 1600 1 0.50"}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("by channel:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		got = nil
		for _, r := range report("?by=hour&from=2026-01-01") { // the whole year: ticket 7 too
			got = append(got, fmt.Sprintf("%s %s %d %d", r.Key, r.Currency, r.Tickets, r.Revenue))
		}
		want = []string{"9 CNY 1 9999", "15 CNY 2 2000", "16 CNY 3 6600", "16 USD 1 1500"}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("by hour:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if rows := report("?by=event&event=1042&from=2026-06-12T16:00:00%2B02:00&until=2026-06-12T15:00:01Z"); len(rows) != 2 || rows[0].Tickets != 5 || rows[0].Name != "Summer Concert" {
			t.Errorf("event 1042 sold from 14:00 to 15:00:01 UTC: %+v, want the 5 CNY and 1 USD tickets", rows)
		}
		if rows := report("?by=event&from=2026-06-12T15:00:01Z"); len(rows) != 0 {
			t.Errorf("sold after 15:00:01: %+v, want none", rows)
		}

		// CSV, for a spreadsheet.
		req, _ := http.NewRequest(http.MethodGet, f.http.URL+"/api/v1/reports/sales?by=channel&format=csv", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(resp.Body).ReadAll()
		resp.Body.Close()
		if err != nil || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" || len(recs) != 5 || recs[0][0] != "channel" || recs[4][0] != "seller" || recs[4][4] != "1600" {
			t.Errorf("csv: %v %q %v", err, resp.Header.Get("Content-Type"), recs)
		}

		for _, tc := range []struct{ query, want string }{
			{"?by=colour", `by \"colour\": one of age, channel, day, event, hour, method, region, type`},
			{"?from=yesterday", "from \\\"yesterday\\\": give a date"},
			{"?from=2026-06-12&until=2026-06-01", "is not before until"},
			{"?tz=Mars/Olympus", "not an IANA time zone"},
			{"?format=xls", "json, csv, xlsx or pdf"},
			{"?event=x", "an event id"},
		} {
			if code, b := f.get("/api/v1/reports/sales"+tc.query, tok); code != http.StatusBadRequest || !strings.Contains(string(b), tc.want) {
				t.Errorf("%s: %d %s, want 400 saying %q", tc.query, code, b, tc.want)
			}
		}
		if code, _ := f.get("/api/v1/reports/sales", ""); code != http.StatusUnauthorized {
			t.Errorf("no token: %d, want 401", code)
		}

		// The funnel: four visitors saw the event page, three put tickets
		// in a cart, two checked out, one paid.
		for i, steps := range [][]string{{"view", "cart", "checkout", "payment"}, {"view", "cart", "checkout"}, {"view", "cart"}, {"view", "view"}} {
			for _, s := range steps {
				if err := f.db.AddFunnelStep(ctx, 1042, s, fmt.Sprintf("visitor-%d", i), now0.Add(-time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
		}
		code, b := f.get("/api/v1/reports/funnel?event=1042", tok)
		var fun struct {
			Steps []struct {
				Step     string
				Visitors int64
				FromPrev float64 `json:"from_previous"`
			}
		}
		if code != http.StatusOK || json.Unmarshal(b, &fun) != nil || len(fun.Steps) != 4 {
			t.Fatalf("funnel: %d %s", code, b)
		}
		for i, w := range []struct {
			n    int64
			rate float64
		}{{4, 1}, {3, 0.75}, {2, 2.0 / 3}, {1, 0.5}} {
			if s := fun.Steps[i]; s.Visitors != w.n || math.Abs(s.FromPrev-w.rate) > 1e-9 {
				t.Errorf("funnel step %s: %d visitors, %.3f from the step before; want %d, %.3f", s.Step, s.Visitors, s.FromPrev, w.n, w.rate)
			}
		}
	})
}
