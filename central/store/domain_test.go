package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 6, 12, 16, 0, 0, 0, time.UTC)

func TestVenueEventsAndTypes(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			d := openTest(t, dialect)
			ctx := context.Background()
			v := Venue{Name: "arena", Organizer: "org", TimeZone: "Europe/Berlin",
				Zones: []Zone{{0, "Floor"}, {1, "Balcony"}}, Gates: []Gate{{"B1", 1}, {"G1", 0}}}
			ev := Event{ID: 1042, Venue: "arena", Name: "Concert", TimeZone: "Europe/Berlin", Starts: t0, Ends: t0.Add(5 * time.Hour),
				Admission: t0.Add(-2 * time.Hour), Days: []string{"2026-06-12"}, RotationSecret: make([]byte, 32)}
			tt := TicketType{Event: 1042, ID: 1, Name: "Standing", Zones: []int{0}, Rule: []byte(`{"reentry":true}`)}
			for i := 0; i < 2; i++ { // twice: updates, not duplicates
				err := d.Update(ctx, func(tx *Tx) error {
					return errors.Join(tx.PutOrganizer("org", t0), tx.PutVenue(v), tx.PutEvent(ev), tx.PutTicketType(tt))
				})
				if err != nil {
					t.Fatal(err)
				}
				v.Gates = v.Gates[:1] // the second import drops a gate
			}
			got, err := d.Venue(ctx, "arena")
			if err != nil {
				t.Fatal(err)
			}
			if want := (Venue{Name: "arena", Organizer: "org", TimeZone: "Europe/Berlin", Zones: v.Zones, Gates: []Gate{{"B1", 1}}}); !reflect.DeepEqual(got, want) {
				t.Errorf("venue = %+v, want %+v", got, want)
			}
			evs, err := d.Events(ctx, "arena")
			if err != nil || len(evs) != 1 || !reflect.DeepEqual(evs[0], ev) {
				t.Errorf("events = %+v, %v; want [%+v]", evs, err, ev)
			}
			if _, err := d.Event(ctx, 9); !errors.Is(err, ErrNotFound) {
				t.Errorf("missing event: %v, want ErrNotFound", err)
			}
			gt, err := d.TicketType(ctx, 1042, 1)
			if err != nil || gt.Name != "Standing" || string(gt.Rule) != `{"reentry":true}` || !reflect.DeepEqual(gt.Zones, []int{0}) {
				t.Errorf("ticket type = %+v, %v", gt, err)
			}
		})
	}
}

func TestManifestNumbersPerVenueAndSkipsUnchanged(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			d := openTest(t, dialect)
			ctx := context.Background()
			appendOne := func(venue, subject, body string) uint64 {
				t.Helper()
				var seq uint64
				err := d.Update(ctx, func(tx *Tx) error {
					var err error
					seq, err = tx.AppendChange(venue, "event", subject, []byte(body), t0, func(seq uint64) ([]byte, error) {
						return []byte(fmt.Sprintf(`{"seq":%d,"body":%s}`, seq, body)), nil
					})
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				return seq
			}
			tests := []struct {
				venue, subject, body string
				want                 uint64
			}{
				{"arena", "event:1", `{"n":1}`, 1},
				{"arena", "event:2", `{"n":2}`, 2},
				{"arena", "event:1", `{"n":1}`, 0}, // unchanged: nothing signed
				{"arena", "event:1", `{"n":3}`, 3},
				{"hall", "event:7", `{"n":1}`, 1}, // another venue counts on its own
			}
			for _, tt := range tests {
				if got := appendOne(tt.venue, tt.subject, tt.body); got != tt.want {
					t.Errorf("append %s %s %s = %d, want %d", tt.venue, tt.subject, tt.body, got, tt.want)
				}
			}
			var seqs []uint64
			err := d.Changes(ctx, "arena", 1, 0, func(c Change) error {
				seqs = append(seqs, c.Seq)
				if want := fmt.Sprintf(`"seq":%d`, c.Seq); !strings.Contains(string(c.Line), want) {
					t.Errorf("change %d line %s", c.Seq, c.Line)
				}
				return nil
			})
			if err != nil || !reflect.DeepEqual(seqs, []uint64{2, 3}) {
				t.Errorf("changes after 1 = %v, %v", seqs, err)
			}
			if h, err := d.ManifestHead(ctx, "arena"); h != 3 || err != nil {
				t.Errorf("head = %d, %v", h, err)
			}
			if h, err := d.ManifestHead(ctx, "nowhere"); h != 0 || err != nil {
				t.Errorf("head of an empty venue = %d, %v", h, err)
			}
		})
	}
}

