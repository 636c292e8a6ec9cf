package pay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ticket"
)

// Config is what payments need.
type Config struct {
	Store *store.DB
	Shop  *shop.Shop
	// Providers are the providers buyers may pay with, by Name.
	Providers []Provider
	// Batch is how many orders of concurrent notifications are paid in
	// one transaction at most: larger batches share a commit among more
	// notifications, but one failing write redoes more work and the
	// first of a batch waits for the last.
	Batch  int
	Clock  ticket.Clock
	Logger *slog.Logger
}

// Payments takes the money of the box office's orders.
type Payments struct {
	cfg       Config
	db        *store.DB
	shop      *shop.Shop
	log       *slog.Logger
	providers map[string]Provider
	// locks serialises the settling of one order in this process, so
	// that two notifications of one order do not both refund or pay it
	// (the database's claim decides which payment wins; this keeps the
	// loser's refund from racing the winner's pay).
	locks [64]sync.Mutex
	batch batcher
}

// New makes payments over cfg's store, box office and providers.
func New(cfg Config) *Payments {
	if cfg.Clock == nil {
		cfg.Clock = ticket.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 64
	}
	p := &Payments{cfg: cfg, db: cfg.Store, shop: cfg.Shop, log: cfg.Logger, providers: map[string]Provider{},
		batch: batcher{shop: cfg.Shop, max: cfg.Batch}}
	for _, pr := range cfg.Providers {
		p.providers[pr.Name()] = pr
	}
	return p
}

// Provider returns a configured provider by name.
func (p *Payments) Provider(name string) (Provider, bool) {
	pr, ok := p.providers[name]
	return pr, ok
}

// intentKey is an order's payment key with a provider: one per order and
// provider, so asking twice is one payment at the provider.
func intentKey(order int64, provider string) string {
	return fmt.Sprintf("tg%d-%s", order, provider)
}

// Start asks a provider for the payment of a pending order and returns
// what the buyer's browser does next. Asking again for the same order and
// provider is the same payment.
func (p *Payments) Start(ctx context.Context, order int64, provider string, b Browser, openID string) (Action, error) {
	pr, ok := p.providers[provider]
	if !ok {
		return Action{}, fmt.Errorf("payment provider %q is not configured: %w", provider, ErrBadRequest)
	}
	o, _, err := p.shop.Order(ctx, order)
	if err != nil {
		return Action{}, err
	}
	if o.Status != shop.StatusPending {
		return Action{}, fmt.Errorf("order %d is %s, not pending_payment: %w", order, o.Status, shop.ErrState)
	}
	var in store.PayIntent
	err = p.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		in, err = tx.AddPayIntent(store.PayIntent{Key: intentKey(order, provider), Order: order, Account: o.Account, Provider: provider,
			Amount: o.Total, Currency: o.Currency, Created: p.cfg.Clock.Now()})
		return err
	})
	if err != nil {
		return Action{}, fmt.Errorf("start payment of order %d: %w", order, err)
	}
	if in.Amount != o.Total || in.Currency != o.Currency {
		return Action{}, fmt.Errorf("order %d: its payment was asked for %d %s, the order is %d %s: %w", order, in.Amount, in.Currency, o.Total, o.Currency, shop.ErrState)
	}
	a, err := pr.Create(ctx, Payment{Key: in.Key, Order: order, Amount: Money{in.Amount, in.Currency},
		Subject: fmt.Sprintf("tixgate order %d", order), Browser: b, OpenID: openID, Expires: o.Expires})
	if err != nil {
		return Action{}, fmt.Errorf("start payment of order %d with %s: %w", order, provider, err)
	}
	return a, nil
}

// Notify takes a provider's notification from r: verified, then applied.
// The error says why it was not taken; the provider sends it again later
// unless it was forged or mismatched.
func (p *Payments) Notify(ctx context.Context, provider string, r *http.Request) error {
	pr, ok := p.providers[provider]
	if !ok {
		return fmt.Errorf("payment provider %q is not configured: %w", provider, ErrNotFound)
	}
	ev, err := pr.Notification(r)
	if err != nil {
		p.log.Warn("payment notification refused", "provider", provider, "remote", r.RemoteAddr, "err", err)
		return err
	}
	return p.Apply(ctx, pr, ev)
}

