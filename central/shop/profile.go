package shop

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/tixgate/tixgate/central/store"
)

// ProfileConfig is what the profile asks of a buyer.
type ProfileConfig struct {
	// Wording is the marketing consent's words per language, as shown
	// beside the box; what was shown is recorded with the consent, so
	// change the words rather than edit a record.
	Wording map[string]string
}

// Languages a buyer can choose.
var Languages = []string{"zh", "en"}

// DefaultProfileConfig has the consent's words in Chinese and English.
func DefaultProfileConfig() ProfileConfig {
	return ProfileConfig{Wording: map[string]string{
		"en": "Send me news and offers about events by email and SMS. I can withdraw this at any time in my profile.",
		"zh": "我同意通过电子邮件和短信接收活动资讯与优惠，并可随时在个人资料中撤回。",
	}}
}

// Profile is what a buyer sees of their account (GET me).
type Profile struct {
	ID       int64  `json:"id"`
	Email    string `json:"email,omitempty"`
	Phone    string `json:"phone,omitempty"`
	Role     string `json:"role"`
	Verified bool   `json:"verified"`
	Name     string `json:"name"`
	Contact  string `json:"contact"`
	Address  string `json:"address"`
	Language string `json:"language"`
	// Marketing is the consent in force, and MarketingWording the words
	// to show beside the box in the buyer's language.
	Marketing        ConsentView `json:"marketing"`
	MarketingWording string      `json:"marketing_wording"`
	Created          time.Time   `json:"created"`
}

// ConsentView is a consent as recorded.
type ConsentView struct {
	Granted  bool      `json:"granted"`
	Wording  string    `json:"wording,omitempty"`
	Language string    `json:"language,omitempty"`
	At       time.Time `json:"at,omitzero"`
}

// ProfileChange is PATCH me: the fields sent change, the others stay.
type ProfileChange struct {
	Name     *string `json:"name,omitempty"`
	Contact  *string `json:"contact,omitempty"`
	Address  *string `json:"address,omitempty"`
	Language *string `json:"language,omitempty"`
	// Marketing gives (true) or withdraws (false) the marketing consent,
	// recorded with the time and the words of the buyer's language.
	Marketing *bool `json:"marketing,omitempty"`
}

func (s *Shop) wording(lang string) (string, string) {
	if w, ok := s.cfg.Profile.Wording[lang]; ok {
		return w, lang
	}
	for _, l := range Languages {
		if w, ok := s.cfg.Profile.Wording[l]; ok {
			return w, l
		}
	}
	return "", ""
}

// Profile reads a buyer's profile.
func (s *Shop) Profile(ctx context.Context, account int64) (Profile, error) {
	a, err := s.db.Account(ctx, account)
	if errors.Is(err, store.ErrNotFound) || err == nil && !a.DeletedAt.IsZero() {
		return Profile{}, fmt.Errorf("account %d: %w", account, ErrNotFound)
	}
	if err != nil {
		return Profile{}, err
	}
	cs, err := s.db.Consents(ctx, account)
	if err != nil {
		return Profile{}, err
	}
	p := Profile{ID: a.ID, Email: a.Email, Phone: a.Phone, Role: a.Role, Verified: !a.VerifiedAt.IsZero(), Name: a.Name, Contact: a.Contact,
		Address: a.Address, Language: a.Language, Created: a.Created}
	for _, c := range cs {
		if c.Kind == "marketing" {
			p.Marketing = ConsentView{Granted: c.Granted, Wording: c.Wording, Language: c.Language, At: c.At}
		}
	}
	p.MarketingWording, _ = s.wording(a.Language)
	return p, nil
}

func checkText(field, v string, maxLen int) error {
	if len(v) > maxLen {
		return fmt.Errorf("%s: at most %d bytes: %w", field, maxLen, ErrBadRequest)
	}
	if strings.IndexFunc(v, func(r rune) bool { return unicode.IsControl(r) && r != '\n' }) >= 0 {
		return fmt.Errorf("%s: no control characters: %w", field, ErrBadRequest)
	}
	return nil
}

