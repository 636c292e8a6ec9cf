package ledger

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/dgraph-io/badger/v4"

	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ticket"
)

// ApplyStatus says what became of a manifest change.
type ApplyStatus int

const (
	Applied   ApplyStatus = iota // applied now (with any held changes it unblocked)
	Duplicate                    // applied before: nothing to do
	Held                         // verified and kept until the changes before it arrive
)

func (s ApplyStatus) String() string {
	return [...]string{"applied", "duplicate", "held"}[s]
}

// ErrManifestFork is returned for a validly signed change whose number is
// taken by a different change: two manifests were made for one venue.
var ErrManifestFork = errors.New("manifest fork")

// ErrIncomplete is returned for a change that came without the private part
// (holders' names, rotation secrets) this device's role needs: a copy passed
// on by a seller. The device waits for the whole change from another peer.
var ErrIncomplete = errors.New("manifest change without its private part")

// maxHeldAhead bounds how far past the applied change a change may be held.
const maxHeldAhead = 1 << 20

// ManifestSeq is the number of the last manifest change applied.
func (l *Ledger) ManifestSeq() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.applied
}

// ApplyChange verifies a manifest change (one JSON line) and applies it, or
// holds it until the changes before it arrive. Nothing unverified is stored;
// a malformed or untrusted change leaves the ledger unchanged.
func (l *Ledger) ApplyChange(raw []byte) (ApplyStatus, error) {
	status, _, err := l.applyChange(raw)
	return status, err
}

// applyChange is ApplyChange, also returning how many tickets the change
// lists, for an import's progress.
func (l *Ledger) applyChange(raw []byte) (ApplyStatus, int, error) {
	raw = bytes.TrimSpace(raw)
	c, err := manifest.Parse(raw)
	if err != nil {
		return 0, 0, err
	}
	needs := manifest.NeedsPrivate(l.id.Cert.Role)
	if !needs && c.Private != nil {
		// Holders' names and rotation secrets are not kept where the role
		// has no use for them.
		c = c.Redacted()
		raw = c.Marshal()
	}
	l.manifestMu.Lock()
	defer l.manifestMu.Unlock()
	applied := l.ManifestSeq()
	if c.Seq <= applied {
		status, err := l.checkDuplicate(&c)
		return status, 0, err
	}
	if err := c.Verify(l.trust, l.cfg.Clock.Now()); err != nil {
		return 0, 0, err
	}
	if needs && !c.Complete() {
		return 0, 0, fmt.Errorf("%w: change %d", ErrIncomplete, c.Seq)
	}
	body, err := l.decode(&c)
	if err != nil {
		return 0, 0, err
	}
	tickets := 0
	if b, ok := body.(*manifest.Tickets); ok {
		tickets = len(b.Tickets)
	}
	if c.Seq > applied+1 {
		if c.Seq > applied+maxHeldAhead {
			return 0, 0, fmt.Errorf("manifest change %d is too far ahead of %d", c.Seq, applied)
		}
		if err := l.db.Update(func(txn *badger.Txn) error { return txn.Set(pendChangeKey(c.Seq), raw) }); err != nil {
			return 0, 0, fmt.Errorf("hold manifest change %d: %w", c.Seq, err)
		}
		return Held, tickets, nil
	}
	if err := l.apply(&c, raw, body); err != nil {
		return 0, 0, err
	}
	// Apply the held changes this one unblocked.
	for {
		next := l.ManifestSeq() + 1
		var held []byte
		err := l.db.View(func(txn *badger.Txn) error {
			v, err := getValue(txn, pendChangeKey(next))
			held = v
			return err
		})
		if errors.Is(err, badger.ErrKeyNotFound) {
			break
		}
		if err != nil {
			return Applied, tickets, err
		}
		hc, applyErr := manifest.Parse(held)
		if applyErr == nil {
			applyErr = l.apply(&hc, held, nil)
		}
		if applyErr != nil {
			l.log.Error("held manifest change no longer applies", "seq", next, "err", applyErr)
		}
		if err := l.db.Update(func(txn *badger.Txn) error { return txn.Delete(pendChangeKey(next)) }); err != nil {
			return Applied, tickets, err
		}
		if applyErr != nil {
			break // the changes after it wait for a good copy of it
		}
	}
	return Applied, tickets, nil
}