// Apply applies a verified event. It is idempotent: the same event twice
// changes nothing the second time.
func (p *Payments) Apply(ctx context.Context, pr Provider, ev Event) error {
	switch ev.Kind {
	case EventPayment:
	case EventRefund:
		return p.applyRefund(ctx, pr, ev)
	default:
		p.log.Info("payment notification taken, nothing to do", "provider", pr.Name(), "key", ev.Key, "status", ev.Status)
		return nil
	}
	in, err := p.db.PayIntent(ctx, ev.Key)
	if errors.Is(err, store.ErrNotFound) {
		p.log.Warn("payment notification for an unknown payment", "provider", pr.Name(), "key", ev.Key, "reference", ev.Reference)
		return fmt.Errorf("payment %q: %w", ev.Key, ErrUnknown)
	}
	if err != nil {
		return err
	}
	if in.Provider != pr.Name() || ev.Amount.Amount != in.Amount || ev.Amount.Currency != in.Currency {
		p.log.Warn("payment notification does not match its payment", "provider", pr.Name(), "key", ev.Key, "reference", ev.Reference,
			"paid", ev.Amount.String(), "want", Money{in.Amount, in.Currency}.String(), "want_provider", in.Provider)
		return fmt.Errorf("payment %s: paid %s with %s, asked for %s with %s: %w", ev.Key, ev.Amount, pr.Name(), Money{in.Amount, in.Currency}, in.Provider, ErrMismatch)
	}
	if done, err := p.db.PaidByClaim(ctx, in.Order, pr.Name(), ev.Reference); err != nil {
		return err
	} else if done {
		p.log.Info("payment notification replayed", "provider", pr.Name(), "key", ev.Key, "reference", ev.Reference)
		return nil
	}
	mu := &p.locks[in.Order%int64(len(p.locks))]
	mu.Lock()
	defer mu.Unlock()
	// The payment is recorded, claims its order and pays it in one
	// transaction, shared with the other notifications of the moment.
	var fresh, won bool
	record := func(tx *store.Tx) (bool, error) {
		var err error
		fresh, err = tx.AddPayTransaction(store.PayTransaction{Kind: store.PayPayment, Provider: pr.Name(), Reference: ev.Reference,
			Intent: in.Key, Order: in.Order, Account: in.Account, Amount: ev.Amount.Amount, Currency: ev.Amount.Currency,
			At: p.at(ev), BuyerRef: ev.Buyer})
		if err != nil {
			return false, err
		}
		winProvider, winRef, err := tx.ClaimOrder(in.Order, pr.Name(), ev.Reference, p.cfg.Clock.Now())
		won = winProvider == pr.Name() && winRef == ev.Reference
		return won, err
	}
	err = p.batch.pay(ctx, in.Order, pr.Name(), record)
	if err != nil && !errors.Is(err, shop.ErrExpired) && !errors.Is(err, shop.ErrState) {
		return fmt.Errorf("record payment %s/%s: %w", pr.Name(), ev.Reference, err)
	}
	if !fresh {
		p.log.Info("payment notification replayed", "provider", pr.Name(), "key", ev.Key, "reference", ev.Reference)
	}
	pay := refundable{provider: pr, intent: in, reference: ev.Reference, amount: ev.Amount}
	if !won {
		return p.refundWhole(ctx, pay, "dup-", "a second payment of an order paid already")
	}
	if err == nil {
		if fresh {
			p.log.Info("order paid", "order", in.Order, "provider", pr.Name(), "reference", ev.Reference)
		}
		return nil
	}
	return p.settle(ctx, pay)
}

func (p *Payments) at(ev Event) time.Time {
	if ev.At.IsZero() {
		return p.cfg.Clock.Now()
	}
	return ev.At
}

// refundable is a payment that may have to go back.
type refundable struct {
	provider  Provider
	intent    store.PayIntent
	reference string
	amount    Money
}

// settle makes the order of the payment that claimed it paid. It pays
// first and asks after: the order is pending in all but the odd case.
func (p *Payments) settle(ctx context.Context, pay refundable) error { return p.settleTry(ctx, pay, 0) }

