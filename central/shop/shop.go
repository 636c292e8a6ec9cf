package shop

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	pwhash "github.com/tixgate/tixgate/central/password"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ticket"
)

// Buyer roles.
const (
	RoleAudience = "audience"
	RoleVIP      = "vip"
	RoleSponsor  = "sponsor"
)

// BuyerRoles are the roles an account can hold.
var BuyerRoles = []string{RoleAudience, RoleVIP, RoleSponsor}

// Errors callers branch on; the API turns each into its code.
var (
	ErrBadRequest  = errors.New("bad request")
	ErrCredentials = errors.New("wrong email or password")
	ErrUnverified  = errors.New("email not verified")
	ErrSoldOut     = errors.New("sold out")
	ErrExpired     = errors.New("order expired")
	ErrState       = errors.New("order is not in a state that allows it")
	ErrNotFound    = errors.New("not found")
	// ErrLimit is a buyer's purchase limit reached (per account, phone or
	// payment instrument); it comes with ErrSoldOut, as for that buyer
	// the tickets are.
	ErrLimit = errors.New("purchase limit reached")
)

// Shop is the box office.
type Shop struct {
	cfg Config
	db  *store.DB
	log *slog.Logger

	dummyOnce sync.Once
	dummy     string
	ckey      captchaKey
	rates     rateCounts
	blocked   rateCounts               // refusals recorded this minute, by what
	lastSweep atomic.Int64             // when ExpireDue last ran, Unix nanoseconds of the clock
	refunder  atomic.Pointer[Refunder] // set after New: payments are made over the shop
	evRefunds eventRefunds
}

// New makes a box office.
func New(cfg Config) *Shop {
	def := DefaultConfig(cfg.Store, cfg.Catalog)
	if cfg.Clock == nil {
		cfg.Clock = ticket.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Hold <= 0 {
		cfg.Hold = def.Hold
	}
	if cfg.Session <= 0 {
		cfg.Session = def.Session
	}
	if cfg.VerifyLife <= 0 {
		cfg.VerifyLife = def.VerifyLife
	}
	if cfg.Password.KeyLen == 0 {
		cfg.Password = def.Password
	}
	if cfg.CaptchaLife <= 0 {
		cfg.CaptchaLife = def.CaptchaLife
	}
	if cfg.Rate == (RateLimits{}) {
		cfg.Rate = def.Rate
	}
	if cfg.Profile.Wording == nil {
		cfg.Profile = def.Profile
	}
	if cfg.Waitlist.OfferLife <= 0 {
		cfg.Waitlist = def.Waitlist
	}
	if cfg.SMS.Life <= 0 {
		cfg.SMS = def.SMS
	}
	if cfg.SMSSender == nil {
		cfg.SMSSender = &DevSender{Logger: cfg.Logger}
	}
	if cfg.Mailer == nil {
		cfg.Mailer = logMailer{cfg.Logger}
	}
	return &Shop{cfg: cfg, db: cfg.Store, log: cfg.Logger}
}

func (s *Shop) now() time.Time { return s.cfg.Clock.Now() }

// newToken makes a random token with a prefix and returns it with the
// hash that is stored.
func newToken(prefix string) (string, []byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("token: %w", err)
	}
	tok := prefix + base64.RawURLEncoding.EncodeToString(b)
	return tok, tokenHash(tok), nil
}

func tokenHash(tok string) []byte {
	sum := sha256.Sum256([]byte(tok))
	return sum[:]
}

// Registration is what a buyer registers with.
type Registration struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name,omitempty"`
	// Captcha is the solved proof-of-work challenge, when it is on.
	Captcha *CaptchaAnswer `json:"captcha,omitempty"`
	// IP is the client's address, for the rate limits and the blocked
	// log (set by the API from the connection, never from the body).
	IP string `json:"-"`
}

func normalizeEmail(s string) (string, error) {
	a, err := mail.ParseAddress(strings.TrimSpace(s))
	if err != nil || a.Name != "" || len(a.Address) > 254 {
		return "", fmt.Errorf("email %q: not an address: %w", s, ErrBadRequest)
	}
	return strings.ToLower(a.Address), nil
}

