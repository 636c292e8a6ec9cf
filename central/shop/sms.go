package shop

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/tixgate/tixgate/central/store"
)

// SMS is one text message to a phone.
type SMS struct {
	To   string // E.164: +8613800138000
	Text string
	// Kind is what the message is, for a provider that sends only
	// approved templates (Alibaba Cloud): KindCode ("" too) or
	// KindOffer; Params are its variables: a sign-in code is {"code": …},
	// an offer {"order": …, "minutes": …}.
	Kind   string
	Params map[string]string
}

// Kinds of text message.
const (
	KindCode  = "code"           // a sign-in code
	KindOffer = "waitlist_offer" // tickets held for a buyer on a waiting list
)

// Sender sends text messages. Send returns once the provider accepted the
// message, or an error.
type Sender interface {
	Send(ctx context.Context, m SMS) error
}

// DevSender is the development sender: it writes each message to the log
// at debug level and keeps it in an outbox a developer (or a test) reads.
// Never use it in production: nobody receives the codes.
type DevSender struct {
	Logger *slog.Logger

	mu     sync.Mutex
	outbox []SMS
}

var _ Sender = (*DevSender)(nil)

// Send logs m and keeps it.
func (d *DevSender) Send(_ context.Context, m SMS) error {
	if d.Logger != nil {
		// The text holds a sign-in code: debug level only.
		d.Logger.Debug("sms (development sender: not sent)", "to", m.To, "text", m.Text)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.outbox = append(d.outbox, m)
	return nil
}

// Outbox returns the messages sent so far, oldest first.
func (d *DevSender) Outbox() []SMS {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]SMS(nil), d.outbox...)
}

// SMSLimits bound the sign-in codes.
type SMSLimits struct {
	// Life is how long a code works.
	Life time.Duration
	// Attempts is how many wrong tries a code survives.
	Attempts int
	// Gap is the least time between two codes to one number, and
	// PerNumberDay, PerIPDay and PerDay bound the codes sent per number,
	// per client address and in all per 24 hours: a form that can be used to
	// bomb a phone, or to run up the provider's bill, is an attack.
	Gap                            time.Duration
	PerNumberDay, PerIPDay, PerDay int
}

// DefaultSMSLimits: 5 minutes, 5 attempts, a minute apart, 10 per number,
// 20 per address, 10,000 in all per day.
func DefaultSMSLimits() SMSLimits {
	return SMSLimits{Life: 5 * time.Minute, Attempts: 5, Gap: time.Minute, PerNumberDay: 10, PerIPDay: 20, PerDay: 10000}
}

// Errors of the SMS sign-in.
var (
	ErrRateLimited = errors.New("too many codes requested: try later")
	ErrBadCode     = errors.New("wrong or expired code")
)

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func codeHash(phone, code string) []byte {
	sum := sha256.Sum256([]byte(phone + "\x00" + code))
	return sum[:]
}

// SendCode sends a 6-digit sign-in code to phone, within the limits.
func (s *Shop) SendCode(ctx context.Context, phone, ip string) error {
	if !e164.MatchString(phone) {
		return fmt.Errorf("phone %q: want E.164, like +8613800138000: %w", phone, ErrBadRequest)
	}
	lim, now := s.cfg.SMS, s.now()
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return err
	}
	code := fmt.Sprintf("%06d", n.Int64())
	num := "n:" + shortHash(phone)
	refused, err := s.db.PutSMSCode(ctx, shortHash(phone), num, codeHash(phone, code), now, now.Add(lim.Life), now.Add(-24*time.Hour), lim.Gap,
		[]store.SMSLimit{{Key: num, Max: lim.PerNumberDay}, {Key: "ip:" + ip, Max: lim.PerIPDay}, {Key: "all", Max: lim.PerDay}})
	if err != nil {
		return fmt.Errorf("send code: %w", err)
	}
	if refused != "" {
		why := map[string]string{num: "the number has had its codes (one a minute, " + strconv.Itoa(lim.PerNumberDay) + " a day)",
			"ip:" + ip: "the address has had its " + strconv.Itoa(lim.PerIPDay) + " codes today", "all": "the day's codes are spent"}[refused]
		s.log.Warn("sms code refused: rate limit", "ip", ip, "why", why)
		s.block(ctx, "rate_limit", "sms code: "+why, ip, 0, maskPhone(phone))
		return ErrRateLimited
	}
	text := fmt.Sprintf("Your tixgate code is %s (valid %d minutes). 您的验证码是 %s。", code, int(lim.Life.Minutes()), code)
	if err := s.cfg.SMSSender.Send(ctx, SMS{To: phone, Text: text, Kind: KindCode, Params: map[string]string{"code": code}}); err != nil {
		return fmt.Errorf("send code: %w", err)
	}
	return nil
}

// LoginByCode checks a phone's code and returns a session, creating an
// audience account for a new number. A code works once; a wrong one counts
// against its attempts, and after the last it is gone.
func (s *Shop) LoginByCode(ctx context.Context, phone, code string) (string, store.Account, error) {
	now := s.now()
	if !e164.MatchString(phone) || len(code) != 6 {
		return "", store.Account{}, ErrBadCode
	}
	want := codeHash(phone, code)
	ok, err := s.db.TrySMSCode(ctx, shortHash(phone), s.cfg.SMS.Attempts, now, func(h []byte) bool { return subtle.ConstantTimeCompare(h, want) == 1 })
	if err != nil {
		return "", store.Account{}, fmt.Errorf("sms login: %w", err)
	}
	if !ok {
		return "", store.Account{}, ErrBadCode
	}
	a, err := s.db.AccountByPhone(ctx, phone)
	if errors.Is(err, store.ErrNotFound) {
		a = store.Account{Phone: phone, Role: RoleAudience, Created: now, VerifiedAt: now}
		err = s.db.Update(ctx, func(tx *store.Tx) error {
			var err error
			a.ID, err = tx.AddAccount(a)
			return err
		})
	}
	if err != nil {
		return "", store.Account{}, fmt.Errorf("sms login: %w", err)
	}
	tok, err := s.newSession(ctx, a.ID)
	return tok, a, err
}