func (p *Payments) settleTry(ctx context.Context, pay refundable, try int) error {
	id := pay.intent.Order
	if try == 4 {
		// Each try lost a race (an expiry, a revival): the payment stays
		// recorded and claimed, and the provider's next notification
		// settles it.
		return fmt.Errorf("pay order %d: it kept changing under the payment", id)
	}
	err := p.batch.pay(ctx, id, pay.provider.Name(), nil)
	if err == nil {
		p.log.Info("order paid", "order", id, "provider", pay.provider.Name(), "reference", pay.reference)
		return nil
	}
	if !errors.Is(err, shop.ErrExpired) && !errors.Is(err, shop.ErrState) {
		return fmt.Errorf("pay order %d: %w", id, err)
	}
	o, _, err := p.shop.Order(ctx, id)
	if err != nil {
		return err
	}
	switch o.Status {
	case shop.StatusPaid:
		if o.Method == pay.provider.Name() {
			return nil // by this payment: only a claim's payment pays by a provider
		}
		return p.refundWhole(ctx, pay, "late-", "the order was paid otherwise ("+o.Method+") before this payment arrived")
	case shop.StatusCancelled:
		return p.refundWhole(ctx, pay, "late-", "the order was cancelled before its payment arrived")
	case shop.StatusExpired:
		err := p.shop.Revive(ctx, id)
		if errors.Is(err, shop.ErrSoldOut) {
			return p.refundWhole(ctx, pay, "late-", "the order's hold ran out and its tickets sold out before its payment arrived")
		}
		if err != nil && !errors.Is(err, shop.ErrState) {
			return fmt.Errorf("late payment of order %d: %w", id, err)
		}
		p.log.Info("late payment accepted: the order's stock was held again", "order", id, "provider", pay.provider.Name())
	}
	return p.settleTry(ctx, pay, try+1)
}

// refundWhole refunds a payment in full once: its refund's key is made of
// prefix and the payment's reference, so telling it again refunds nothing
// more.
func (p *Payments) refundWhole(ctx context.Context, pay refundable, prefix, why string) error {
	key := refundKey(prefix, pay.reference)
	p.log.Warn("payment refunded", "order", pay.intent.Order, "provider", pay.provider.Name(), "reference", pay.reference, "why", why)
	return p.refund(ctx, pay, key, pay.amount, why)
}

var refundKeyChars = regexp.MustCompile(`[^0-9A-Za-z_-]`)

// refundKey is a refund request number of at most 64 of [0-9A-Za-z_-].
func refundKey(prefix, ref string) string {
	k := prefix + refundKeyChars.ReplaceAllString(ref, "_")
	if len(k) > 64 {
		k = k[:64]
	}
	return k
}

// refund sends amount of a payment back under key and records it; a key
// recorded already sends nothing.
func (p *Payments) refund(ctx context.Context, pay refundable, key string, amount Money, why string) error {
	txs, err := p.db.PayTransactions(ctx, pay.intent.Order)
	if err != nil {
		return err
	}
	for _, t := range txs {
		if t.Kind == store.PayRefund && t.Provider == pay.provider.Name() && t.Reference == key {
			return nil
		}
	}
	got, err := pay.provider.Refund(ctx, Refund{Key: key, Payment: pay.intent.Key, Reference: pay.reference, Amount: amount, Paid: pay.amount, Reason: why})
	if err != nil {
		return fmt.Errorf("refund %s of %s/%s: %w", amount, pay.provider.Name(), pay.reference, err)
	}
	o, err := p.db.Order(ctx, pay.intent.Order)
	if err != nil {
		return err
	}
	return p.db.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.AddPayTransaction(store.PayTransaction{Kind: store.PayRefund, Provider: pay.provider.Name(), Reference: key,
			Intent: pay.intent.Key, Order: pay.intent.Order, Account: o.Account, Amount: amount.Amount, Currency: amount.Currency,
			At: p.cfg.Clock.Now(), Note: joinNote(why, got.Reference, key)})
		return err
	})
}

func joinNote(why, providerRef, key string) string {
	if providerRef == "" || providerRef == key {
		return why
	}
	return why + " (provider refund " + providerRef + ")"
}

// applyRefund records a refund a provider tells of that central did not
// ask for (one made in the provider's dashboard); one central asked for
// is recorded already under the same reference and changes nothing.
func (p *Payments) applyRefund(ctx context.Context, pr Provider, ev Event) error {
	in, err := p.db.PayIntent(ctx, ev.Key)
	if errors.Is(err, store.ErrNotFound) {
		p.log.Warn("refund notification for an unknown payment", "provider", pr.Name(), "key", ev.Key, "reference", ev.Reference)
		return fmt.Errorf("payment %q: %w", ev.Key, ErrUnknown)
	}
	if err != nil {
		return err
	}
	if in.Provider != pr.Name() || ev.Amount.Currency != in.Currency || ev.Amount.Amount > in.Amount {
		p.log.Warn("refund notification does not match its payment", "provider", pr.Name(), "key", ev.Key, "refunded", ev.Amount.String())
		return fmt.Errorf("refund %s of %s: %w", ev.Reference, ev.Key, ErrMismatch)
	}
	o, err := p.db.Order(ctx, in.Order)
	if err != nil {
		return err
	}
	return p.db.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.AddPayTransaction(store.PayTransaction{Kind: store.PayRefund, Provider: pr.Name(), Reference: ev.Reference,
			Intent: in.Key, Order: in.Order, Account: o.Account, Amount: ev.Amount.Amount, Currency: ev.Amount.Currency,
			At: p.at(ev), Note: "told by the provider"})
		return err
	})
}