// Register creates an audience account and mails its verification link.
func (s *Shop) Register(ctx context.Context, r Registration) (store.Account, error) {
	email, err := normalizeEmail(r.Email)
	if err != nil {
		return store.Account{}, err
	}
	if err := s.CheckRate(ctx, r.IP, 0, "register"); err != nil {
		return store.Account{}, err
	}
	if err := s.CheckCaptcha(ctx, r.Captcha, r.IP, 0, "register"); err != nil {
		return store.Account{}, err
	}
	if n := len([]rune(r.Password)); n < 10 || len(r.Password) > 256 {
		return store.Account{}, fmt.Errorf("password: use 10 to 256 characters: %w", ErrBadRequest)
	}
	if len(r.Name) > 128 {
		return store.Account{}, fmt.Errorf("name longer than 128 bytes: %w", ErrBadRequest)
	}
	hash, err := pwhash.Hash(r.Password, s.cfg.Password)
	if err != nil {
		return store.Account{}, err
	}
	tok, th, err := newToken("tgv_")
	if err != nil {
		return store.Account{}, err
	}
	now := s.now()
	a := store.Account{Email: email, PasswordHash: hash, Role: RoleAudience, Name: r.Name, Created: now}
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		if a.ID, err = tx.AddAccount(a); err != nil {
			return err
		}
		return tx.AddShopToken(th, "verify", a.ID, now.Add(s.cfg.VerifyLife))
	})
	if errors.Is(err, store.ErrExists) {
		return store.Account{}, fmt.Errorf("an account with this email exists: %w", ErrBadRequest)
	}
	if err != nil {
		return store.Account{}, fmt.Errorf("register: %w", err)
	}
	link := strings.TrimRight(s.cfg.BaseURL, "/") + PathPrefix + "verify?token=" + tok
	err = s.cfg.Mailer.Send(ctx, Message{To: email, Subject: "Confirm your email / 请确认您的邮箱",
		Body: "Open this link to confirm your email address:\n请打开以下链接确认您的邮箱地址：\n\n" + link + "\n"})
	if err != nil {
		// The account stands; a new link can be asked for by logging in.
		s.log.Warn("verification mail not sent", "account", a.ID, "err", err)
	}
	return a, nil
}

// Verify spends a verification token.
func (s *Shop) Verify(ctx context.Context, tok string) error {
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.Verify(tokenHash(tok), s.now())
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("verification link unknown, used or expired: %w", ErrNotFound)
	}
	return err
}

// Login checks an email and password and returns a new session token.
func (s *Shop) Login(ctx context.Context, email, password string) (string, store.Account, error) {
	addr, err := normalizeEmail(email)
	if err != nil {
		return "", store.Account{}, ErrCredentials
	}
	a, err := s.db.AccountByEmail(ctx, addr)
	if errors.Is(err, store.ErrNotFound) {
		// Spend the same work, so timing does not tell which emails exist.
		pwhash.Check(password, s.dummyHash())
		return "", store.Account{}, ErrCredentials
	}
	if err != nil {
		return "", store.Account{}, fmt.Errorf("login: %w", err)
	}
	ok, err := pwhash.Check(password, a.PasswordHash)
	if err != nil {
		return "", store.Account{}, fmt.Errorf("login: account %d: %w", a.ID, err)
	}
	if !ok {
		return "", store.Account{}, ErrCredentials
	}
	tok, err := s.newSession(ctx, a.ID)
	return tok, a, err
}

func (s *Shop) newSession(ctx context.Context, account int64) (string, error) {
	tok, th, err := newToken("tgs_")
	if err != nil {
		return "", err
	}
	err = s.db.Update(ctx, func(tx *store.Tx) error { return tx.AddShopToken(th, "session", account, s.now().Add(s.cfg.Session)) })
	if err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	return tok, nil
}

// dummyHash is a hash of the configured cost that matches no password.
func (s *Shop) dummyHash() string {
	s.dummyOnce.Do(func() { s.dummy, _ = pwhash.Hash("not a password", s.cfg.Password) })
	return s.dummy
}

// Session returns the account of a session token.
func (s *Shop) Session(ctx context.Context, tok string) (store.Account, error) {
	if !strings.HasPrefix(tok, "tgs_") {
		return store.Account{}, ErrNotFound
	}
	a, err := s.db.ShopToken(ctx, tokenHash(tok), "session", s.now())
	if errors.Is(err, store.ErrNotFound) {
		return a, ErrNotFound
	}
	return a, err
}

// SetRole gives an account a buyer role (ops: a VIP member, a sponsor).
func (s *Shop) SetRole(ctx context.Context, account int64, role string) error {
	if !slices.Contains(BuyerRoles, role) {
		return fmt.Errorf("role %q: want one of %v: %w", role, BuyerRoles, ErrBadRequest)
	}
	return s.db.Update(ctx, func(tx *store.Tx) error { return tx.SetAccountRole(account, role) })
}
