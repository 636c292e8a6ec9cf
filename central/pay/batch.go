package pay

import (
	"context"
	"sync"

	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/store"
)

// batcher pays the orders of concurrent notifications together, in one
// transaction of the box office (shop.PaidByAll), as a database groups
// commits: the caller that finds no batch running leads, paying what is
// queued until the queue is empty, and every caller gets its own
// order's answer. One payment at a time would wait for the commit of the
// one before: an event's tickets are numbered, and its venue's manifest
// sequenced, by rows each payment holds until it commits.
type batcher struct {
	shop *shop.Shop
	max  int

	mu      sync.Mutex
	queue   []settleReq
	leaders int
}

// maxLeaders is how many batches run at once: a second one prepares and
// writes its orders while the first holds the event's counters.
const maxLeaders = 2

type settleReq struct {
	paid shop.Paid
	done chan error
}

// pay pays an order by a provider in the next batch's transaction,
// running within (when not nil) in it first: see shop.Paid.Within.
func (b *batcher) pay(ctx context.Context, order int64, provider string, within func(*store.Tx) (bool, error)) error {
	r := settleReq{paid: shop.Paid{Order: order, Provider: provider, Within: within}, done: make(chan error, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, r)
	lead := b.leaders < maxLeaders
	if lead {
		b.leaders++
	}
	b.mu.Unlock()
	if lead {
		b.lead(context.WithoutCancel(ctx))
	}
	return <-r.done
}

func (b *batcher) lead(ctx context.Context) {
	for {
		b.mu.Lock()
		n := min(len(b.queue), b.max)
		if n == 0 {
			b.leaders--
			b.mu.Unlock()
			return
		}
		batch := append([]settleReq(nil), b.queue[:n]...)
		b.queue = append(b.queue[:0], b.queue[n:]...)
		b.mu.Unlock()
		paid := make([]shop.Paid, len(batch))
		for i, r := range batch {
			paid[i] = r.paid
		}
		errs, err := b.shop.PaidByAll(ctx, paid)
		for i, r := range batch {
			if err != nil {
				r.done <- err
			} else {
				r.done <- errs[i]
			}
		}
	}
}