// RefundOrder sends amount (minor units; 0: all that is left) of an
// order's payment back, under an idempotency key (the same key twice is
// one refund). An order refunded in full is cancelled: its tickets are
// revoked at the gates and their stock returns.
func (p *Payments) RefundOrder(ctx context.Context, order int64, amount int64, key, reason string) (Money, error) {
	return p.refundOrder(ctx, order, amount, key, reason, true)
}

// RefundMoney sends amount (minor units) of an order's payment back under
// key and leaves the order as it is: the shop's refunds of single tickets
// revoke those tickets themselves (shop.Refunder).
func (p *Payments) RefundMoney(ctx context.Context, order int64, amount int64, key, reason string) error {
	if amount <= 0 {
		return fmt.Errorf("refund amount %d: want a positive amount in minor units: %w", amount, ErrBadRequest)
	}
	_, err := p.refundOrder(ctx, order, amount, key, reason, false)
	return err
}

var _ shop.Refunder = (*Payments)(nil)

func (p *Payments) refundOrder(ctx context.Context, order int64, amount int64, key, reason string, cancel bool) (Money, error) {
	if !validKey(key) {
		return Money{}, fmt.Errorf("refund key %q: want 1 to 48 of 0-9 A-Z a-z _ -: %w", key, ErrBadRequest)
	}
	if amount < 0 {
		return Money{}, fmt.Errorf("refund amount %d: want a positive amount in minor units: %w", amount, ErrBadRequest)
	}
	txs, err := p.db.PayTransactions(ctx, order)
	if err != nil {
		return Money{}, err
	}
	claimProvider, claimRef, err := p.db.PayClaim(ctx, order)
	if errors.Is(err, store.ErrNotFound) {
		return Money{}, fmt.Errorf("order %d has no payment through a provider: %w", order, ErrNotFound)
	}
	if err != nil {
		return Money{}, err
	}
	var paid *store.PayTransaction
	for i, t := range txs {
		if t.Kind == store.PayPayment && t.Provider == claimProvider && t.Reference == claimRef {
			paid = &txs[i]
		}
	}
	if paid == nil {
		return Money{}, fmt.Errorf("order %d: its payment %s/%s is not recorded: %w", order, claimProvider, claimRef, ErrNotFound)
	}
	var refunded int64
	for _, t := range txs {
		if t.Kind != store.PayRefund || t.Provider != paid.Provider || t.Intent != paid.Intent || strings.HasPrefix(t.Reference, "dup-") {
			continue
		}
		if t.Reference == "r-"+key {
			return Money{t.Amount, t.Currency}, nil // told again
		}
		refunded += t.Amount
	}
	left := paid.Amount - refunded
	if amount == 0 {
		amount = left
	}
	if amount == 0 || amount > left {
		return Money{}, fmt.Errorf("order %d: refund of %d: %d %s is left to refund: %w", order, amount, left, paid.Currency, ErrBadRequest)
	}
	pr, ok := p.providers[paid.Provider]
	if !ok {
		return Money{}, fmt.Errorf("order %d was paid with %s, which is not configured: %w", order, paid.Provider, ErrBadRequest)
	}
	in, err := p.db.PayIntent(ctx, paid.Intent)
	if err != nil {
		return Money{}, err
	}
	m := Money{amount, paid.Currency}
	pay := refundable{provider: pr, intent: in, reference: paid.Reference, amount: Money{paid.Amount, paid.Currency}}
	if err := p.refund(ctx, pay, "r-"+key, m, reason); err != nil {
		return Money{}, err
	}
	if amount == left && cancel {
		if o, err := p.db.Order(ctx, order); err == nil && o.Status == shop.StatusPaid {
			if _, err := p.shop.Cancel(ctx, order, "refunded: "+reason); err != nil {
				return m, fmt.Errorf("order %d refunded, but not cancelled: %w", order, err)
			}
		}
	}
	return m, nil
}

var keyChars = regexp.MustCompile(`^[0-9A-Za-z_-]{1,48}$`)

func validKey(k string) bool { return keyChars.MatchString(k) }
