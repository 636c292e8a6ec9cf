package invoice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tixgate/tixgate/central/pdftext"
	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/pricing"
	"github.com/tixgate/tixgate/ticket"
)

// Config is what the invoicing needs.
type Config struct {
	Store *store.DB
	// Fonts draw the PDFs; zero: pdftext.DefaultFonts.
	Fonts pdftext.Fonts
	// EInvoice issues e-invoices (China's 数电票) when a buyer asks; nil
	// offers none.
	EInvoice Provider
	// CounterMethods are the payment methods whose money goes back at the
	// counter, not through a provider: cancelling an order paid so is its
	// refund, and gets a credit note. A provider's refunds are its
	// transactions (pay_transactions), each with its own credit note.
	CounterMethods []string
	Clock          ticket.Clock
	Logger         *slog.Logger
}

// DefaultConfig invoices from db: the box office's and the test
// provider's payments are refunded at the counter.
func DefaultConfig(db *store.DB) Config {
	return Config{Store: db, CounterMethods: []string{shop.MethodTest, shop.MethodBoxOffice}, Clock: ticket.SystemClock{}, Logger: slog.Default()}
}

// Issuer issues invoices and credit notes.
type Issuer struct {
	cfg   Config
	db    *store.DB
	fonts *pdftext.Loader
	log   *slog.Logger
	// queue carries the orders the shop's hook told of to Sweep, while
	// it runs (sweeping): then a payment does not wait for its invoice.
	queue    chan int64
	sweeping atomic.Bool
}

