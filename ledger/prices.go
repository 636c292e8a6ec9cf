package ledger

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/tixgate/tixgate/ledger/manifest"
)

// ErrNoPriceList: central has sent no price list for the event that this
// device may use; a seller cannot price a sale without one.
var ErrNoPriceList = errors.New("no price list for this event")

// PriceList is the price list a seller device sells the event's tickets
// by: the list central made for this device by name, or else the event's
// list for every seller.
func (l *Ledger) PriceList(event uint64) (manifest.PriceList, error) {
	var p manifest.PriceList
	err := l.db.View(func(txn *badger.Txn) error {
		for _, seller := range []string{l.id.Cert.Device, ""} {
			v, err := getValue(txn, pricesKey(event, seller))
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("stored price list of event %d: %w", event, err)
			}
			return nil
		}
		return fmt.Errorf("%w %d: ask central to give this device prices", ErrNoPriceList, event)
	})
	return p, err
}