func TestTicketsAndRevocations(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			d := openTest(t, dialect)
			ctx := context.Background()
			err := d.Update(ctx, func(tx *Tx) error {
				return tx.AddTickets([]Ticket{{Event: 1, Serial: 1, Type: 2, Code: "TG1:A", Issuer: "ab", IssuedAt: t0},
					{Event: 1, Serial: 2, Type: 2, Code: "TG1:B", Issuer: "ab", IssuedAt: t0, Holder: "Ann"}})
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Update(ctx, func(tx *Tx) error { return tx.AddTickets([]Ticket{{Event: 1, Serial: 2, IssuedAt: t0}}) }); err == nil {
				t.Error("a serial was issued twice")
			}
			for i, want := range []bool{true, false} {
				var got bool
				err := d.Update(ctx, func(tx *Tx) error {
					var err error
					got, err = tx.Revoke(Revocation{Kind: "ticket", Subject: "1/2", Reason: "refund", At: t0}, 1, 2)
					return err
				})
				if err != nil || got != want {
					t.Errorf("revoke #%d = %v, %v; want %v", i+1, got, err, want)
				}
			}
			tk, err := d.Ticket(ctx, 1, 2)
			if err != nil || tk.Status != "revoked" || !tk.RevokedAt.Equal(t0) || tk.Holder != "Ann" {
				t.Errorf("revoked ticket = %+v, %v", tk, err)
			}
			n := 0
			if err := d.Tickets(ctx, 1, func(Ticket) error { n++; return nil }); err != nil || n != 2 {
				t.Errorf("tickets = %d, %v", n, err)
			}
			rs, err := d.Revocations(ctx)
			if err != nil || len(rs) != 1 || rs[0].Reason != "refund" {
				t.Errorf("revocations = %+v, %v", rs, err)
			}
		})
	}
}

