package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkDashboard times the queries a refresh of the ops dashboard runs
// over a venue's records arriving 5 a second (raw rows: the queries read
// no signature), on SQLite: the first refresh of a process counts every
// record (cold); every later one only what arrived in the last minutes
// (fresh) and the chart's half hour (minutes).
func BenchmarkDashboard(b *testing.B) {
	for _, n := range []int{10_000, 200_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			d, err := Open(context.Background(), Config{DataDir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			ctx := context.Background()
			now := time.Now().UTC()
			err = d.Update(ctx, func(tx *Tx) error {
				if err := tx.PutOrganizer("o", now); err != nil {
					return err
				}
				if err := tx.PutVenue(Venue{Name: "arena", Organizer: "o", TimeZone: "UTC"}); err != nil {
					return err
				}
				if err := tx.PutEvent(Event{ID: 1, Venue: "arena", Name: "e", TimeZone: "UTC", Starts: now, Ends: now.Add(time.Hour), Days: []string{}}); err != nil {
					return err
				}
				for i := range n {
					at := now.Add(-time.Duration(n-i) * 200 * time.Millisecond)
					if _, err := tx.exec(`INSERT INTO records (origin, seq, hash, raw, kind, event, serial, type, gate, zone, at, arrived, via)
						VALUES ($1, $2, x'00', x'00', $3, 1, $2, 1, $4, $5, $6, $6, 'g')`,
						fmt.Sprintf("o%d", i%8), i, 1+i%3, fmt.Sprintf("G%d", i%8), i%2, micros(at)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			queries := map[string]func() error{
				// The first refresh of a process counts every record once.
				"cold": func() error { _, err := d.PassageCounts(ctx, time.Time{}, time.Time{}); return err },
				// Every later one reads the last minutes' arrivals.
				"fresh": func() error {
					_, err := d.PassageCounts(ctx, now.Add(-2*time.Minute), time.Time{})
					return err
				},
				"minutes": func() error { _, err := d.AdmissionsByMinute(ctx, now.Add(-30*time.Minute)); return err },
				"refused": func() error { _, err := d.RefusalCounts(ctx); return err },
			}
			for _, name := range []string{"cold", "fresh", "minutes", "refused"} {
				b.Run(name, func(b *testing.B) {
					for b.Loop() {
						if err := queries[name](); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// BenchmarkTicketSearch times the ops screens' ticket search by a part of
// the holder's name (a scan of the tickets) and by serial (the key), over
// 200,000 tickets on SQLite.
func BenchmarkTicketSearch(b *testing.B) {
	d, err := Open(context.Background(), Config{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	now := time.Now().UTC()
	const n = 200_000
	err = d.Update(ctx, func(tx *Tx) error {
		ts := make([]Ticket, 0, n)
		for i := range n {
			ts = append(ts, Ticket{Event: 1, Serial: uint64(i + 1), Type: 1, Holder: fmt.Sprintf("Holder %d", i), Code: "x", Issuer: "i", IssuedAt: now})
		}
		return tx.AddTickets(ts)
	})
	if err != nil {
		b.Fatal(err)
	}
	for name, s := range map[string]TicketSearch{"holder": {Holder: "holder 19999"}, "serial": {Event: 1, Serial: 123_456}} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if ts, err := d.SearchTickets(ctx, s); err != nil || len(ts) == 0 {
					b.Fatal(len(ts), err)
				}
			}
		})
	}
}