func (l *Ledger) checkDuplicate(c *manifest.Change) (ApplyStatus, error) {
	var stored []byte
	err := l.db.View(func(txn *badger.Txn) error {
		v, err := getValue(txn, changeKey(c.Seq))
		stored = v
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("manifest change %d: %w", c.Seq, err)
	}
	have, err := manifest.Parse(stored)
	if err != nil {
		return 0, fmt.Errorf("stored manifest change %d is corrupt: %w", c.Seq, err)
	}
	if bytes.Equal(have.Sig, c.Sig) {
		return Duplicate, nil
	}
	if err := c.Verify(l.trust, l.cfg.Clock.Now()); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%w: change %d differs from the one applied", ErrManifestFork, c.Seq)
}

// apply writes one verified change (its body decoded, or nil) and advances
// the applied number. Ticket
// batches go through a write batch first: upserts are idempotent, so a
// crash before the final commit only means the change is applied again.
func (l *Ledger) apply(c *manifest.Change, raw []byte, body any) error {
	if !l.db.enter() { // its write batches, like a transaction, not past Close
		return ErrClosed
	}
	defer l.db.exit()
	var err error
	if body == nil {
		if body, err = l.decode(c); err != nil {
			return err
		}
	}
	switch b := body.(type) {
	case *manifest.Tickets:
		wb := l.db.NewWriteBatch()
		defer wb.Cancel()
		for i := range b.Tickets {
			t := &b.Tickets[i]
			if err := wb.Set(ticketKey(b.Event, t.Serial), encodeTicket(t)); err != nil {
				return fmt.Errorf("apply manifest change %d: %w", c.Seq, err)
			}
		}
		if err := wb.Flush(); err != nil {
			return fmt.Errorf("apply manifest change %d: %w", c.Seq, err)
		}
	case *manifest.Revoke:
		if len(b.Tickets) > 0 {
			wb := l.db.NewWriteBatch()
			defer wb.Cancel()
			for _, t := range b.Tickets {
				if err := wb.Set(revokedTicketKey(t.Event, t.Serial), []byte(b.Reason)); err != nil {
					return fmt.Errorf("apply manifest change %d: %w", c.Seq, err)
				}
			}
			if err := wb.Flush(); err != nil {
				return fmt.Errorf("apply manifest change %d: %w", c.Seq, err)
			}
		}
	}
	err = l.db.Update(func(txn *badger.Txn) error {
		switch b := body.(type) {
		case *manifest.Venue:
			if err := txn.Set([]byte{tVenue}, mustJSON(b)); err != nil {
				return err
			}
		case *manifest.Event:
			if err := txn.Set(eventKey(b.ID), mustJSON(b)); err != nil {
				return err
			}
		case *manifest.TicketType:
			if err := txn.Set(typeKey(b.Event, b.ID), mustJSON(b)); err != nil {
				return err
			}
		case *manifest.PriceList:
			if err := txn.Set(pricesKey(b.Event, b.Seller), mustJSON(b)); err != nil {
				return err
			}
		case *ticket.IssuerCert:
			// Checked here, trusted only once the change commits: the
			// closure may run again and must not change memory.
			if err := l.trust.CheckIssuer(*b); err != nil {
				l.log.Warn("manifest issuer certificate refused", "seq", c.Seq, "err", err)
				break
			}
			if err := txn.Set(key(tIssuer, b.Root[:], sigID(b.Signature)), mustJSON(b)); err != nil {
				return err
			}
		case *ticket.DeviceCert:
			if err := l.trust.CheckDevice(*b); err != nil {
				l.log.Warn("manifest device certificate refused", "seq", c.Seq, "err", err)
				break
			}
			id := b.ID()
			if err := txn.Set(key(tDevice, id[:], sigID(b.Signature)), mustJSON(b)); err != nil {
				return err
			}
		case *manifest.Revoke:
			for _, id := range b.Issuers {
				if err := txn.Set(revokedKeyKey(tIssuer, id), []byte(b.Reason)); err != nil {
					return err
				}
			}
			for _, id := range b.Devices {
				if err := txn.Set(revokedKeyKey(tDevice, id), []byte(b.Reason)); err != nil {
					return err
				}
				if !b.At.IsZero() {
					if err := txn.Set(revokedKeyKey(tRevokedAt, id), u64(uint64(b.At.UnixNano()))); err != nil {
						return err
					}
				}
			}
		}
		if err := txn.Set(changeKey(c.Seq), raw); err != nil {
			return err
		}
		return txn.Set([]byte{tApplied}, u64(c.Seq))
	})
	if err != nil {
		return fmt.Errorf("apply manifest change %d: %w", c.Seq, err)
	}
	l.mu.Lock()
	if err := learnTrust(l.trust, body); err != nil {
		l.log.Warn("manifest certificate refused", "seq", c.Seq, "err", err)
	}
	switch b := body.(type) {
	case *manifest.Venue:
		l.setVenue(b)
	case *manifest.Event:
		l.setEvent(b)
	case *manifest.TicketType:
		l.types[[2]uint64{b.Event, b.ID}] = b
	}
	l.applied = c.Seq
	l.mu.Unlock()
	l.notifyChange(raw)
	return nil
}

// storeDevice verifies a device certificate and keeps it.
func (l *Ledger) storeDevice(txn *badger.Txn, c *ticket.DeviceCert) error {
	if err := l.trust.AddDevice(*c); err != nil {
		return err
	}
	id := c.ID()
	return txn.Set(key(tDevice, id[:], sigID(c.Signature)), mustJSON(c))
}

// AddDeviceCert verifies a device certificate against the root and keeps
// it, so the device's records can be verified. Peers pass certificates on;
// only the root's signature makes one count.
func (l *Ledger) AddDeviceCert(c ticket.DeviceCert) error {
	if l.trust.HasDevice(c) {
		return nil
	}
	return l.db.Update(func(txn *badger.Txn) error { return l.storeDevice(txn, &c) })
}

// sigID is a short id of a certificate: the first 8 bytes of its signature.
func sigID(sig []byte) []byte {
	if len(sig) < 8 {
		return sig
	}
	return sig[:8]
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marshal %T: %v", v, err))
	}
	return b
}

