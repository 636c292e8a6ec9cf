package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

// Config is what a catalog needs.
type Config struct {
	Store *store.DB
	Keys  *keyfile.Keys // central's key signs changes; the issuer key signs tickets
	// TicketBatch is how many tickets one manifest change carries: larger
	// batches mean fewer signatures and lines, smaller ones less to resend
	// when a pull is cut (manifest.MaxTicketsPerBatch at most).
	TicketBatch int
	Clock       ticket.Clock
	Logger      *slog.Logger
}

// DefaultConfig is a catalog over db signing with keys.
func DefaultConfig(db *store.DB, keys *keyfile.Keys) Config {
	return Config{Store: db, Keys: keys, TicketBatch: 1000, Clock: ticket.SystemClock{}, Logger: slog.Default()}
}

// Catalog writes central's domain and signs its manifest changes.
type Catalog struct {
	cfg    Config
	signer manifest.Signer
}

// New makes a catalog.
func New(cfg Config) *Catalog {
	if cfg.Clock == nil {
		cfg.Clock = ticket.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.TicketBatch <= 0 || cfg.TicketBatch > manifest.MaxTicketsPerBatch {
		cfg.TicketBatch = 1000
	}
	return &Catalog{cfg: cfg, signer: manifest.Signer{Key: cfg.Keys.Central, Cert: &cfg.Keys.CentralCert, GateKey: cfg.Keys.GateKey}}
}

// Emit signs a change of kind about subject into the venue's manifest
// inside tx, unless the subject's last change said the same; it returns
// the change's number, 0 when none was needed.
func (c *Catalog) Emit(tx *store.Tx, venue string, kind manifest.Kind, subject string, body any) (uint64, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return 0, fmt.Errorf("manifest %s: %s: %w", venue, subject, err)
	}
	return tx.AppendChange(venue, string(kind), subject, raw, c.cfg.Clock.Now(), func(seq uint64) ([]byte, error) {
		ch, err := c.signer.Sign(seq, kind, json.RawMessage(raw))
		if err != nil {
			return nil, err
		}
		return ch.Marshal(), nil
	})
}

// emitTrust makes sure a venue's manifest starts with what its devices need
// to trust central's tickets: the issuer certificate.
func (c *Catalog) emitTrust(tx *store.Tx, venue string) (int, error) {
	cert := c.cfg.Keys.IssuerCert
	seq, err := c.Emit(tx, venue, manifest.KindIssuer, "issuer:"+cert.ID().String(), &cert)
	if seq > 0 {
		return 1, err
	}
	return 0, err
}

// EmitDevice puts a device certificate into its venue's manifest, so every
// peer verifies the device's records.
func (c *Catalog) EmitDevice(tx *store.Tx, cert ticket.DeviceCert) (uint64, error) {
	return c.Emit(tx, cert.Venue, manifest.KindDevice, "device:"+cert.ID().String(), &cert)
}

func (c *Catalog) now() time.Time { return c.cfg.Clock.Now() }

// TrustIssuer signs an issuer certificate into every venue's manifest, so
// the devices trust the tickets its key signs beside those of the keys
// they trust already: the step of an issuer key's rotation that must come
// before central signs with the new key (see keyfile.Keys.NextIssuer). It
// returns how many venues' manifests got a new change.
func (c *Catalog) TrustIssuer(ctx context.Context, cert ticket.IssuerCert) (int, error) {
	if err := cert.Verify(c.cfg.Keys.RootPublic()); err != nil {
		return 0, fmt.Errorf("trust issuer: %w", err)
	}
	venues, err := c.cfg.Store.Venues(ctx)
	if err != nil {
		return 0, fmt.Errorf("trust issuer: %w", err)
	}
	var n int
	err = c.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		n = 0
		for _, v := range venues {
			seq, err := c.Emit(tx, v, manifest.KindIssuer, "issuer:"+cert.ID().String(), &cert)
			if err != nil {
				return err
			}
			if seq > 0 {
				n++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("trust issuer %s: %w", cert.ID(), err)
	}
	return n, nil
}
