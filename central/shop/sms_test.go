package shop

import (
	"context"
	"errors"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/store"
)

var codeRE = regexp.MustCompile(`\b(\d{6})\b`)

func lastCode(t *testing.T, d *DevSender, phone string) string {
	t.Helper()
	out := d.Outbox()
	for i := len(out) - 1; i >= 0; i-- {
		if out[i].To == phone {
			if m := codeRE.FindStringSubmatch(out[i].Text); m != nil {
				return m[1]
			}
		}
	}
	t.Fatalf("no code sent to %s", phone)
	return ""
}

func wrong(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

func TestSMSCodes(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) { testSMSCodes(t, dialect) })
	}
}

func testSMSCodes(t *testing.T, dialect store.Dialect) {
	dev := &DevSender{}
	f := newFixture(t, dialect, nil)
	f.shop.cfg.SMSSender = dev
	ctx := context.Background()
	const phone = "+8613800138000"

	if err := f.shop.SendCode(ctx, "13800138000", "10.0.0.1"); !errors.Is(err, ErrBadRequest) {
		t.Errorf("a number without +country: %v", err)
	}
	if err := f.shop.SendCode(ctx, phone, "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	code := lastCode(t, dev, phone)
	if err := f.shop.SendCode(ctx, phone, "10.0.0.1"); !errors.Is(err, ErrRateLimited) {
		t.Errorf("a second code within a minute: %v", err)
	}
	// Four wrong tries, then the right one works, once.
	for i := 0; i < 4; i++ {
		if _, _, err := f.shop.LoginByCode(ctx, phone, wrong(code)); !errors.Is(err, ErrBadCode) {
			t.Fatalf("wrong code %d: %v", i+1, err)
		}
	}
	tok, a, err := f.shop.LoginByCode(ctx, phone, code)
	if err != nil || a.Phone != phone || a.Role != RoleAudience || a.VerifiedAt.IsZero() {
		t.Fatalf("right code: %+v, %v", a, err)
	}
	if got, err := f.shop.Session(ctx, tok); err != nil || got.ID != a.ID {
		t.Errorf("session: %+v, %v", got, err)
	}
	if _, _, err := f.shop.LoginByCode(ctx, phone, code); !errors.Is(err, ErrBadCode) {
		t.Errorf("a code used twice: %v", err)
	}

	// Five wrong tries spend a code.
	f.clock.Advance(2 * time.Minute)
	f.shop.SendCode(ctx, phone, "10.0.0.1")
	code = lastCode(t, dev, phone)
	for i := 0; i < 5; i++ {
		f.shop.LoginByCode(ctx, phone, wrong(code))
	}
	if _, _, err := f.shop.LoginByCode(ctx, phone, code); !errors.Is(err, ErrBadCode) {
		t.Errorf("the code worked after 5 wrong tries: %v", err)
	}

	// A code lives 5 minutes.
	f.clock.Advance(2 * time.Minute)
	f.shop.SendCode(ctx, phone, "10.0.0.1")
	code = lastCode(t, dev, phone)
	f.clock.Advance(5*time.Minute + time.Second)
	if _, _, err := f.shop.LoginByCode(ctx, phone, code); !errors.Is(err, ErrBadCode) {
		t.Errorf("a code older than 5 minutes worked: %v", err)
	}

	// At most 10 codes a day to one number, 20 from one address.
	sent := 3
	for ; sent < 12; sent++ {
		f.clock.Advance(2 * time.Minute)
		if err := f.shop.SendCode(ctx, phone, "10.0.0.1"); err != nil {
			break
		}
	}
	if sent != 10 {
		t.Errorf("%d codes to one number in a day, want 10", sent)
	}
	n := 10
	for i := 0; i < 20; i++ {
		f.clock.Advance(2 * time.Minute)
		if err := f.shop.SendCode(ctx, "+86139000000"+string(rune('0'+i%10))+string(rune('0'+i/10)), "10.0.0.1"); err != nil {
			break
		}
		n++
	}
	if n != 20 {
		t.Errorf("%d codes from one address in a day, want 20", n)
	}
	f.clock.Advance(25 * time.Hour)
	if err := f.shop.SendCode(ctx, phone, "10.0.0.1"); err != nil {
		t.Errorf("a day later: %v", err)
	}
}

// Codes and their limits are in the store: a code sent by one central
// process logs in through another, and the limits count the sends of
// both; concurrent guesses never get more than the code's 5 attempts.
func TestSMSCodesAcrossProcesses(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			dev := &DevSender{}
			f := newFixture(t, dialect, nil)
			f.shop.cfg.SMSSender = dev
			other := New(f.shop.cfg)
			ctx := context.Background()
			const phone = "+8613800138000"
			if err := f.shop.SendCode(ctx, phone, "10.0.0.1"); err != nil {
				t.Fatal(err)
			}
			if err := other.SendCode(ctx, phone, "10.0.0.2"); !errors.Is(err, ErrRateLimited) {
				t.Errorf("a second code within a minute, through the other process: %v", err)
			}
			if _, _, err := other.LoginByCode(ctx, phone, lastCode(t, dev, phone)); err != nil {
				t.Errorf("the code through the other process: %v", err)
			}
			f.clock.Advance(2 * time.Minute)
			if err := other.SendCode(ctx, phone, "10.0.0.2"); err != nil {
				t.Fatal(err)
			}
			code := lastCode(t, dev, phone)
			var wg sync.WaitGroup
			var right atomic.Int32
			for i := range 40 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					sh := []*Shop{f.shop, other}[i%2]
					guess := wrong(code)
					if i == 39 {
						guess = code
					}
					if _, _, err := sh.LoginByCode(ctx, phone, guess); err == nil {
						right.Add(1)
					}
				}()
			}
			wg.Wait()
			if _, _, err := f.shop.LoginByCode(ctx, phone, code); !errors.Is(err, ErrBadCode) {
				t.Errorf("the code after 40 concurrent tries: %v", err)
			}
			if right.Load() > 1 {
				t.Errorf("the code worked %d times", right.Load())
			}
			bl, _ := f.db.BlockedLog(ctx, store.BlockedFilter{Kind: "rate_limit"})
			if len(bl) != 1 || bl[0].Subject != "+861****8000" || bl[0].IP != "10.0.0.2" {
				t.Errorf("blocked log %+v", bl)
			}
		})
	}
}
