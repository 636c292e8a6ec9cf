// Package settle reconciles central's record of money with the payment
// providers': it reads a provider's daily settlement file (Alipay's
// business-details bill, WeChat Pay's trade bill) into movements, compares
// them with the day's pay_transactions, and stores what disagrees for
// finance to resolve: money the provider moved that central has no record
// of, movements central recorded that the bill lacks, and amounts that
// differ. The service fees the bill charges are recorded as fee
// transactions.
package settle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/tixgate/tixgate/central/store"
)

// Line is one movement of money as a provider's bill reports it.
type Line struct {
	Kind string // store.PayPayment or store.PayRefund
	// Reference is what pay_transactions holds for it: a payment's
	// trade number at the provider, a refund's request number (ours).
	Reference string
	Merchant  string // our order number at the provider (the intent's key)
	Amount    int64  // minor units, positive
	Fee       int64  // the provider's service fee on it, minor units: charged on a payment, returned on a refund
	Currency  string
	At        time.Time
}

// ErrFormat is a settlement file that is not in the provider's format.
var ErrFormat = errors.New("not a settlement file of this provider")

// Parse reads a provider's settlement file.
func Parse(provider string, file []byte) ([]Line, error) {
	switch provider {
	case "alipay":
		return ParseAlipay(file)
	case "wechat":
		return ParseWeChat(file)
	}
	return nil, fmt.Errorf("settlement files of %q: central reads those of alipay and wechat", provider)
}

// Location is the time zone the providers' bills count days in.
var Location = mustLoad("Asia/Shanghai")

func mustLoad(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return l
}

// Result is a run: what it stored, and the items that disagree.
type Result struct {
	Run   store.SettleRun
	Items []store.SettleItem
}

// margin is how far a movement's time at central may be from the
// provider's: central records a payment when its notification arrives,
// seconds after the provider completed it, so a bill's first and last
// minutes can hold what central recorded on the neighbouring day.
const margin = time.Hour

// Reconcile compares lines, a provider's bill of day, with the
// transactions central recorded, stores the run, its items and the fees,
// and returns it. Central's movements of the day not in the bill are
// missing on theirs; one the next day's bill holds is resolved by that
// run.
func Reconcile(ctx context.Context, db *store.DB, provider string, day time.Time, lines []Line, file []byte, source, by string, now time.Time) (Result, error) {
	start := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, Location)
	end := start.AddDate(0, 0, 1)
	ours, err := db.PayTransactionsOf(ctx, provider, start.Add(-margin), end.Add(margin))
	if err != nil {
		return Result{}, err
	}
	open, err := db.OpenSettleReferences(ctx, provider)
	if err != nil {
		return Result{}, err
	}
	sum := sha256.Sum256(file)
	m := Match(ours, lines, start, end)
	run := store.SettleRun{Provider: provider, Day: start.Format(time.DateOnly), At: now, By: by, Source: source,
		FileSHA256: hex.EncodeToString(sum[:]), Lines: int64(len(lines)), Matched: int64(len(m.Matched))}
	for i := range m.Items {
		m.Items[i].Provider, m.Items[i].Day = provider, run.Day
		switch m.Items[i].Status {
		case store.SettleMissingOurs:
			run.MissingOurs++
		case store.SettleMissingTheirs:
			run.MissingTheirs++
		case store.SettleAmountDiffers:
			run.AmountDiffers++
		}
	}
	var settled [][2]string
	var fees []store.PayTransaction
	for _, p := range m.Matched {
		if open[[2]string{p.ours.Kind, p.ours.Reference}] {
			settled = append(settled, [2]string{p.ours.Kind, p.ours.Reference})
		}
		if p.ours.Kind == store.PayPayment && p.line.Fee > 0 {
			run.Fees += p.line.Fee
			fees = append(fees, store.PayTransaction{Kind: store.PayFee, Provider: provider, Reference: p.ours.Reference, Intent: p.ours.Intent,
				Order: p.ours.Order, Account: p.ours.Account, Amount: p.line.Fee, Currency: p.ours.Currency, At: p.line.At,
				Note: "service fee, from the bill of " + run.Day})
		}
	}
	err = db.Update(ctx, func(tx *store.Tx) error {
		id, err := tx.AddSettleRun(run, m.Items, settled)
		if err != nil {
			return err
		}
		run.ID = id
		_, err = tx.AddPayTransactions(fees) // a fee told twice is stored once
		return err
	})
	if err != nil {
		return Result{}, err
	}
	for i := range m.Items {
		m.Items[i].Run = run.ID
	}
	return Result{Run: run, Items: m.Items}, nil
}

// Matching is what Match found.
type Matching struct {
	Matched []Pair
	Items   []store.SettleItem // the movements that disagree
}

// Pair is a movement both sides hold with the same amount.
type Pair struct {
	ours store.PayTransaction
	line Line
}

// Match pairs the bill's lines with central's transactions (payments by
// the provider's trade number, refunds by our request number). A line
// without a transaction is missing on our side, a payment or refund that
// central recorded from start until end without a line is missing on
// theirs, a pair whose amounts or currencies differ is an amount that
// differs. Fees and chargebacks are not in the bills compared.
func Match(ours []store.PayTransaction, lines []Line, start, end time.Time) Matching {
	type key struct{ kind, ref string }
	byKey := make(map[key]int, len(ours))
	for i, t := range ours {
		if t.Kind == store.PayPayment || t.Kind == store.PayRefund {
			byKey[key{t.Kind, t.Reference}] = i
		}
	}
	seen := make([]bool, len(ours))
	var m Matching
	for _, l := range lines {
		i, ok := byKey[key{l.Kind, l.Reference}]
		switch {
		case !ok || seen[i]: // unknown, or a second line for one movement
			m.Items = append(m.Items, store.SettleItem{Status: store.SettleMissingOurs, Kind: l.Kind, Reference: l.Reference,
				TheirAmount: l.Amount, Currency: l.Currency, At: l.At})
			continue
		}
		seen[i] = true
		t := ours[i]
		if t.Amount != l.Amount || t.Currency != l.Currency {
			m.Items = append(m.Items, store.SettleItem{Status: store.SettleAmountDiffers, Kind: l.Kind, Reference: l.Reference, Order: t.Order,
				OurAmount: t.Amount, TheirAmount: l.Amount, Currency: t.Currency, At: l.At})
			continue
		}
		m.Matched = append(m.Matched, Pair{t, l})
	}
	for i, t := range ours {
		if seen[i] || t.Kind != store.PayPayment && t.Kind != store.PayRefund || t.At.Before(start) || !t.At.Before(end) {
			continue
		}
		m.Items = append(m.Items, store.SettleItem{Status: store.SettleMissingTheirs, Kind: t.Kind, Reference: t.Reference, Order: t.Order,
			OurAmount: t.Amount, Currency: t.Currency, At: t.At})
	}
	return m
}
