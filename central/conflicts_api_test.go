package central

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/catalog"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/uplink"
)

// pushTo uploads records to a central through the device credential cred.
func pushTo(t testing.TB, url, cred string, recs [][]byte) uplink.PushResponse {
	t.Helper()
	body, _ := json.Marshal(uplink.PushRequest{Status: uplink.Status{Time: now0, State: "ok"}, Records: recs})
	req, _ := http.NewRequest(http.MethodPost, url+uplink.PathRecords, strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+cred)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return uplink.PushResponse{}
	}
	defer resp.Body.Close()
	var out uplink.PushResponse
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
		t.Errorf("push: %s", resp.Status)
	}
	return out
}

func opsCall(t testing.TB, method, url, token, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" && !strings.HasPrefix(body, "{") {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func listConflicts(t testing.TB, url, token, query string) []Conflict {
	t.Helper()
	code, b := opsCall(t, http.MethodGet, url+"/api/v1/conflicts"+query, token, "")
	var out struct{ Conflicts []Conflict }
	if code != http.StatusOK || json.Unmarshal(b, &out) != nil {
		t.Fatalf("list conflicts: %d %s", code, b)
	}
	return out.Conflicts
}

// Two gates that could not see each other admit serials 1-3 each: three
// double entries, found as the records arrive, kept once however often
// they are uploaded or reconciled, and resolved with who and when.
func TestConflictsFoundStoredAndResolved(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		ctx := context.Background()
		key1, dev1 := f.enroll("gate-1", "G1")
		key2, dev2 := f.enroll("gate-2", "G2")
		at := now0.Add(-time.Hour)
		r1, r2 := chain(t, key1, 6, at), chain(t, key2, 3, at.Add(time.Minute))
		opsTok, _ := AddAPIToken(ctx, f.db, f.clock, "mei", "ops", []string{"read", "ops"})
		readTok, _ := AddAPIToken(ctx, f.db, f.clock, "audit-bot", "read", []string{"read"})

		pushTo(t, f.http.URL, dev1.Credential, r1)
		if got := listConflicts(t, f.http.URL, opsTok, ""); len(got) != 0 {
			t.Fatalf("one gate's records: %d conflicts, want none", len(got))
		}
		pushTo(t, f.http.URL, dev2.Credential, r2)
		pushTo(t, f.http.URL, dev1.Credential, r2) // the same records through a peer
		got := listConflicts(t, f.http.URL, opsTok, "?state=open")
		if len(got) != 3 {
			t.Fatalf("%d open conflicts, want 3: %+v", len(got), got)
		}
		for _, c := range got {
			if c.Kind != "double_entry" || c.Venue != "arena" || len(c.Records) != 2 || c.Records[0].Device != "gate-2" || c.Records[1].Device != "gate-1" {
				t.Errorf("conflict %+v: want gate-2's entry refused after gate-1's", c)
			}
		}
		code, b := opsCall(t, http.MethodPost, f.http.URL+"/api/v1/conflicts/reconcile", opsTok, "")
		var st struct{ Tickets, New, Changed, Closed int }
		if code != http.StatusOK || json.Unmarshal(b, &st) != nil || st.Tickets != 6 || st.New+st.Changed+st.Closed != 0 {
			t.Fatalf("a pass over stored conflicts: %d %s, want 6 tickets and nothing new", code, b)
		}

		// A ticket revoked (at the clock's time, after the entries) makes no
		// conflict; one revoked from before them does, found by a pass, as
		// no upload brings it.
		f.clock.Set(at.Add(-time.Hour))
		issued, err := f.srv.Catalog.IssueTickets(ctx, catalog.Issue{Event: 1042, Type: 1, Count: 6})
		if err != nil || issued[4].Serial != 5 {
			t.Fatalf("issue: %v; want serials 1-6", err)
		}
		if err := f.srv.Catalog.RevokeTicket(ctx, 1042, 5, "refunded"); err != nil {
			t.Fatal(err)
		}
		f.clock.Set(now0)
		code, b = opsCall(t, http.MethodPost, f.http.URL+"/api/v1/conflicts/reconcile", opsTok, "")
		if code != http.StatusOK || json.Unmarshal(b, &st) != nil || st.New != 1 {
			t.Fatalf("a pass after a revocation: %d %s, want one new conflict", code, b)
		}
		revoked := listConflicts(t, f.http.URL, opsTok, "?state=open")
		kinds := map[string]int{}
		for _, c := range revoked {
			kinds[c.Kind]++
			if c.Kind == "revoked_ticket" && (c.Serial != 5 || len(c.Records) != 1 || c.Records[0].Device != "gate-1") {
				t.Errorf("revoked ticket's conflict %+v: want gate-1's entry of serial 5", c)
			}
		}
		if len(revoked) != 4 || kinds["revoked_ticket"] != 1 || kinds["double_entry"] != 3 {
			t.Fatalf("after the revocation: %v, want 3 double entries and 1 revoked ticket", kinds)
		}

		id := got[0].ID
		for _, tc := range []struct {
			name, token, id, body string
			code                  int
		}{
			{"read scope", readTok, id, `{"action":"confirm"}`, http.StatusForbidden},
			{"unknown action", opsTok, id, `{"action":"forgive"}`, http.StatusBadRequest},
			{"unknown conflict", opsTok, "c" + strings.Repeat("0", 32), `{"action":"flag"}`, http.StatusNotFound},
			{"not an id", opsTok, "x", `{"action":"flag"}`, http.StatusBadRequest},
			{"unknown field", opsTok, id, `{"action":"flag","by":"someone"}`, http.StatusBadRequest},
			{"form body", opsTok, id, "action=flag", http.StatusUnsupportedMediaType},
			{"flag", opsTok, id, `{"action":"flag","note":"copied code?"}`, http.StatusOK},
			{"confirm", opsTok, id, `{"action":"confirm","note":"staff let them back in"}`, http.StatusOK},
		} {
			if code, b := opsCall(t, http.MethodPost, f.http.URL+"/api/v1/conflicts/"+tc.id+"/resolve", tc.token, tc.body); code != tc.code {
				t.Errorf("%s: %d %s, want %d", tc.name, code, b, tc.code)
			}
		}
		code, b = opsCall(t, http.MethodGet, f.http.URL+"/api/v1/conflicts/"+id, readTok, "")
		var c Conflict
		if code != http.StatusOK || json.Unmarshal(b, &c) != nil || c.State != "resolved" || c.Resolution == nil ||
			c.Resolution.Action != "confirm" || c.Resolution.By != "mei" || !c.Resolution.At.Equal(now0) {
			t.Fatalf("resolved conflict: %d %s", code, b)
		}
		hist, err := f.db.Resolutions(ctx, id)
		if err != nil || len(hist) != 2 || hist[0].Action != "flag" || hist[1].Action != "confirm" {
			t.Fatalf("history %+v, %v: want flag then confirm", hist, err)
		}
		log, err := f.db.AuditLog(ctx, 10)
		if err != nil || len(log) != 2 || log[0].Action != "conflict.confirm" || log[0].Target != id || log[0].Actor != "mei" {
			t.Fatalf("audit log %+v, %v", log, err)
		}
		if _, err := f.db.SQL().Exec(`UPDATE audit SET actor = 'someone else'`); err == nil {
			t.Error("the audit log took an update")
		}
		if _, err := f.db.SQL().Exec(`DELETE FROM audit`); err == nil {
			t.Error("the audit log took a delete")
		}
		if open := listConflicts(t, f.http.URL, opsTok, "?state=open"); len(open) != 3 {
			t.Errorf("%d open after one resolved, want 3", len(open))
		}
		if code, _ := opsCall(t, http.MethodGet, f.http.URL+"/api/v1/conflicts", "", ""); code != http.StatusUnauthorized {
			t.Errorf("no token: %d, want 401", code)
		}
	})
}

