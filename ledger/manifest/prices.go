package manifest

import (
	"fmt"
	"slices"
	"time"

	"github.com/tixgate/tixgate/ticket"
)

// KindPrices sets what sellers charge for one event's ticket types when
// they sell offline: body PriceList. A list naming a seller device applies
// to that device alone and replaces, for it, the event's list without a
// seller.
const KindPrices Kind = "prices"

// Limits of one price list.
const (
	MaxPrices     = 256
	MaxOffers     = 64
	maxMinorPrice = 1 << 40 // minor units of one ticket: beyond it a typo
)

// PriceList is the seller price list of one event, signed by central like
// any change. It is the offline part of the box office's prices: one price
// per ticket type in one currency, and the offers a seller may apply
// without asking anyone. The edge turns it into the pricing package's
// catalog and promotions, so a handheld prices as the box office does.
type PriceList struct {
	Event uint64 `json:"event"`
	// Seller is the device name the list is for; empty: every seller.
	Seller string `json:"seller,omitempty"`
	// Currency is the ISO 4217 code of every amount in the list.
	Currency string  `json:"currency"`
	Prices   []Price `json:"prices"`
	Offers   []Offer `json:"offers,omitempty"`
}

// Price is one ticket type's price in minor units of the list's currency.
type Price struct {
	Type   uint64 `json:"type"`
	Amount int64  `json:"amount"`
}

// Offer is a promotion a seller may apply offline: a rate off (basis
// points, 10000 = 100%) or an amount off each ticket, automatic or behind a
// code, from a number of tickets, for some types, in a window.
type Offer struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Code        string    `json:"code,omitempty"`
	OffBP       int64     `json:"off_bp,omitempty"`
	Amount      int64     `json:"amount,omitempty"`
	MinQuantity int       `json:"min_quantity,omitempty"`
	Types       []uint64  `json:"types,omitempty"`
	From        time.Time `json:"from,omitzero"`
	Until       time.Time `json:"until,omitzero"`
}

// PriceOf is the list's price of a type.
func (p *PriceList) PriceOf(typ uint64) (int64, bool) {
	for _, x := range p.Prices {
		if x.Type == typ {
			return x.Amount, true
		}
	}
	return 0, false
}

func (p *PriceList) check() error {
	switch {
	case p.Event > ticket.MaxEvent:
		return fmt.Errorf("event id %d is out of range", p.Event)
	case p.Seller != "" && !ticket.ValidName(p.Seller):
		return fmt.Errorf("seller %q is not a valid device name", p.Seller)
	case !ticket.ValidCurrency(p.Currency):
		return fmt.Errorf("currency %q is not an ISO 4217 code", p.Currency)
	case len(p.Prices) == 0 || len(p.Prices) > MaxPrices:
		return fmt.Errorf("a price list holds 1 to %d prices, not %d", MaxPrices, len(p.Prices))
	case len(p.Offers) > MaxOffers:
		return fmt.Errorf("a price list holds at most %d offers", MaxOffers)
	}
	seen := map[uint64]bool{}
	for _, x := range p.Prices {
		switch {
		case x.Type > ticket.MaxType:
			return fmt.Errorf("ticket type %d is out of range", x.Type)
		case seen[x.Type]:
			return fmt.Errorf("ticket type %d is priced twice", x.Type)
		case x.Amount < 0 || x.Amount > maxMinorPrice:
			return fmt.Errorf("ticket type %d: price %d is out of range", x.Type, x.Amount)
		}
		seen[x.Type] = true
	}
	ids := map[string]bool{}
	for _, o := range p.Offers {
		switch {
		case o.ID == "" || len(o.ID) > MaxNameLen || ids[o.ID]:
			return fmt.Errorf("offer id %q is empty, too long or repeated", o.ID)
		case len(o.Name) > MaxNameLen || len(o.Code) > MaxNameLen:
			return fmt.Errorf("offer %s: name or code too long", o.ID)
		case (o.OffBP == 0) == (o.Amount == 0):
			return fmt.Errorf("offer %s: needs exactly one of off_bp and amount", o.ID)
		case o.OffBP < 0 || o.OffBP > 10000 || o.Amount < 0 || o.Amount > maxMinorPrice:
			return fmt.Errorf("offer %s: discount out of range", o.ID)
		case o.MinQuantity < 0:
			return fmt.Errorf("offer %s: negative minimum quantity", o.ID)
		case !o.From.IsZero() && !o.Until.IsZero() && !o.Until.After(o.From):
			return fmt.Errorf("offer %s: ends before it starts", o.ID)
		}
		for _, t := range o.Types {
			if !slices.ContainsFunc(p.Prices, func(x Price) bool { return x.Type == t }) {
				return fmt.Errorf("offer %s: ticket type %d has no price in the list", o.ID, t)
			}
		}
		ids[o.ID] = true
	}
	return nil
}
