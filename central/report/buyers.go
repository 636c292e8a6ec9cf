package report

import (
	"context"
	"slices"
	"time"

	"github.com/tixgate/tixgate/central/store"
)

// Buyers is the buyers' behaviour over a period: who bought, who came
// back for another event, how soon after the sale opened they bought, and
// (for one event) which other events its buyers bought for.
type Buyers struct {
	From         time.Time `json:"from"`
	Until        time.Time `json:"until"`
	Event        uint64    `json:"event,omitempty"`
	Buyers       int64     `json:"buyers"`
	RepeatBuyers int64     `json:"repeat_buyers"` // bought for more than one event, ever
	RepeatRate   float64   `json:"repeat_rate"`
	// SinceOnSale is the whole hours from a type's sale start to its
	// online sales: the median and the 90th percentile, of Tickets.
	SinceOnSale struct {
		Tickets int64 `json:"tickets"`
		P50     int64 `json:"p50_hours"`
		P90     int64 `json:"p90_hours"`
	} `json:"since_on_sale"`
	AlsoBought []AlsoBought `json:"also_bought,omitempty"`
}

// AlsoBought is another event the buyers bought for.
type AlsoBought struct {
	Event  uint64 `json:"event"`
	Name   string `json:"name,omitempty"`
	Buyers int64  `json:"buyers"`
}

// BuyersOf computes the buyer figures of q's period and event.
func BuyersOf(ctx context.Context, db *store.DB, q Query) (Buyers, error) {
	f, err := db.Buyers(ctx, store.SalesFilter{From: q.From, Until: q.Until, Event: q.Event})
	if err != nil {
		return Buyers{}, err
	}
	out := Buyers{From: q.From, Until: q.Until, Event: q.Event, Buyers: f.Buyers, RepeatBuyers: f.Repeat, AlsoBought: []AlsoBought{}}
	if f.Buyers > 0 {
		out.RepeatRate = float64(f.Repeat) / float64(f.Buyers)
	}
	hours := make([]int64, 0, len(f.SinceOnSale))
	for h, n := range f.SinceOnSale {
		hours = append(hours, h)
		out.SinceOnSale.Tickets += n
	}
	slices.Sort(hours)
	var seen int64
	p50, p90 := false, false
	for _, h := range hours {
		seen += f.SinceOnSale[h]
		if !p50 && seen*2 >= out.SinceOnSale.Tickets {
			out.SinceOnSale.P50, p50 = h, true
		}
		if !p90 && seen*10 >= out.SinceOnSale.Tickets*9 {
			out.SinceOnSale.P90, p90 = h, true
		}
	}
	for _, e := range f.AlsoBought {
		a := AlsoBought{Event: e.Event, Buyers: e.Buyers}
		if ev, err := db.Event(ctx, e.Event); err == nil {
			a.Name = ev.Name
		}
		out.AlsoBought = append(out.AlsoBought, a)
	}
	return out, nil
}