// Two central processes on one PostgreSQL, each with its own listener;
// gates upload to either, at once, their own records and their peers':
// nothing is stored twice, nothing is lost, and each conflict is one row.
func TestTwoCentralsOnePostgres(t *testing.T) {
	if pg == nil && testing.Short() {
		t.Skip("PostgreSQL: covered by the run without -short, which starts it")
	}
	if pg == nil {
		t.Fatal("no PostgreSQL cluster: storetest.Main starts one")
	}
	dsn := pg.NewDatabase(t)
	f := newFixture(t, dsn) // central A
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	scfg := store.DefaultConfig(dsn, t.TempDir())
	scfg.Logger = quiet
	dbB, err := store.Open(context.Background(), scfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dbB.Close() })
	cfg := DefaultConfig("127.0.0.1:0", dbB, f.keys)
	cfg.Clock, cfg.Logger = f.clock, quiet
	b := httptest.NewServer(New(cfg).Handler()) // central B
	t.Cleanup(b.Close)
	centrals := []string{f.http.URL, b.URL}

	const gates, entries = 4, 40
	keys := make([]ed25519.PrivateKey, gates)
	creds := make([]string, gates)
	var all [][][]byte
	for g := range gates {
		var resp uplink.EnrollResponse
		keys[g], resp = f.enroll(fmt.Sprintf("gate-%d", g+1), fmt.Sprintf("G%d", g%2+1))
		creds[g] = resp.Credential
		// Every gate admits serials 1-40: each ticket entered at four
		// gates, three double entries per ticket.
		all = append(all, chain(t, keys[g], entries, now0.Add(-time.Hour+time.Duration(g)*time.Millisecond)))
	}
	var wg sync.WaitGroup
	for g := range gates {
		for _, url := range centrals {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// In batches of 10, each gate's own records and then its
				// peers', as a gate relays for the venue.
				for o := range gates {
					mine := all[(g+o)%gates]
					for i := 0; i < entries; i += 10 {
						p := pushTo(t, url, creds[g], mine[i:i+10])
						for _, rf := range p.Refused {
							if rf.Reason != uplink.RefusedGap {
								t.Errorf("gate %d via %s: refused %+v", g, url, rf)
							}
						}
					}
				}
			}()
		}
	}
	wg.Wait()
	// A gap refusal (another central stored the records before) is made
	// good by the next push from the acknowledgement; push everything once
	// more through B to be sure every origin is complete.
	for g := range gates {
		pushTo(t, b.URL, creds[0], all[g])
	}
	var records, distinct int
	if err := f.db.SQL().QueryRow(`SELECT COUNT(*), COUNT(DISTINCT origin || '/' || seq) FROM records`).Scan(&records, &distinct); err != nil {
		t.Fatal(err)
	}
	if records != gates*entries || distinct != records {
		t.Errorf("%d records stored (%d distinct), want %d once each", records, distinct, gates*entries)
	}
	acks, err := f.db.Acks(context.Background())
	if err != nil || len(acks) != gates {
		t.Fatalf("acks %v, %v", acks, err)
	}
	for o, seq := range acks {
		if seq != entries {
			t.Errorf("origin %s acknowledged to %d, want %d", o, seq, entries)
		}
	}
	var rows, ids, open int
	if err := f.db.SQL().QueryRow(`SELECT COUNT(*), COUNT(DISTINCT id), COALESCE(SUM(CASE WHEN closed_at = 0 THEN 1 ELSE 0 END), 0) FROM conflicts`).Scan(&rows, &ids, &open); err != nil {
		t.Fatal(err)
	}
	if want := entries * (gates - 1); rows != want || ids != rows || open != want {
		t.Errorf("%d conflict rows, %d ids, %d open; want %d double entries, each once and open", rows, ids, open, want)
	}
}