// UpdateProfile changes what ch sends and records a consent change.
func (s *Shop) UpdateProfile(ctx context.Context, account int64, ch ProfileChange) (Profile, error) {
	p, err := s.Profile(ctx, account)
	if err != nil {
		return p, err
	}
	a := store.Account{ID: account, Name: p.Name, Contact: p.Contact, Address: p.Address, Language: p.Language}
	for _, f := range []struct {
		name string
		in   *string
		out  *string
		max  int
	}{{"name", ch.Name, &a.Name, 128}, {"contact", ch.Contact, &a.Contact, 254}, {"address", ch.Address, &a.Address, 512}} {
		if f.in == nil {
			continue
		}
		v := strings.TrimSpace(*f.in)
		if err := checkText(f.name, v, f.max); err != nil {
			return p, err
		}
		*f.out = v
	}
	if ch.Language != nil {
		if !slices.Contains(Languages, *ch.Language) {
			return p, fmt.Errorf("language %q: want one of %v: %w", *ch.Language, Languages, ErrBadRequest)
		}
		a.Language = *ch.Language
	}
	now := s.now()
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.UpdateProfile(a); err != nil {
			return err
		}
		if ch.Marketing == nil {
			return nil
		}
		w, lang := s.wording(a.Language)
		return tx.AddConsent(store.Consent{Account: account, Kind: "marketing", Granted: *ch.Marketing, Wording: w, Language: lang, At: now})
	})
	if err != nil {
		return p, fmt.Errorf("profile: %w", err)
	}
	return s.Profile(ctx, account)
}

// Export is everything the box office holds about a buyer.
type Export struct {
	Exported    time.Time        `json:"exported"`
	Profile     Profile          `json:"profile"`
	Consents    []ConsentView    `json:"consents"`
	Orders      []OrderView      `json:"orders"`
	Waitlist    []WaitView       `json:"waitlist"`
	Allocations []AllocationView `json:"allocations"`
	Blocked     []BlockedView    `json:"blocked"`
}

// ExportAccount gathers everything held about a buyer, as GDPR and PIPL
// give them the right to have it.
func (s *Shop) ExportAccount(ctx context.Context, account int64) (Export, error) {
	p, err := s.Profile(ctx, account)
	if err != nil {
		return Export{}, err
	}
	ex := Export{Exported: s.now(), Profile: p, Consents: []ConsentView{}, Orders: []OrderView{}}
	cs, err := s.db.Consents(ctx, account)
	if err != nil {
		return ex, err
	}
	for _, c := range cs {
		ex.Consents = append(ex.Consents, ConsentView{Granted: c.Granted, Wording: c.Wording, Language: c.Language, At: c.At})
	}
	ids, err := s.db.AccountOrders(ctx, account)
	if err != nil {
		return ex, err
	}
	for _, id := range ids {
		o, tickets, err := s.Order(ctx, id)
		if err != nil {
			return ex, err
		}
		ex.Orders = append(ex.Orders, view(o, tickets))
	}
	if ex.Waitlist, err = s.Waitlist(ctx, account); err != nil {
		return ex, err
	}
	if ex.Allocations, err = s.Allocations(ctx, account); err != nil {
		return ex, err
	}
	bl, err := s.db.BlockedLog(ctx, store.BlockedFilter{Account: account, Limit: 1000})
	if err != nil {
		return ex, err
	}
	ex.Blocked = make([]BlockedView, len(bl))
	for i, b := range bl {
		ex.Blocked[i] = BlockedView(b)
	}
	return ex, nil
}

// DeleteAccount removes a buyer as GDPR and PIPL require: unpaid orders
// are cancelled (their stock returns), the login, profile, consents,
// sessions and waiting-list places go; paid orders stay for accounting,
// tied to an anonymous account. Tickets already issued keep working (they
// were paid for); the holder name signed into them cannot be unsigned.
func (s *Shop) DeleteAccount(ctx context.Context, account int64) error {
	ids, err := s.db.AccountOrders(ctx, account)
	if err != nil {
		return err
	}
	for _, id := range ids {
		o, _, err := s.Order(ctx, id)
		if err != nil {
			return err
		}
		if o.Status == StatusPending {
			if _, err := s.Cancel(ctx, id, "buyer deleted the account"); err != nil && !errors.Is(err, ErrState) {
				return err
			}
		}
	}
	now := s.now()
	if err := s.db.Update(ctx, func(tx *store.Tx) error { return tx.DeleteAccount(account, now) }); err != nil {
		return err
	}
	s.log.Info("buyer account deleted", "account", account)
	return nil
}

func (s *Shop) apiMe(w http.ResponseWriter, r *http.Request, c caller) {
	p, err := s.Profile(r.Context(), c.account.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Shop) apiPatchMe(w http.ResponseWriter, r *http.Request, c caller) {
	var ch ProfileChange
	if !readJSON(w, r, &ch) {
		return
	}
	p, err := s.UpdateProfile(r.Context(), c.account.ID, ch)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Shop) apiExportMe(w http.ResponseWriter, r *http.Request, c caller) {
	ex, err := s.ExportAccount(r.Context(), c.account.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="tixgate-account.json"`)
	writeJSON(w, http.StatusOK, ex)
}

func (s *Shop) apiDeleteMe(w http.ResponseWriter, r *http.Request, c caller) {
	if err := s.DeleteAccount(r.Context(), c.account.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