// A known ticket as stored: type, status, holder, seat.
func encodeTicket(t *manifest.Ticket) []byte {
	b := make([]byte, 0, 16+len(t.Holder)+len(t.Seat))
	b = binary.AppendUvarint(b, t.Type)
	if t.Status == manifest.StatusRevoked {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(t.Holder)))
	b = append(b, t.Holder...)
	b = binary.AppendUvarint(b, uint64(len(t.Seat)))
	return append(b, t.Seat...)
}

func decodeTicket(serial uint64, b []byte) (manifest.Ticket, error) {
	t := manifest.Ticket{Serial: serial}
	typ, n := binary.Uvarint(b)
	if n <= 0 || len(b) < n+1 {
		return t, errors.New("corrupt ticket")
	}
	t.Type = typ
	t.Status = manifest.StatusValid
	if b[n] == 1 {
		t.Status = manifest.StatusRevoked
	}
	b = b[n+1:]
	for _, dst := range []*string{&t.Holder, &t.Seat} {
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return t, errors.New("corrupt ticket")
		}
		*dst = string(b[n : n+int(l)])
		b = b[n+int(l):]
	}
	return t, nil
}

// ImportStats counts what an import did.
type ImportStats struct {
	Lines      int
	Applied    int
	Duplicates int
	Held       int
	Tickets    int   // tickets in the changes applied
	Bytes      int64 // bytes read
}

// maxLine bounds one line of a manifest file.
const maxLine = manifest.MaxBodySize + 64<<10

// Import applies a manifest file: one signed change per line. It streams,
// so a file of any size imports in bounded memory, and it is resumable: the
// changes already applied are skipped, so running it again after an
// interruption finishes the job. It stops at the first line it cannot
// verify, naming it; the lines before it stay applied.
func (l *Ledger) Import(ctx context.Context, r io.Reader, progress func(ImportStats)) (ImportStats, error) {
	var st ImportStats
	br := bufio.NewReaderSize(r, 256<<10)
	for {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		line, err := readLine(br, maxLine)
		st.Bytes += int64(len(line))
		if len(line) > 0 {
			st.Lines++
			if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 {
				if !utf8.Valid(trimmed) {
					return st, fmt.Errorf("import manifest: line %d: not UTF-8 text", st.Lines)
				}
				status, tickets, aerr := l.applyChange(trimmed)
				if aerr != nil {
					return st, fmt.Errorf("import manifest: line %d: %w", st.Lines, aerr)
				}
				switch status {
				case Applied:
					st.Applied++
					st.Tickets += tickets
				case Duplicate:
					st.Duplicates++
				case Held:
					st.Held++
				}
			}
			if progress != nil {
				progress(st)
			}
		}
		if err == io.EOF {
			return st, nil
		}
		if err != nil {
			return st, fmt.Errorf("import manifest: line %d: %w", st.Lines+1, err)
		}
	}
}

// readLine reads one line, refusing lines longer than max.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > max {
			return nil, fmt.Errorf("line longer than %d bytes", max)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return line, err
	}
}

// ManifestChanges returns up to max applied manifest changes, from number
// from on, as they arrived.
func (l *Ledger) ManifestChanges(from uint64, max int) ([][]byte, error) {
	return l.readRun([]byte{tChange}, from, max)
}

// DeviceCerts returns every device certificate the ledger trusts, so peers
// can verify the records of devices they have not met.
func (l *Ledger) DeviceCerts() []ticket.DeviceCert { return l.trust.Devices() }

// learnTrust is what a manifest change's body teaches a trust store: a
// certificate (an error when it does not verify) or revoked keys.
func learnTrust(trust *ticket.TrustStore, body any) error {
	switch b := body.(type) {
	case *ticket.IssuerCert:
		return trust.AddIssuer(*b)
	case *ticket.DeviceCert:
		return trust.AddDevice(*b)
	case *manifest.Revoke:
		for _, id := range b.Issuers {
			trust.RevokeIssuer(id)
		}
		for _, id := range b.Devices {
			trust.RevokeKeyAt(id, b.At)
		}
	}
	return nil
}

// decode reads a change's body as this device keeps it: with its private
// part opened on a gate (which must hold the gates key), public elsewhere.
func (l *Ledger) decode(c *manifest.Change) (any, error) {
	if manifest.NeedsPrivate(l.id.Cert.Role) {
		body, err := c.DecodeFor(l.id.GateKey)
		if errors.Is(err, manifest.ErrSealed) && l.id.GateKey == nil {
			return nil, fmt.Errorf("%w: this gate has no %s: provision it again with the organizer's keys", err, GateKeyFile)
		}
		return body, err
	}
	return c.Decode()
}