// The sellers' double sales and the gates' double entries are in one
// list, filtered by kind, and resolved the same way.
func TestConflictsOneListForEveryKind(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	key1, dev1 := f.enroll("gate-1", "G1")
	key2, dev2 := f.enroll("gate-2", "G2")
	at := now0.Add(-time.Hour)
	pushTo(t, f.http.URL, dev1.Credential, chain(t, key1, 1, at))
	pushTo(t, f.http.URL, dev2.Credential, chain(t, key2, 1, at.Add(time.Minute)))
	tok, err := AddAPIToken(ctx, f.db, f.clock, "mei", "ops", []string{"read", "ops"})
	if err != nil {
		t.Fatal(err)
	}
	// A double sale as the sellers' intake stores it (central/sales).
	sale := store.Conflict{ID: "c" + strings.Repeat("5", 32), Venue: "arena", Kind: "double_sale", Event: 1042, Serial: 1_000_000_001,
		Detail: "sold by seller-a and seller-b", Records: []byte(`[{"record":"6735ff0c/2","origin":"6735ff0c","seq":2,"device":"seller-a","kind":"sale"},{"record":"a9da85b5/1","origin":"a9da85b5","seq":1,"device":"seller-b","kind":"sale"}]`)}
	err = f.db.Update(ctx, func(tx *store.Tx) error {
		for i := 0; i < 2; i++ { // the same conflict found twice is kept once
			if _, err := tx.AddConflict(sale, f.clock.Now()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	all := listConflicts(t, f.http.URL, tok, "")
	kinds := map[string]int{}
	for _, c := range all {
		kinds[c.Kind]++
	}
	if len(all) != 2 || kinds["double_entry"] != 1 || kinds["double_sale"] != 1 {
		t.Fatalf("one list: %+v, want a double entry and a double sale", kinds)
	}
	sales := listConflicts(t, f.http.URL, tok, "?kind=double_sale")
	if len(sales) != 1 || sales[0].ID != sale.ID || sales[0].State != "open" || len(sales[0].Records) != 2 || sales[0].Records[1].Device != "seller-b" {
		t.Fatalf("double sales: %+v", sales)
	}
	if code, b := opsCall(t, http.MethodPost, f.http.URL+"/api/v1/conflicts/"+sale.ID+"/resolve", tok, `{"action":"refund","note":"seller-b's buyer"}`); code != http.StatusOK {
		t.Fatalf("resolve a double sale: %d %s", code, b)
	}
	if got := listConflicts(t, f.http.URL, tok, "?kind=double_sale&state=resolved"); len(got) != 1 || got[0].Resolution == nil || got[0].Resolution.By != "mei" {
		t.Errorf("resolved double sale: %+v", got)
	}
	if got := listConflicts(t, f.http.URL, tok, "?state=open"); len(got) != 1 || got[0].Kind != "double_entry" {
		t.Errorf("open after the resolution: %+v", got)
	}
}
