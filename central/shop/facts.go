package shop

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/pricing"
)

// saleFacts records a paid order's tickets for the reports, in the
// transaction that issues them: each at what was paid for it after
// discounts (the quote's tickets of its type, in order), sold online, or
// at the box office when staff took the money.
func saleFacts(tx *store.Tx, o store.ShopOrder, ev store.Event, buyer store.Account, method string, tickets []store.Ticket, at time.Time) error {
	var q pricing.Quotation
	if err := json.Unmarshal(o.Quote, &q); err != nil {
		return fmt.Errorf("order %d's quote: %w", o.ID, err)
	}
	paid := map[uint64][]pricing.Money{}
	for _, l := range q.Lines {
		for _, tp := range l.Tickets {
			paid[uint64(tp.Type)] = append(paid[uint64(tp.Type)], tp.Paid)
		}
	}
	channel := store.ChannelOnline
	if method == MethodBoxOffice {
		channel = store.ChannelBoxOffice
	}
	day, hour := store.LocalDayHour(ev.TimeZone, at)
	region := regionOf(buyer)
	for _, t := range tickets {
		amount, cur := int64(0), o.Currency
		if ps := paid[t.Type]; len(ps) > 0 {
			amount, cur = ps[0].Minor(), ps[0].Currency().Code()
			paid[t.Type] = ps[1:]
		}
		err := tx.AddSaleFact(store.SaleFact{Event: t.Event, Serial: t.Serial, Type: t.Type, Channel: channel, Method: method, Currency: cur,
			Amount: amount, SoldAt: at, Day: day, Hour: hour, Buyer: buyer.ID, Region: region})
		if err != nil {
			return err
		}
	}
	return nil
}

// regionOf is the buyer's region for the reports: the country or region
// of the sign-in phone, or of a contact that is a phone number, by its
// calling code (CN, HK, MO, TW, US, …); "" when there is none.
func regionOf(a store.Account) string {
	for _, p := range []string{a.Phone, a.Contact} {
		if p == "" || p[0] != '+' {
			continue
		}
		if n, err := phonenumbers.Parse(p, ""); err == nil {
			if r := phonenumbers.GetRegionCodeForNumber(n); r != "" && r != "ZZ" {
				return r
			}
		}
	}
	return ""
}
