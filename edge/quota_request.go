package edge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tixgate/tixgate/pricing"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/uplink"
)

// Reasons of a refused quota request.
const (
	ReasonNoCentral  = "no_central"  // the device has no uplink, or central cannot be reached
	ReasonQuotaLimit = "quota_limit" // central allows this seller no more
)

// QuotaRequest is the body of POST /api/v1/quotas/request.
type QuotaRequest struct {
	Event uint64 `json:"event"`
	Type  uint64 `json:"type"`
}

// QuotaGranted is its answer: the block, installed and ready to sell from.
type QuotaGranted struct {
	Issuer    string    `json:"issuer"`
	SerialMin uint64    `json:"serial_min"`
	SerialMax uint64    `json:"serial_max"`
	NotAfter  time.Time `json:"not_after"`
	Currency  string    `json:"currency"`
	Price     string    `json:"price"` // one ticket, a decimal in Currency, as GET /api/v1/quotas gives it
	Display   string    `json:"display"`
}

// quotaInstallTimeout bounds the wait, after central granted a block, for
// the manifest pull that installs it.
const quotaInstallTimeout = 30 * time.Second

// handleQuotaRequest asks central, while it can be reached, for another
// block of an event's type, and waits until the manifest that carries it
// is installed: the seller sells from it at once. Offline it is refused
// with no_central: the device sells what it holds.
func (n *Node) handleQuotaRequest(r *http.Request) (any, error) {
	if err := mayKeepTill(r); err != nil {
		return nil, err
	}
	if n.ledger.Identity().Cert.Role != ticket.RoleSeller {
		return nil, &apiError{http.StatusForbidden, ReasonNotSeller, errors.New("only a seller device holds quotas")}
	}
	var req QuotaRequest
	if err := readBody(r, &req); err != nil {
		return nil, err
	}
	if req.Event == 0 || req.Type == 0 {
		return nil, badRequest("event and type are required")
	}
	if n.uplink == nil {
		return nil, &apiError{http.StatusServiceUnavailable, ReasonNoCentral,
			errors.New("this device has no uplink to central (start it with --central): it sells the quota it holds")}
	}
	g, err := n.uplink.RequestQuota(r.Context(), req.Event, req.Type)
	var ue *uplink.Error
	switch {
	case errors.As(err, &ue) && ue.Code == uplink.ErrCodeQuotaLimit:
		return nil, &apiError{http.StatusForbidden, ReasonQuotaLimit, fmt.Errorf("central allows this seller no more of that type: %s", ue.Message)}
	case err != nil:
		return nil, &apiError{http.StatusServiceUnavailable, ReasonNoCentral, fmt.Errorf("central could not be asked (%v): sell what the device holds, and ask again once it is reachable", err)}
	}
	n.uplink.Wake()
	ctx, cancel := context.WithTimeout(r.Context(), quotaInstallTimeout)
	defer cancel()
	for n.ledger.ManifestSeq() < g.ManifestHead {
		select {
		case <-ctx.Done():
			return nil, &apiError{http.StatusServiceUnavailable, ReasonNoCentral,
				fmt.Errorf("central granted serials %d-%d, but the manifest that carries them has not arrived yet: they will be sellable after the next sync", g.Cert.SerialMin, g.Cert.SerialMax)}
		case <-time.After(100 * time.Millisecond):
		}
	}
	ans := QuotaGranted{Issuer: g.Cert.Name, SerialMin: g.Cert.SerialMin, SerialMax: g.Cert.SerialMax, NotAfter: g.Cert.NotAfter, Currency: g.Currency}
	if cur, err := pricing.ParseCurrency(g.Currency); err == nil {
		m := pricing.New(g.Price, cur)
		ans.Price, ans.Display = m.Format(), m.Display(langOf(r))
	}
	return ans, nil
}