// New is an issuer.
func New(cfg Config) *Issuer {
	if cfg.Clock == nil {
		cfg.Clock = ticket.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Issuer{cfg: cfg, db: cfg.Store, fonts: pdftext.NewLoader(cfg.Fonts), log: cfg.Logger, queue: make(chan int64, 4096)}
}

// ErrNotInvoiced is an order nothing was invoiced for (not paid).
var ErrNotInvoiced = errors.New("not invoiced")

// Settled is the shop's hook (shop.Config.Settled): an order was paid or
// cancelled. While Sweep runs it hands the order to it and returns at
// once (a payment notification's batch does not wait for invoices; a full
// queue drops it, and the sweep's scan finds it); otherwise it issues
// what the order lacks before it returns. A failure is logged, and Sweep
// issues it later.
func (is *Issuer) Settled(ctx context.Context, order int64) {
	if is.sweeping.Load() {
		select {
		case is.queue <- order:
		default:
		}
		return
	}
	if _, err := is.Ensure(ctx, order); err != nil {
		is.log.Warn("invoice: not issued yet; the sweep retries", "order", order, "err", err)
	}
}

// Ensure issues what an order lacks and returns its invoice and credit
// notes: the invoice once it was paid, a credit note for each refund of
// its payment, and one for the rest when an order paid at the counter is
// cancelled; then the e-invoices a credit note reverses. It is
// idempotent and safe to run from several processes at once: each
// document has a source that is unique in the store, so a second run
// issues nothing and takes no number.
func (is *Issuer) Ensure(ctx context.Context, order int64) ([]store.Invoice, error) {
	o, err := is.db.Order(ctx, order)
	if err != nil {
		return nil, err
	}
	if o.PaidAt.IsZero() || o.Total <= 0 {
		return nil, nil // not paid, or nothing sold (a sponsor's complimentary tickets)
	}
	docs, err := is.db.OrderInvoices(ctx, order)
	if err != nil {
		return nil, err
	}
	inv, ok := find(docs, "order:"+strconv.FormatInt(order, 10))
	if !ok {
		if inv, err = is.issueInvoice(ctx, o); err != nil {
			return nil, err
		}
		docs = append(docs, inv)
	}
	txs, err := is.db.PayTransactions(ctx, order)
	if err != nil {
		return nil, err
	}
	for _, t := range txs {
		if t.Kind != store.PayRefund || strings.HasPrefix(t.Reference, "dup-") || strings.HasPrefix(t.Reference, "late-") {
			continue // a second or late payment sent back: no invoice counted it
		}
		src := "refund:" + strconv.FormatInt(t.ID, 10)
		if _, ok := find(docs, src); ok {
			continue
		}
		if t.Currency != inv.Currency {
			return docs, fmt.Errorf("order %d: refund %d in %s of an invoice in %s", order, t.ID, t.Currency, inv.Currency)
		}
		cn, err := is.issueCredit(ctx, inv, docs, src, t.ID, t.Amount)
		if err != nil {
			return docs, err
		}
		docs = append(docs, cn)
	}
	if o.Status == shop.StatusCancelled && contains(is.cfg.CounterMethods, o.Method) {
		src := "cancel:" + strconv.FormatInt(order, 10)
		if _, ok := find(docs, src); !ok {
			if left := creditable(inv, docs); left > 0 {
				cn, err := is.issueCredit(ctx, inv, docs, src, 0, left)
				if err != nil {
					return docs, err
				}
				docs = append(docs, cn)
			}
		}
	}
	if err := is.reverseEInvoices(ctx, order, docs); err != nil {
		return docs, err
	}
	return docs, nil
}

func find(docs []store.Invoice, source string) (store.Invoice, bool) {
	for _, d := range docs {
		if d.Source == source {
			return d, true
		}
	}
	return store.Invoice{}, false
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

// creditable is what of an invoice no credit note credited yet.
func creditable(inv store.Invoice, docs []store.Invoice) int64 {
	left := inv.Total
	for _, d := range docs {
		if d.Kind == store.CreditNoteKind && d.Original == inv.ID {
			left += d.Total // negative
		}
	}
	return left
}

// seller is an order's organizer and its settings.
func (is *Issuer) seller(ctx context.Context, o store.ShopOrder) (store.Event, store.InvoiceSettings, error) {
	ev, err := is.db.Event(ctx, o.Event)
	if err != nil {
		return ev, store.InvoiceSettings{}, err
	}
	v, err := is.db.Venue(ctx, ev.Venue)
	if err != nil {
		return ev, store.InvoiceSettings{}, err
	}
	set, err := is.db.InvoiceSettings(ctx, v.Organizer)
	return ev, set, err
}

// series is a document's sequence: its prefix and the year it is issued
// in, in the event's time zone (the organizer's books).
func series(prefix string, at time.Time, tz string) string {
	if loc, err := time.LoadLocation(tz); err == nil && tz != "" {
		at = at.In(loc)
	}
	return fmt.Sprintf("%s-%d", prefix, at.Year())
}

// Language is the language a buyer's documents are in: the profile's,
// else Chinese for yuan and English for the rest.
func Language(a store.Account, currency string) string {
	switch a.Language {
	case "zh", "en":
		return a.Language
	}
	if currency == "CNY" {
		return "zh"
	}
	return "en"
}

func (is *Issuer) issueInvoice(ctx context.Context, o store.ShopOrder) (store.Invoice, error) {
	ev, set, err := is.seller(ctx, o)
	if err != nil {
		return store.Invoice{}, err
	}
	buyer, err := is.db.Account(ctx, o.Account)
	if err != nil {
		return store.Invoice{}, err
	}
	title, taxID := buyerTitle(buyer), ""
	if t, err := is.db.InvoiceTitle(ctx, o.Account); err == nil {
		title, taxID = t.Title, t.TaxID
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.Invoice{}, err
	}
	lines, sub, disc, err := is.lines(ctx, o)
	if err != nil {
		return store.Invoice{}, err
	}
	now := is.cfg.Clock.Now()
	inv := store.Invoice{Kind: store.InvoiceKind, Source: "order:" + strconv.FormatInt(o.ID, 10), Organizer: set.Organizer,
		Series: series(set.InvoicePrefix, now, ev.TimeZone), Order: o.ID, Account: o.Account, Currency: o.Currency,
		Subtotal: sub, Discount: disc, Total: o.Total, Tax: taxIn(o.Total, set.TaxRate), TaxRate: set.TaxRate,
		Seller:     store.Seller{Name: set.SellerName, TaxID: set.SellerTaxID, Address: set.SellerAddress},
		BuyerTitle: title, BuyerTaxID: taxID, Language: Language(buyer, o.Currency), Lines: lines, Issued: now}
	got, fresh, err := is.db.IssueInvoice(ctx, inv)
	if err == nil && fresh {
		is.log.Info("invoice issued", "order", o.ID, "number", got.Number, "total", got.Total, "currency", got.Currency)
	}
	return got, err
}

// buyerTitle is the title of a buyer who set none: their name, else how
// they log in.
func buyerTitle(a store.Account) string {
	switch {
	case a.Name != "":
		return a.Name
	case a.Email != "":
		return a.Email
	}
	return a.Phone
}

// lines are an order's invoice lines from the pricing package's
// quotation the order was priced with: a line per ticket type with its
// unit price, quantity, discounts and total.
func (is *Issuer) lines(ctx context.Context, o store.ShopOrder) ([]store.InvoiceLine, int64, int64, error) {
	var q pricing.Quotation
	if err := json.Unmarshal(o.Quote, &q); err != nil {
		return nil, 0, 0, fmt.Errorf("order %d: quotation: %w", o.ID, err)
	}
	names := map[uint64]string{}
	if tts, err := is.db.TicketTypes(ctx, o.Event); err == nil {
		for _, t := range tts {
			names[t.ID] = t.Name
		}
	}
	var out []store.InvoiceLine
	var sub, disc, total int64
	for _, l := range q.Lines {
		name := names[uint64(l.Type)]
		if name == "" {
			name = l.Name
		}
		d := int64(0)
		for _, x := range l.Discounts {
			d += x.Amount.Minor()
		}
		out = append(out, store.InvoiceLine{Name: name, Quantity: l.Quantity, Unit: l.Unit.Minor(), Discount: d, Total: l.Total.Minor()})
		sub += l.Subtotal.Minor()
		disc += d
		total += l.Total.Minor()
	}
	if total != o.Total {
		// An order-wide discount the lines do not carry: its own line, so
		// the lines add up to what was paid.
		out = append(out, store.InvoiceLine{Name: "Discount / 优惠", Quantity: 1, Unit: o.Total - total, Total: o.Total - total})
		disc += total - o.Total
	}
	return out, sub, disc, nil
}

// taxIn is the tax a total includes at rate basis points, rounded half
// up to a minor unit.
func taxIn(total int64, rate int) int64 {
	if rate <= 0 {
		return 0
	}
	n, d := total*int64(rate), int64(10000+rate)
	if n < 0 {
		return -((-n + d/2) / d)
	}
	return (n + d/2) / d
}

// issueCredit issues a credit note of amount (positive, minor units)
// against inv: the invoice's lines negated when it credits all that is
// left, else one line for the refund.
func (is *Issuer) issueCredit(ctx context.Context, inv store.Invoice, docs []store.Invoice, source string, refundTx, amount int64) (store.Invoice, error) {
	left := creditable(inv, docs)
	if amount > left {
		return store.Invoice{}, fmt.Errorf("order %d: a refund of %d when %d is left of invoice %s", inv.Order, amount, left, inv.Number)
	}
	o, err := is.db.Order(ctx, inv.Order)
	if err != nil {
		return store.Invoice{}, err
	}
	ev, set, err := is.seller(ctx, o)
	if err != nil {
		return store.Invoice{}, err
	}
	var lines []store.InvoiceLine
	sub, disc := -amount, int64(0)
	if amount == inv.Total {
		for _, l := range inv.Lines {
			lines = append(lines, store.InvoiceLine{Name: l.Name, Quantity: -l.Quantity, Unit: l.Unit, Discount: -l.Discount, Total: -l.Total})
		}
		sub, disc = -inv.Subtotal, -inv.Discount
	} else {
		lines = []store.InvoiceLine{{Name: "Refund / 退款 " + inv.Number, Quantity: 1, Unit: -amount, Total: -amount}}
	}
	now := is.cfg.Clock.Now()
	cn := store.Invoice{Kind: store.CreditNoteKind, Source: source, Organizer: inv.Organizer, Series: series(set.CreditPrefix, now, ev.TimeZone),
		Order: inv.Order, RefundTx: refundTx, Original: inv.ID, Account: inv.Account, Currency: inv.Currency,
		Subtotal: sub, Discount: disc, Total: -amount, Tax: taxIn(-amount, inv.TaxRate), TaxRate: inv.TaxRate, Seller: inv.Seller,
		BuyerTitle: inv.BuyerTitle, BuyerTaxID: inv.BuyerTaxID, Language: inv.Language, Lines: lines, Issued: now}
	got, fresh, err := is.db.IssueInvoice(ctx, cn)
	if err == nil && fresh {
		is.log.Info("credit note issued", "order", inv.Order, "number", got.Number, "invoice", inv.Number, "total", got.Total)
	}
	return got, err
}

// IssueDue issues what up to limit orders lack and returns how many it
// looked at.
func (is *Issuer) IssueDue(ctx context.Context, limit int) int {
	ids, err := is.db.InvoiceTodo(ctx, is.cfg.CounterMethods, limit)
	if err != nil {
		is.log.Warn("invoice: orders to invoice", "err", err)
		return 0
	}
	for _, id := range ids {
		if _, err := is.Ensure(ctx, id); err != nil {
			is.log.Warn("invoice: not issued", "order", id, "err", err)
		}
	}
	return len(ids)
}

// Sweep issues, every interval until ctx ends, what the hook did not:
// after a crash between a payment's commit and its invoice, a refund
// recorded by the payment layer, a failure. Nothing is missed, since it
// reads what is stored, and nothing is issued twice (see Ensure).
// It also issues, at once, what the shop's hook hands it.
func (is *Issuer) Sweep(ctx context.Context, every time.Duration) {
	is.sweeping.Store(true)
	defer is.sweeping.Store(false)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		is.IssueDue(ctx, 256)
	wait:
		for {
			select {
			case <-ctx.Done():
				return
			case id := <-is.queue:
				if _, err := is.Ensure(ctx, id); err != nil {
					is.log.Warn("invoice: not issued yet; the sweep retries", "order", id, "err", err)
				}
			case <-t.C:
				break wait
			}
		}
	}
}

// Documents are an order's invoice and credit notes as issued, with
// their e-invoices, issuing what is due first.
func (is *Issuer) Documents(ctx context.Context, order int64) ([]store.Invoice, map[int64]store.EInvoice, error) {
	docs, err := is.Ensure(ctx, order)
	if err != nil {
		is.log.Warn("invoice: documents of an order", "order", order, "err", err)
		if docs, err = is.db.OrderInvoices(ctx, order); err != nil {
			return nil, nil, err
		}
	}
	e, err := is.db.OrderEInvoices(ctx, order)
	return docs, e, err
}

// Title is a buyer's invoice title, or their name when none is set.
func (is *Issuer) Title(ctx context.Context, buyer store.Account) (store.InvoiceTitle, error) {
	t, err := is.db.InvoiceTitle(ctx, buyer.ID)
	if errors.Is(err, store.ErrNotFound) {
		return store.InvoiceTitle{Account: buyer.ID, Title: buyerTitle(buyer)}, nil
	}
	return t, err
}

// ErrBadTitle and ErrBadTaxID are an invoice title and a tax number
// refused.
var (
	ErrBadTitle = errors.New("bad invoice title")
	ErrBadTaxID = errors.New("bad tax number")
)

// SetTitle checks and stores a buyer's invoice title (1 to 100
// characters) and tax number ("" for a person, else an 18-character
// unified social credit code with a valid check character).
func (is *Issuer) SetTitle(ctx context.Context, buyer int64, title, taxID string) error {
	title, taxID = strings.TrimSpace(title), strings.ToUpper(strings.TrimSpace(taxID))
	if n := len([]rune(title)); n == 0 || n > 100 || strings.ContainsAny(title, "\r\n\t") {
		return fmt.Errorf("invoice title: want 1 to 100 characters on one line: %w", ErrBadTitle)
	}
	if taxID != "" && !ValidTaxID(taxID) {
		return fmt.Errorf("tax number %q: want an 18-character unified social credit code: %w", taxID, ErrBadTaxID)
	}
	return is.db.Update(ctx, func(tx *store.Tx) error {
		return tx.PutInvoiceTitle(store.InvoiceTitle{Account: buyer, Title: title, TaxID: taxID, Updated: is.cfg.Clock.Now()})
	})
}

// creditCodeChars are the characters of a unified social credit code
// (GB 32100-2015): digits and capitals without I, O, S, V, Z.
const creditCodeChars = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// ValidTaxID reports whether s is a unified social credit code (统一社会
// 信用代码, the tax number of a Chinese company) with its check character
// right.
func ValidTaxID(s string) bool {
	if len(s) != 18 {
		return false
	}
	weights := [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}
	sum := 0
	for i := 0; i < 17; i++ {
		v := strings.IndexByte(creditCodeChars, s[i])
		if v < 0 {
			return false
		}
		sum += v * weights[i]
	}
	c := (31 - sum%31) % 31
	return s[17] == creditCodeChars[c]
}

var prefixRE = regexp.MustCompile(`^[A-Z][A-Z0-9]{0,11}$`)

// PutSettings checks and stores how an organizer invoices: prefixes of 1
// to 12 capitals and digits (a letter first), different for the two
// series; a tax rate from 0 to 100% (basis points).
func (is *Issuer) PutSettings(ctx context.Context, s store.InvoiceSettings) error {
	if s.Organizer == "" {
		return errors.New("invoice settings: no organizer")
	}
	if !prefixRE.MatchString(s.InvoicePrefix) || !prefixRE.MatchString(s.CreditPrefix) || s.InvoicePrefix == s.CreditPrefix {
		return fmt.Errorf("invoice settings of %s: prefixes %q and %q: want two different ones of 1 to 12 capitals and digits", s.Organizer, s.InvoicePrefix, s.CreditPrefix)
	}
	if s.TaxRate < 0 || s.TaxRate > 10000 {
		return fmt.Errorf("invoice settings of %s: tax rate %d basis points: want 0 to 10000", s.Organizer, s.TaxRate)
	}
	for _, f := range []string{s.SellerName, s.SellerTaxID, s.SellerAddress} {
		if len(f) > 200 || strings.ContainsAny(f, "\r\n") {
			return fmt.Errorf("invoice settings of %s: seller fields: one line of at most 200 bytes each", s.Organizer)
		}
	}
	return is.db.Update(ctx, func(tx *store.Tx) error { return tx.PutInvoiceSettings(s) })
}
