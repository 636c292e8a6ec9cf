package support

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
)

// BenchmarkChat pushes buyers' chat messages through one desk (an HTTP
// server on loopback, the store on SQLite or PostgreSQL) to one staff
// socket: 32 buyers, each with a conversation already open, each sending
// its next message once the desk has taken the last (its echo came back),
// so the desk is kept busy without an unbounded queue. It reports messages
// per second end to end (each one stored, then delivered) and the median
// and p99 time from a buyer's send to the staff socket's receipt.
func BenchmarkChat(b *testing.B) {
	for _, dialect := range dialects() {
		b.Run(string(dialect), func(b *testing.B) { benchChat(b, dialect, 32) })
	}
}

func benchChat(b *testing.B, dialect store.Dialect, buyers int) {
	f := newFixture(b, dialect, nil)
	f.desk.cfg.ChatEvery = -1 // the buyers here are the load, not a flood to refuse
	ops := f.dial(b, "/ops/support/ws", OpsSessionCookie+"="+f.staffToken(b, "mei", staff.BoxOffice))
	next(b, ops, "hello")
	conns := make([]*websocket.Conn, buyers)
	for i := range conns {
		conns[i] = f.dial(b, "/support/chat/ws", fmt.Sprintf("%s=bench-visitor-%032d", ChatCookie, i))
		next(b, conns[i], "hello")
		send(b, conns[i], incoming{Body: "hello"})
		next(b, conns[i], "message")
		next(b, ops, "message")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sentAt := make([]time.Time, b.N)
	lat := make([]time.Duration, 0, b.N)
	var mu sync.Mutex
	got := make(chan struct{})
	go func() {
		defer close(got)
		for len(lat) < b.N {
			_, data, err := ops.Read(ctx)
			if err != nil {
				return
			}
			var e event
			if json.Unmarshal(data, &e) != nil || e.Type != "message" || e.Message == nil {
				continue
			}
			n, ok := strings.CutPrefix(e.Message.Body, "m")
			i, err := strconv.Atoi(n)
			if !ok || err != nil || i >= b.N {
				continue
			}
			mu.Lock()
			lat = append(lat, time.Since(sentAt[i]))
			mu.Unlock()
		}
	}()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < b.N; i += buyers {
				msg, _ := json.Marshal(incoming{Body: "m" + strconv.Itoa(i)})
				mu.Lock()
				sentAt[i] = time.Now()
				mu.Unlock()
				if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
					b.Error(err)
					return
				}
				// The next once the desk has taken this one: its echo
				// comes after it is stored.
				for {
					_, data, err := c.Read(ctx)
					if err != nil {
						b.Error(err)
						return
					}
					var e event
					if json.Unmarshal(data, &e) == nil && e.Type == "message" && e.Message != nil && e.Message.Body == "m"+strconv.Itoa(i) {
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	select {
	case <-got:
	case <-time.After(2 * time.Minute):
		b.Fatalf("the staff socket got %d of %d messages", len(lat), b.N)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if len(lat) < b.N {
		b.Fatalf("the staff socket got %d of %d messages", len(lat), b.N)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
}
