package shop

import (
	"context"
	"log/slog"
	"time"

	"github.com/tixgate/tixgate/central/catalog"
	pwhash "github.com/tixgate/tixgate/central/password"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ticket"
)

// Config is what the box office needs.
type Config struct {
	Store   *store.DB
	Catalog *catalog.Catalog
	// Mailer sends verification links and order confirmations; nil logs
	// them instead (development).
	Mailer Mailer
	// SMSSender sends sign-in codes; nil is the development sender (the
	// log and an outbox). AliyunSMS is a real provider (tixgate central
	// --sms aliyun). Codes and their limits live in the store, so every
	// central process shares them.
	SMSSender Sender
	SMS       SMSLimits
	// BaseURL is central's public address, for the links in mails.
	BaseURL string
	// Hold is how long a pending order keeps its tickets before they
	// return to stock: long enough to pay, short enough that an abandoned
	// cart does not keep others from buying during an on-sale rush.
	Hold time.Duration
	// Session is how long a login lasts.
	Session time.Duration
	// VerifyLife is how long a verification link works.
	VerifyLife time.Duration
	// Password is the argon2id cost of a password hash. Memory is the
	// knob that makes guessing expensive; every login pays it once.
	Password PasswordParams
	// AllowUnverified accepts orders from accounts whose email is not
	// verified yet (a demo); by default they are refused.
	AllowUnverified bool
	// CaptchaBits is the proof-of-work captcha's difficulty on
	// registration and checkout: the leading zero bits of SHA-256 a
	// buyer's browser must find, 2^bits hashes on average. At 16, measured
	// on one core of this project's 2-core server: captcha.js under Node
	// 0.3 s median (6–890 ms: the work is random), Go 17 ms; a phone's
	// browser is a few times slower than Node on a server core, so 16 is
	// about a second there. Each bit doubles what a script pays per
	// account or order, and what the slowest phone pays too; the server
	// pays one hash and one HMAC (1.5 µs) and one store write. 0 is off
	// (no answer asked for).
	CaptchaBits int
	// CaptchaLife is how long a challenge may be answered: long enough to
	// fill in a form, short enough that solving ahead of a rush buys
	// little.
	CaptchaLife time.Duration
	// CaptchaKey signs challenges; nil: a key the store keeps for every
	// central process (made on first use).
	CaptchaKey []byte
	// Rate bounds requests that write, per client address and per
	// account (see RateLimits).
	Rate RateLimits
	// Profile is what the profile asks (the consent's words).
	Profile ProfileConfig
	// Waitlist is how waiting-list offers are made.
	Waitlist WaitlistConfig
	Clock    ticket.Clock
	Logger   *slog.Logger

	// Settled, when set, is told of each order after a commit that paid
	// or cancelled it (the invoices: package invoice). It must not block
	// for long and must be safe to call again for one order; a crash
	// before the call is made good by its own sweep.
	Settled func(ctx context.Context, order int64)
}

// DefaultConfig is a box office over db issuing through cat.
func DefaultConfig(db *store.DB, cat *catalog.Catalog) Config {
	return Config{Store: db, Catalog: cat, BaseURL: "http://localhost:8080", Hold: 15 * time.Minute, Session: 30 * 24 * time.Hour,
		VerifyLife: 48 * time.Hour, Password: DefaultPasswordParams(), SMS: DefaultSMSLimits(), Clock: ticket.SystemClock{}, Logger: slog.Default(),
		CaptchaLife: 10 * time.Minute, Rate: DefaultRateLimits(), Profile: DefaultProfileConfig(), Waitlist: DefaultWaitlistConfig()}
}

// TestConfig is DefaultConfig with a cheap password hash, for tests.
func TestConfig(db *store.DB, cat *catalog.Catalog) Config {
	cfg := DefaultConfig(db, cat)
	cfg.Password = pwhash.Cheap
	cfg.Rate.Off = true
	return cfg
}
