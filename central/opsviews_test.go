package central

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/catalog"
	"github.com/tixgate/tixgate/central/ops"
	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/uplink"
)

// TestOpsViews runs the queries behind the ops screens on both databases:
// the ticket search (by serial, by a part of the holder's name in any
// case, a % taken literally), and the live dashboard's figures as
// /ops/live.json gives them after a gate's upload: admissions per minute,
// occupancy by zone, refusals by reason.
func TestOpsViews(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		f := newFixture(t, dsn)
		f.clock.Set(time.Now().UTC().Truncate(time.Minute).Add(30 * time.Second))
		for _, holder := range []string{"Li Wei", "li weiming", "100% Fan", "Zhang San"} {
			if _, err := f.srv.Catalog.IssueTickets(ctx, catalog.Issue{Event: 1042, Type: 1, Count: 1, Holder: holder, By: "test"}); err != nil {
				t.Fatal(err)
			}
		}
		search := func(s store.TicketSearch) []string {
			t.Helper()
			ts, err := f.db.SearchTickets(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, tk := range ts {
				out = append(out, tk.Holder)
			}
			return out
		}
		for _, c := range []struct {
			name string
			s    store.TicketSearch
			want string
		}{
			{"holder any case", store.TicketSearch{Holder: "LI WEI"}, "Li Wei,li weiming"},
			{"percent literal", store.TicketSearch{Holder: "0%"}, "100% Fan"},
			{"underscore literal", store.TicketSearch{Holder: "_"}, ""},
			{"serial", store.TicketSearch{Event: 1042, Serial: 4}, "Zhang San"},
			{"other event", store.TicketSearch{Event: 7, Holder: "li"}, ""},
			{"limit", store.TicketSearch{Limit: 2}, "Li Wei,li weiming"},
		} {
			if got := strings.Join(search(c.s), ","); got != c.want {
				t.Errorf("%s: %q, want %q", c.name, got, c.want)
			}
		}

		key, dev := f.enroll("gate-1", "B1")
		now := f.clock.Now()
		recs := entries(t, key, 1042, []uint64{1, 2, 3, 4, 1, 2}, "B1", 1, now.Add(-2*time.Minute))
		pushStatus(t, f.http.URL, dev.Credential, uplink.Status{Time: now, State: "ok"}, recs[:3])
		forged := append([]byte(nil), recs[3]...)
		forged[len(forged)-1] ^= 1
		pushStatus(t, f.http.URL, dev.Credential, uplink.Status{Time: now, State: "ok"}, [][]byte{forged})

		if err := f.srv.Accounts.Add(ctx, "aud", staff.Auditor, "correct horse battery", "test"); err != nil {
			t.Fatal(err)
		}
		c := newOpsClient(t, f.http.URL)
		c.login("aud", "correct horse battery")
		status, body := c.do("GET", "/ops/live.json?lang=en", nil)
		var live ops.Live
		if err := json.Unmarshal([]byte(body), &live); err != nil || status != 200 {
			t.Fatalf("live.json: %d %v: %.200s", status, err, body)
		}
		if live.Admissions != 3 || live.LastMinutes != 3 || live.Online != 1 || live.Devices != 1 {
			t.Errorf("live figures: %+v", live)
		}
		for _, want := range []string{"Balcony", "bad signature", `data-total="3"`, now.In(mustZone(t, "Europe/Berlin")).Format("MST")} {
			if !strings.Contains(live.HTML, want) {
				t.Errorf("live html lacks %q", want)
			}
		}
		ps, err := f.db.PassageCounts(ctx, time.Time{}, time.Time{})
		if err != nil || len(ps) != 1 || ps[0].Zone != 1 || ps[0].Gate != "B1" || ps[0].Count != 3 || ps[0].Kind != 1 {
			t.Errorf("passage counts: %+v, %v", ps, err)
		}
		if ps, err := f.db.PassageCounts(ctx, now.Add(time.Second), time.Time{}); err != nil || len(ps) != 0 {
			t.Errorf("passage counts of what arrived later: %+v, %v", ps, err)
		}
		// Minutes later the first records are settled in the dashboard's
		// tally; what arrives then is added to them.
		f.clock.Set(now.Add(5 * time.Minute))
		if status, _ := c.do("GET", "/ops/live.json", nil); status != 200 {
			t.Fatalf("live.json: %d", status)
		}
		pushStatus(t, f.http.URL, dev.Credential, uplink.Status{Time: f.clock.Now(), State: "ok"}, recs[3:])
		_, body = c.do("GET", "/ops/live.json", nil)
		live = ops.Live{}
		if err := json.Unmarshal([]byte(body), &live); err != nil || live.Admissions != 6 || live.Records != 6 {
			t.Errorf("live figures after more arrived: %+v, %v", live, err)
		}
		mins, err := f.db.AdmissionsByMinute(ctx, now.Add(-time.Hour))
		if err != nil || len(mins) != 1 || mins[0].Count != 6 || mins[0].Gate != "B1" || !mins[0].Minute.Equal(now.Add(-2*time.Minute).Truncate(time.Minute)) {
			t.Errorf("admissions by minute: %+v, %v", mins, err)
		}
		if rs, err := f.db.RefusalCounts(ctx); err != nil || len(rs) != 1 || rs[0].Reason != uplink.RefusedBadSignature || rs[0].Count != 1 {
			t.Errorf("refusal counts: %+v, %v", rs, err)
		}

		// A second venue: each screen shows one, the bar keeps to it, and
		// the first venue's entries are not the second's.
		spec, err := manifest.ParseSpec([]byte(strings.NewReplacer("venue: arena", "venue: hall", "1042", "2042").Replace(manifest.ExampleVenue)), "yaml")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.srv.Catalog.ImportVenue(ctx, spec, "acme"); err != nil {
			t.Fatal(err)
		}
		_, body = c.do("GET", "/ops/live.json?venue=hall", nil)
		live = ops.Live{}
		if err := json.Unmarshal([]byte(body), &live); err != nil || live.Admissions != 0 || live.Devices != 0 {
			t.Errorf("the second venue's figures: %+v, %v", live, err)
		}
		if _, page := c.do("GET", "/ops/events?venue=hall", nil); !strings.Contains(page, `href="/ops/tickets?venue=hall"`) || !strings.Contains(page, "#2042") || strings.Contains(page, "#1042") {
			t.Errorf("the second venue's events page: %.2000s", page)
		}
	})
}