func TestSetupTokenWorksOnceAndExpires(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			d := openTest(t, dialect)
			ctx := context.Background()
			hash := func(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }
			err := d.Update(ctx, func(tx *Tx) error {
				if _, err := tx.AddDevice(Device{Name: "gate-1", Role: "gate", Venue: "arena", Gate: "G1"}, hash("one"), t0.Add(time.Hour), t0); err != nil {
					return err
				}
				_, err := tx.AddDevice(Device{Name: "gate-2", Role: "gate", Venue: "arena", Gate: "G2"}, hash("two"), t0.Add(time.Hour), t0)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			err = d.Update(ctx, func(tx *Tx) error {
				_, err := tx.AddDevice(Device{Name: "gate-1", Role: "gate", Venue: "arena"}, hash("three"), t0.Add(time.Hour), t0)
				return err
			})
			if !errors.Is(err, ErrExists) {
				t.Errorf("second gate-1: %v, want ErrExists", err)
			}
			take := func(token string, at time.Time) (Device, error) {
				var dev Device
				err := d.Update(ctx, func(tx *Tx) error {
					var err error
					dev, err = tx.TakeSetupToken(hash(token), at)
					return err
				})
				return dev, err
			}
			tests := []struct {
				name, token string
				at          time.Time
				want        error
			}{
				{"unknown", "nope", t0, ErrTokenUnknown},
				{"expired", "two", t0.Add(time.Hour), ErrTokenExpired},
				{"first use", "one", t0.Add(time.Minute), nil},
				{"second use", "one", t0.Add(2 * time.Minute), ErrTokenUsed},
			}
			for _, tt := range tests {
				dev, err := take(tt.token, tt.at)
				if !errors.Is(err, tt.want) || (tt.want == nil && dev.Name != "gate-1") {
					t.Errorf("%s: %+v, %v; want %v", tt.name, dev, err, tt.want)
				}
			}
			dev, _ := d.DeviceByName(ctx, "gate-1")
			err = d.Update(ctx, func(tx *Tx) error {
				return tx.Enroll(dev.ID, "0a0b0c0d", []byte("pub"), `{"device":"gate-1"}`, hash("cred"), "v1", "pi4", t0)
			})
			if err != nil {
				t.Fatal(err)
			}
			got, next, err := d.DeviceByCredential(ctx, hash("cred"))
			if err != nil || next || got.Name != "gate-1" || got.Status != DeviceEnrolled || got.KeyID != "0a0b0c0d" || got.Hardware != "pi4" {
				t.Errorf("by credential = %+v, %v", got, err)
			}
			if !got.LastSeen.IsZero() || !got.Enrolled.Equal(t0) {
				t.Errorf("enrolled, never synced: last seen %v, enrolled %v; want no sync, enrolled at %v", got.LastSeen, got.Enrolled, t0)
			}
			if _, _, err := d.DeviceByCredential(ctx, hash("other")); !errors.Is(err, ErrNotFound) {
				t.Errorf("wrong credential: %v", err)
			}
			if err := d.Seen(ctx, dev.ID, Sync{At: t0.Add(time.Hour), ManifestSeq: 7, Backlog: 3, SkewMillis: -40, State: "ok"}); err != nil {
				t.Fatal(err)
			}
			got, _ = d.DeviceByName(ctx, "gate-1")
			if got.ManifestSeq != 7 || got.Backlog != 3 || got.SkewMillis != -40 || got.Version != "v1" || !got.LastSeen.Equal(t0.Add(time.Hour)) {
				t.Errorf("after sync: %+v", got)
			}
		})
	}
}

func TestStoreRecordsDedupsAndAcksPerOrigin(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			d := openTest(t, dialect)
			ctx := context.Background()
			rec := func(origin string, seq uint64, tag string) Record {
				h := sha256.Sum256([]byte(fmt.Sprint(origin, seq, tag)))
				var prev []byte
				if seq > 1 {
					p := sha256.Sum256([]byte(fmt.Sprint(origin, seq-1, "")))
					prev = p[:]
				}
				return Record{Origin: origin, Seq: seq, Hash: h[:], Prev: prev, Raw: []byte(tag), Kind: 1, Event: 1, Serial: seq, Gate: "G1", At: t0}
			}
			batch := []Record{rec("aa", 1, ""), rec("aa", 2, ""), rec("bb", 1, ""), rec("bb", 3, "")}
			got, err := d.StoreRecords(ctx, batch, t0.Add(time.Minute), "gate-1")
			if want := []Outcome{Stored, Stored, Stored, Gap}; err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("first upload = %v, %v; want %v", got, err, want)
			}
			// The same records again, through another gate, plus a fork.
			got, err = d.StoreRecords(ctx, []Record{rec("aa", 1, ""), rec("aa", 2, "x"), rec("bb", 2, ""), rec("bb", 3, "")}, t0.Add(2*time.Minute), "gate-2")
			if want := []Outcome{Duplicate, Fork, Stored, Stored}; err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("second upload = %v, %v; want %v", got, err, want)
			}
			acks, err := d.Acks(ctx)
			if want := map[string]uint64{"aa": 2, "bb": 3}; err != nil || !reflect.DeepEqual(acks, want) {
				t.Errorf("acks = %v, %v; want %v", acks, err, want)
			}
			n := 0
			err = d.Records(ctx, 1, 0, func(r Record, arrived time.Time, via string) error {
				n++
				if r.Origin == "bb" && r.Seq == 3 && (via != "gate-2" || !arrived.Equal(t0.Add(2*time.Minute)) || !r.At.Equal(t0)) {
					t.Errorf("bb/3 arrived %s via %s at %s", arrived, via, r.At)
				}
				return nil
			})
			if err != nil || n != 5 {
				t.Errorf("records = %d, %v; want 5", n, err)
			}
		})
	}
}
