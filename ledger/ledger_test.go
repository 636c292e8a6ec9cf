package ledger

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ticket"
)

func mustRecord(t testing.TB, raw []byte) record.Record {
	t.Helper()
	r, err := record.Unmarshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestManifestChanges(t *testing.T) {
	v := newTestVenue(t, 250)
	l := v.open("gate-1")
	st, err := l.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Tickets != 250 || st.TicketTypes != 3 || st.Events != 1 || st.ManifestSeq != uint64(len(v.changes)) {
		t.Errorf("stats after import: %+v", st)
	}
	// Importing again is a no-op.
	res, err := l.Import(context.Background(), bytes.NewReader(bytes.Join(v.changes, []byte("\n"))), nil)
	if err != nil || res.Duplicates != len(v.changes) || res.Applied != 0 {
		t.Errorf("second import: %+v, %v", res, err)
	}

	before := l.ManifestSeq()
	next := manifest.Revoke{Tickets: []manifest.TicketRef{{Event: 1042, Serial: 9}}}
	stranger, _ := ticket.GenerateKey(nil)
	bad := []struct {
		name string
		raw  []byte
	}{
		{"garbage", []byte("{not json")},
		{"empty object", []byte("{}")},
		{"unknown field", []byte(`{"seq":99,"kind":"revoke","body":{},"signer":"00000000","sig":"AA==","extra":1}`)},
		{"signed by a stranger", mustSign(t, manifest.Signer{Key: stranger}, before+1, manifest.KindRevoke, &next)},
		{"body altered after signing", alter(mustSign(t, manifest.Signer{Key: v.keys.Central, Cert: &v.keys.CentralCert, GateKey: v.keys.GateKey}, before+1, manifest.KindRevoke, &next), `"serial":9`, `"serial":8`)},
		{"issuer key as signer", mustSign(t, manifest.Signer{Key: v.keys.Issuer}, before+1, manifest.KindRevoke, &next)},
		{"seller certificate as signer", sellerSigned(t, v, before+1, &next)},
	}
	for _, b := range bad {
		if _, err := l.ApplyChange(b.raw); err == nil {
			t.Errorf("%s: applied", b.name)
		}
		if l.ManifestSeq() != before {
			t.Fatalf("%s: manifest moved to %d", b.name, l.ManifestSeq())
		}
	}
	// Out of order: change n+2 waits for n+1.
	c1 := v.sign(manifest.KindRevoke, &manifest.Revoke{Tickets: []manifest.TicketRef{{Event: 1042, Serial: 9}}})
	c2 := v.sign(manifest.KindRevoke, &manifest.Revoke{Tickets: []manifest.TicketRef{{Event: 1042, Serial: 10}}})
	if s, err := l.ApplyChange(c2); err != nil || s != Held {
		t.Fatalf("change ahead: %v %v", s, err)
	}
	if s, err := l.ApplyChange(c1); err != nil || s != Applied || l.ManifestSeq() != before+2 {
		t.Fatalf("change filling the gap: %v %v, seq %d", s, err, l.ManifestSeq())
	}
	if s, err := l.ApplyChange(c1); err != nil || s != Duplicate {
		t.Errorf("replayed change: %v %v", s, err)
	}
	// A different change with a number already taken: a fork.
	fork := mustSign(t, manifest.Signer{Key: v.keys.Central, Cert: &v.keys.CentralCert, GateKey: v.keys.GateKey}, before+1, manifest.KindRevoke, &manifest.Revoke{Devices: []ticket.KeyID{{1, 2, 3, 4}}})
	if _, err := l.ApplyChange(fork); !errors.Is(err, ErrManifestFork) {
		t.Errorf("fork: %v", err)
	}
}

func mustSign(t testing.TB, s manifest.Signer, seq uint64, kind manifest.Kind, body any) []byte {
	t.Helper()
	c, err := s.Sign(seq, kind, body)
	if err != nil {
		t.Fatal(err)
	}
	return c.Marshal()
}

func alter(raw []byte, from, to string) []byte {
	return []byte(strings.Replace(string(raw), from, to, 1))
}

func sellerSigned(t testing.TB, v *testVenue, seq uint64, body any) []byte {
	key, _ := ticket.GenerateKey(nil)
	cert, err := ticket.SignDeviceCert(ticket.DeviceCert{Device: "seller-1", Role: ticket.RoleSeller, Venue: "arena",
		Key: ticket.PublicOf(key), NotBefore: concertNight.Add(-time24h), NotAfter: concertNight.Add(time24h)}, v.keys.Root)
	if err != nil {
		t.Fatal(err)
	}
	return mustSign(t, manifest.Signer{Key: key, Cert: &cert}, seq, manifest.KindRevoke, body)
}

func TestImportStopsAtBadLine(t *testing.T) {
	v := newTestVenue(t, 50)
	l, err := Open(v.device("gate-1"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	lines := append([][]byte(nil), v.changes[:3]...)
	lines = append(lines, []byte(`{"seq":4,"kind":"tickets","body":{"event":1042,"tickets":[]},"signer":"00000000","sig":"AAAA"}`))
	lines = append(lines, v.changes[3:]...)
	st, err := l.Import(context.Background(), bytes.NewReader(bytes.Join(lines, []byte("\n"))), nil)
	if err == nil || !strings.Contains(err.Error(), "line 4") {
		t.Fatalf("import with a bad 4th line: %+v, %v", st, err)
	}
	if l.ManifestSeq() != 3 {
		t.Errorf("manifest at %d after the bad line, want 3", l.ManifestSeq())
	}
	// A truncated file (an interrupted download) stops at its last whole change.
	full := bytes.Join(v.changes, []byte("\n"))
	if _, err := l.Import(context.Background(), bytes.NewReader(full[:len(full)-40]), nil); err == nil {
		t.Error("a truncated last line was accepted")
	}
	if _, err := l.Import(context.Background(), bytes.NewReader(full), nil); err != nil {
		t.Fatalf("resumed import: %v", err)
	}
	if got := l.ManifestSeq(); got != uint64(len(v.changes)) {
		t.Errorf("after resuming: %d changes, want %d", got, len(v.changes))
	}
}

func TestIngestBetweenDevices(t *testing.T) {
	v := newTestVenue(t, 10)
	g1, g2 := v.open("gate-1"), v.open("gate-2")
	for s := uint64(1); s <= 5; s++ {
		if d := scan(t, g1, v.code(ticket.Ticket{Serial: s + 100}), "G1", ""); !d.OK() {
			t.Fatal(d.Detail)
		}
	}
	recs, err := g1.Records(g1.Identity().ID(), 1, 100)
	if err != nil || len(recs) != 5 {
		t.Fatalf("records: %d, %v", len(recs), err)
	}
	if err := g2.AddDeviceCert(g1.Identity().Cert); err != nil {
		t.Fatal(err)
	}
	// Out of order: 4 and 5 first wait for 1-3.
	st, errs := g2.Ingest(recs[3:])
	if len(errs) > 0 || st.Held != 2 || st.Stored != 0 {
		t.Fatalf("ahead of the gap: %+v %v", st, errs)
	}
	st, errs = g2.Ingest(recs[:3])
	if len(errs) > 0 || st.Stored != 5 {
		t.Fatalf("filling the gap: %+v %v", st, errs)
	}
	st, _ = g2.Ingest(recs)
	if st.Duplicates != 5 || st.Stored != 0 {
		t.Errorf("again: %+v", st)
	}
	vv, _ := g2.VersionVector()
	if vv[g1.Identity().ID()] != 5 {
		t.Errorf("version vector %v", vv)
	}
	// gate-2 now refuses a ticket that entered at gate-1.
	if d := scan(t, g2, v.code(ticket.Ticket{Serial: 101}), "G2", ""); d.Reason != ticket.ReasonAlreadyUsed || d.Previous.Device != "gate-1" {
		t.Errorf("at gate-2 after sync: %s %+v", d.Reason, d.Previous)
	}
}

func TestIngestRefusesForgeries(t *testing.T) {
	v := newTestVenue(t, 10)
	g1 := v.open("gate-1")
	// A device with the mesh key but a key the root never certified.
	rogue, _ := ticket.GenerateKey(nil)
	r := record.Record{Seq: 1, HLC: record.NewHLC(concertNight, 0), Kind: record.KindEntry, Event: 1042, Serial: 5, Type: 1, Gate: "G1"}
	if err := r.Sign(rogue); err != nil {
		t.Fatal(err)
	}
	// A self-signed certificate does not help it.
	selfCert, _ := ticket.SignDeviceCert(ticket.DeviceCert{Device: "gate-9", Role: ticket.RoleGate, Venue: "arena", Key: ticket.PublicOf(rogue),
		NotBefore: concertNight.Add(-time24h), NotAfter: concertNight.Add(time24h)}, rogue)
	if err := g1.AddDeviceCert(selfCert); err == nil {
		t.Error("a certificate signed by the device itself was accepted")
	}
	before, _ := g1.Stats()
	st, errs := g1.Ingest([][]byte{r.Marshal(), []byte("garbage"), {}, bytes.Repeat([]byte{1}, 5000)})
	if st.Stored != 0 || st.Rejected != 4 || len(errs) != 4 {
		t.Errorf("forgeries: %+v %v", st, errs)
	}
	if !errors.Is(errs[0], ErrUnknownOrigin) && !errors.Is(errs[0], record.ErrMalformed) {
		t.Errorf("first error %v", errs[0])
	}
	after, _ := g1.Stats()
	if after.Records != before.Records || after.HeldRecords != before.HeldRecords {
		t.Errorf("ledger changed: %+v → %+v", before, after)
	}
	if d := scan(t, g1, v.code(ticket.Ticket{Serial: 5}), "G1", ""); !d.OK() {
		t.Errorf("the forged entry counted: %s", d.Reason)
	}
}

// Two gates that cannot see each other both admit one ticket; once their
// logs merge, both hold the same conflict naming both records.
func TestConflictOnMerge(t *testing.T) {
	v := newTestVenue(t, 10)
	g1, g2 := v.open("gate-1"), v.open("gate-2")
	code := v.code(ticket.Ticket{Serial: 1})
	d1 := scan(t, g1, code, "G1", "")
	v.clock.Advance(50 * time.Millisecond)
	d2 := scan(t, g2, code, "G2", "")
	if !d1.OK() || !d2.OK() {
		t.Fatalf("partitioned gates: %s, %s", d1.Reason, d2.Reason)
	}
	if st := exchange(t, g1, g2); st.Conflicts != 1 {
		t.Errorf("gate-2 found %d conflicts", st.Conflicts)
	}
	if st := exchange(t, g2, g1); st.Conflicts != 1 {
		t.Errorf("gate-1 found %d conflicts", st.Conflicts)
	}
	c1, _ := g1.Conflicts()
	c2, _ := g2.Conflicts()
	if len(c1) != 1 || len(c2) != 1 {
		t.Fatalf("conflicts: %v / %v", c1, c2)
	}
	if c1[0].First != c2[0].First || c1[0].Second != c2[0].Second {
		t.Errorf("the gates disagree:\n%+v\n%+v", c1[0], c2[0])
	}
	if c1[0].First.Record != d1.Record || c1[0].Second.Record != d2.Record || c1[0].Reason != ticket.ReasonAlreadyUsed {
		t.Errorf("conflict %+v, want %s then %s", c1[0], d1.Record, d2.Record)
	}
	// Exchanging again finds nothing new.
	if st := exchange(t, g1, g2); st.Conflicts != 0 || st.Stored != 0 {
		t.Errorf("second exchange: %+v", st)
	}
}

func TestVerifyFindsTampering(t *testing.T) {
	v := newTestVenue(t, 10)
	l := v.open("gate-1")
	for s := uint64(1); s <= 3; s++ {
		scan(t, l, v.code(ticket.Ticket{Serial: s}), "G1", "")
	}
	if probs, err := l.Verify(); err != nil || len(probs) != 0 {
		t.Fatalf("sound ledger: %v %v", probs, err)
	}
	// Change the serial inside record 2, as someone with the disk might.
	k := logKey(l.Identity().ID(), 2)
	err := l.db.Update(func(txn *badger.Txn) error {
		raw, err := getValue(txn, k)
		if err != nil {
			return err
		}
		r := mustRecord(t, raw)
		r.Serial = 999
		return txn.Set(k, r.Marshal())
	})
	if err != nil {
		t.Fatal(err)
	}
	probs, err := l.Verify()
	if err != nil {
		t.Fatal(err)
	}
	want := l.Identity().ID().String() + "/2"
	found := false
	for _, p := range probs {
		t.Log(p)
		if strings.Contains(p.Where, want) && strings.Contains(p.What, "altered") {
			found = true
		}
	}
	if !found {
		t.Errorf("Verify did not name record %s: %v", want, probs)
	}
}

func TestReindex(t *testing.T) {
	v := newTestVenue(t, 30)
	l := v.open("gate-1")
	code := v.code(ticket.Ticket{Serial: 1})
	scan(t, l, code, "G1", "")
	before, _ := l.Stats()
	if err := l.Reindex(context.Background()); err != nil {
		t.Fatal(err)
	}
	after, _ := l.Stats()
	if after.Tickets != before.Tickets || after.ManifestSeq != before.ManifestSeq || after.Records != before.Records {
		t.Errorf("stats changed: %+v → %+v", before, after)
	}
	if d := scan(t, l, code, "G1", ""); d.Reason != ticket.ReasonAlreadyUsed {
		t.Errorf("after reindex the entry is forgotten: %s", d.Reason)
	}
	if probs, _ := l.Verify(); len(probs) != 0 {
		t.Errorf("after reindex: %v", probs)
	}
}

func TestBackupRestore(t *testing.T) {
	v := newTestVenue(t, 30)
	l := v.open("gate-1")
	code := v.code(ticket.Ticket{Serial: 1})
	scan(t, l, code, "G1", "")
	var buf bytes.Buffer
	changes, records, err := l.Backup(&buf)
	if err != nil || changes != len(v.changes) || records != 1 {
		t.Fatalf("backup: %d changes %d records, %v", changes, records, err)
	}
	// Restore into a fresh device: the entry and the manifest come back.
	l2, err := Open(v.device("gate-2"))
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if _, st, err := l2.Restore(context.Background(), bytes.NewReader(buf.Bytes())); err != nil || st.Stored != 1 {
		t.Fatalf("restore: %+v %v", st, err)
	}
	if d := scan(t, l2, code, "G2", ""); d.Reason != ticket.ReasonAlreadyUsed {
		t.Errorf("restored ledger admits a used ticket: %s", d.Reason)
	}
	// A damaged backup is refused with a clear error.
	damaged := buf.Bytes()[:buf.Len()/2]
	if _, _, err := l2.Restore(context.Background(), bytes.NewReader(damaged)); err == nil {
		t.Error("half a backup restored without error")
	}
	if _, _, err := l2.Restore(context.Background(), strings.NewReader("plain text")); err == nil || !strings.Contains(err.Error(), "not a tixgate backup") {
		t.Errorf("text file: %v", err)
	}
}

func TestEncryptionAtRest(t *testing.T) {
	v := newTestVenue(t, 5)
	cfg := v.loaded("gate-1")
	// The holder names are not on disk in the clear.
	found := false
	filepath.Walk(filepath.Join(cfg.Dir, dbDir), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			data, _ := os.ReadFile(p)
			if bytes.Contains(data, []byte("Guest 0000001")) {
				found = true
			}
		}
		return nil
	})
	if found {
		t.Error("a holder name is stored in the clear")
	}
	// Another key does not open it, and says so.
	if err := os.Remove(filepath.Join(cfg.Dir, LedgerKeyFile)); err != nil {
		t.Fatal(err)
	}
	if err := WriteEncryptionKey(filepath.Join(cfg.Dir, LedgerKeyFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(cfg); err == nil || !strings.Contains(err.Error(), "encryption key") {
		t.Errorf("wrong key: %v", err)
	}
	// Nor does a key file others can read.
	os.Chmod(filepath.Join(cfg.Dir, LedgerKeyFile), 0o644)
	if _, err := Open(cfg); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("key readable by others: %v", err)
	}
}

func TestOpenInUse(t *testing.T) {
	v := newTestVenue(t, 0)
	cfg := v.device("gate-1")
	l, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := Open(cfg); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second open: %v", err)
	}
}

func TestInitRefuses(t *testing.T) {
	v := newTestVenue(t, 0)
	cfg := v.device("gate-1")
	for name, p := range map[string]Provision{
		"existing device": {Dir: cfg.Dir, Keys: v.keys, Device: "gate-1"},
		"bad name":        {Dir: t.TempDir(), Keys: v.keys, Device: "gate 1"},
		"central role":    {Dir: t.TempDir(), Keys: v.keys, Device: "x", Role: ticket.RoleCentral},
	} {
		if err := Init(p, cfg); err == nil {
			t.Errorf("%s: Init accepted it", name)
		}
	}
	if _, err := Open(TestConfig(t.TempDir())); err == nil || !strings.Contains(err.Error(), "ledger init") {
		t.Errorf("open of an empty directory: %v", err)
	}
}

// A device name is issued once per venue from the organizer's keys: a
// second device of that name, in another directory, is refused with a
// message that names the clash; the same name in another venue is fine.
func TestInitRefusesIssuedName(t *testing.T) {
	v := newTestVenue(t, 0)
	cfg := v.device("gate-1")
	err := Init(Provision{Dir: t.TempDir(), Keys: v.keys, Device: "gate-1", Venue: "arena"}, cfg)
	if err == nil || !strings.Contains(err.Error(), `already has a device named "gate-1"`) {
		t.Fatalf("second gate-1 in arena: %v", err)
	}
	if err := Init(Provision{Dir: t.TempDir(), Keys: v.keys, Device: "gate-1", Venue: "stadium"}, cfg); err != nil {
		t.Fatalf("gate-1 in another venue: %v", err)
	}
	if err := Init(Provision{Dir: t.TempDir(), Keys: v.keys, Device: "gate-9", Venue: "../x"}, cfg); err == nil {
		t.Fatal("a venue name with a path in it was accepted")
	}
}

// A run of records is authenticated by the signature of its last one and
// the hash chain; a record altered in the middle breaks the chain there and
// is refused on its own signature; the records after it wait for the
// genuine one.
func TestIngestRunWithAlteredRecords(t *testing.T) {
	v := newTestVenue(t, 10)
	g1, g2 := v.open("gate-1"), v.open("gate-2")
	for s := uint64(1); s <= 40; s++ {
		v.clock.Advance(time.Second)
		if d := scan(t, g2, v.code(ticket.Ticket{Serial: 1000 + s}), "G1", ""); !d.OK() {
			t.Fatal(d.Detail)
		}
	}
	recs, err := g2.Records(g2.Identity().ID(), 1, 40)
	if err != nil || len(recs) != 40 {
		t.Fatal(len(recs), err)
	}
	if err := g1.AddDeviceCert(g2.Identity().Cert); err != nil {
		t.Fatal(err)
	}
	tamper := func(raw []byte) []byte {
		r := mustRecord(t, raw)
		r.Gate = "G2" // signature no longer matches
		return r.Marshal()
	}
	batch := append([][]byte(nil), recs...)
	batch[24] = tamper(recs[24]) // record 25
	st, errs := g1.Ingest(batch)
	if st.Stored != 24 || st.Held != 15 || len(errs) != 1 {
		t.Fatalf("%+v, %d errors; want 24 stored, 15 held, 1 refused", st, len(errs))
	}
	if !strings.Contains(errs[0].Error(), "/25: bad signature") {
		t.Errorf("first error %v, want record 25's bad signature", errs[0])
	}
	// The genuine record 25 unblocks the held ones; a forgery of the last
	// record, chained to the genuine ones, is caught by its own signature.
	batch = append([][]byte(nil), recs[24:]...)
	batch[len(batch)-1] = tamper(recs[39])
	st, errs = g1.Ingest(batch)
	if st.Stored != 16 || st.Duplicates != 14 || len(errs) != 1 || !strings.Contains(errs[0].Error(), "/40: bad signature") {
		t.Errorf("second batch: %+v %v", st, errs)
	}
	if vv, _ := g1.VersionVector(); vv[g2.Identity().ID()] != 40 {
		t.Errorf("version vector %v", vv)
	}
	if probs, _ := g1.Verify(); len(probs) != 0 {
		t.Errorf("verify: %v", probs)
	}
}

// A batch bigger than one Badger transaction holds is committed in parts.
func TestIngestLargeBatchSmallMemtable(t *testing.T) {
	v := newTestVenue(t, 10)
	g2 := v.open("gate-2")
	cfg := v.device("gate-1")
	cfg.MemTableSize = 1 << 20 // one transaction holds about 150 KB
	g1, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer g1.Close()
	for s := uint64(1); s <= 1500; s++ {
		if d := scan(t, g2, v.code(ticket.Ticket{Serial: 10_000 + s}), "G1", ""); !d.OK() {
			t.Fatal(d.Detail)
		}
	}
	recs, _ := g2.Records(g2.Identity().ID(), 1, 2000)
	if err := g1.AddDeviceCert(g2.Identity().Cert); err != nil {
		t.Fatal(err)
	}
	st, errs := g1.Ingest(recs)
	if st.Stored != 1500 || len(errs) > 0 {
		t.Fatalf("%+v %v", st, errs)
	}
	// The first record arriving last unblocks 1,499 held ones: drained over
	// several transactions.
	cfg = v.device("gate-3")
	cfg.MemTableSize = 1 << 20
	g3, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer g3.Close()
	g3.AddDeviceCert(g2.Identity().Cert)
	if st, errs := g3.Ingest(recs[1:]); st.Held != 1499 || len(errs) > 0 {
		t.Fatalf("held: %+v %v", st, errs)
	}
	if st, errs := g3.Ingest(recs[:1]); st.Stored != 1500 || len(errs) > 0 {
		t.Fatalf("gap filled: %+v %v", st, errs)
	}
	if probs, _ := g3.Verify(); len(probs) > 0 {
		t.Errorf("verify: %v", probs)
	}
}

func TestInitWithKeptEncryptionKey(t *testing.T) {
	v := newTestVenue(t, 0)
	kept := filepath.Join(t.TempDir(), "usb", "ledger.key")
	os.MkdirAll(filepath.Dir(kept), 0o700)
	dir := filepath.Join(t.TempDir(), "gate-1")
	cfg := TestConfig(dir)
	if err := Init(Provision{Dir: dir, Keys: v.keys, Device: "gate-1", EncryptionKey: kept, Now: concertNight}, cfg); err != nil {
		t.Fatal(err)
	}
	a, err1 := os.ReadFile(kept)
	b, err2 := os.ReadFile(filepath.Join(dir, LedgerKeyFile))
	if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
		t.Fatalf("kept key and device copy differ: %v %v", err1, err2)
	}
	l, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
}

// A gap-filling record that unblocks 299 held ones in a transaction too big
// for a 1 MB memtable: the retry must not forget that records are held.
func TestIngestRetryKeepsHeldRecords(t *testing.T) {
	v := newTestVenue(t, 10)
	g2 := v.open("gate-2")
	for s := uint64(1); s <= 300; s++ {
		if d := scan(t, g2, v.code(ticket.Ticket{Serial: 10_000 + s}), "G1", ""); !d.OK() {
			t.Fatal(d.Detail)
		}
	}
	recs, _ := g2.Records(g2.Identity().ID(), 1, 300)
	cfg := v.device("gate-1")
	cfg.MemTableSize = 512 << 10
	g1, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer g1.Close()
	if err := g1.AddDeviceCert(g2.Identity().Cert); err != nil {
		t.Fatal(err)
	}
	if st, errs := g1.Ingest(recs[1:]); st.Held != 299 || len(errs) > 0 {
		t.Fatalf("held: %+v %v", st, errs)
	}
	st, errs := g1.Ingest(recs[:1])
	if st.Stored != 300 || len(errs) > 0 {
		t.Errorf("gap filled: %+v %v", st, errs)
	}
	if vv, _ := g1.VersionVector(); vv[g2.Identity().ID()] != 300 {
		t.Errorf("head at %d, want 300", vv[g2.Identity().ID()])
	}
	if probs, _ := g1.Verify(); len(probs) > 0 {
		t.Errorf("verify: %v", probs)
	}
}

// Decide racing Close returns an answer or ErrClosed, never hangs.
func TestDecideDuringClose(t *testing.T) {
	v := newTestVenue(t, 10)
	for round := range 30 {
		l, err := Open(v.loaded(fmt.Sprintf("gate-%d", round)))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		done := make(chan struct{})
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					_, err := l.Decide(context.Background(), Scan{Text: v.code(ticket.Ticket{Serial: uint64(20_000 + g*1000 + i)}), Gate: "G1"})
					if err != nil {
						if !errors.Is(err, ErrClosed) {
							t.Errorf("decide: %v", err)
						}
						return
					}
				}
			}()
		}
		go func() { wg.Wait(); close(done) }()
		time.Sleep(2 * time.Millisecond)
		l.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: a decision never returned after Close", round)
		}
	}
}

// A storage error while reading the ticket is an error, not a refusal.
func TestDecideStorageErrorIsError(t *testing.T) {
	v := newTestVenue(t, 10)
	l := v.open("gate-1")
	// A ticket entry that does not decode, as damage would leave it.
	if err := l.db.Update(func(txn *badger.Txn) error { return txn.Set(ticketKey(1042, 3), []byte{0xff}) }); err != nil {
		t.Fatal(err)
	}
	d, err := l.Decide(context.Background(), Scan{Text: v.code(ticket.Ticket{Serial: 3}), Gate: "G1"})
	if err == nil {
		t.Fatalf("decided %s (%s) on a damaged entry; want an error", d.Reason, d.Detail)
	}
}

// Codes must not escape the manifest: an undefined type, a type that
// disagrees with the manifest's record, zones beyond the issuer's types.
func TestScopeOfCodes(t *testing.T) {
	v := newTestVenue(t, 10)
	l := v.open("gate-1")
	_, typ, _ := v.spec.TypeOf(1)
	other := uint64(3)
	if typ == 3 {
		other = 1
	}
	// A seller allowed type 1 only.
	seller, _ := ticket.GenerateKey(nil)
	cert, err := ticket.SignIssuerCert(ticket.IssuerCert{Name: "seller-1", Key: ticket.PublicOf(seller), Types: []uint64{1},
		SerialMin: 5000, SerialMax: 5999, NotBefore: concertNight.Add(-time24h), NotAfter: concertNight.Add(time24h)}, v.keys.Root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.ApplyChange(v.sign(manifest.KindIssuer, &cert)); err != nil {
		t.Fatal(err)
	}
	sellerCode := func(tk ticket.Ticket) string {
		tk.Event = 1042
		c, err := ticket.Issue(tk, seller)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tc := range []struct {
		name, code, gate string
		want             ticket.Reason
	}{
		{"undefined type", v.code(ticket.Ticket{Serial: 900, Type: 99}), "G1", ticket.ReasonUnknownType},
		{"type differs from manifest", v.code(ticket.Ticket{Serial: 1, Type: other}), "G1", ticket.ReasonTicketMismatch},
		{"seller zone beyond its types", sellerCode(ticket.Ticket{Serial: 5001, Type: 1, Zones: 0b10}), "B1", ticket.ReasonOutOfScope},
		{"seller within scope", sellerCode(ticket.Ticket{Serial: 5002, Type: 1}), "G1", ticket.ReasonOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := scan(t, l, tc.code, tc.gate, "")
			if d.Reason != tc.want {
				t.Errorf("got %s (%s), want %s", d.Reason, d.Detail, tc.want)
			}
			if tc.want == ticket.ReasonTicketMismatch && !strings.Contains(d.Detail, fmt.Sprint(typ)) {
				t.Errorf("detail %q does not name the manifest's type %d", d.Detail, typ)
			}
		})
	}
}

// A revocation applied between prepare and commit is seen by the decision.
func TestRevocationSeenInTransaction(t *testing.T) {
	v := newTestVenue(t, 10)
	l := v.open("gate-1")
	code := v.code(ticket.Ticket{Serial: 7})
	_, req := l.prepare(Scan{Text: code, Gate: "G1"})
	if req == nil {
		t.Fatal("not prepared")
	}
	if _, err := l.ApplyChange(v.sign(manifest.KindRevoke, &manifest.Revoke{Tickets: []manifest.TicketRef{{Event: 1042, Serial: 7}}, Reason: "refunded"})); err != nil {
		t.Fatal(err)
	}
	req.resp = make(chan decideResp, 1)
	req.ctx = context.Background()
	if err := l.enqueue(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	resp := <-req.resp
	if resp.err != nil || resp.d.Reason != ticket.ReasonRevoked {
		t.Errorf("got %s %v, want revoked", resp.d.Reason, resp.err)
	}
}

// A cut or flipped backup restores nothing at all.
func TestRestoreAllOrNothing(t *testing.T) {
	v := newTestVenue(t, 30)
	l := v.open("gate-1")
	for s := range 200 {
		scan(t, l, v.code(ticket.Ticket{Serial: uint64(40_000 + s)}), "G1", "")
	}
	var buf bytes.Buffer
	if _, _, err := l.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(buf.Bytes())
	flipped[len(flipped)*3/4] ^= 0xff
	for name, b := range map[string][]byte{
		"cut":     buf.Bytes()[:buf.Len()*3/4],
		"flipped": flipped,
		"forged":  forgeLastRecord(t, buf.Bytes()),
	} {
		t.Run(name, func(t *testing.T) {
			l2, err := Open(v.device("gate-" + name))
			if err != nil {
				t.Fatal(err)
			}
			defer l2.Close()
			if _, _, err := l2.Restore(context.Background(), bytes.NewReader(b)); err == nil {
				t.Fatal("a damaged backup restored without error")
			}
			st, _ := l2.Stats()
			if st.Records != 0 || st.ManifestSeq != 0 {
				t.Errorf("after a refused restore the ledger holds %d records and manifest %d; want nothing", st.Records, st.ManifestSeq)
			}
		})
	}
}

// forgeLastRecord returns a well-formed backup whose last record carries a
// bad signature: the gzip stream and every line are intact.
func forgeLastRecord(t *testing.T, backup []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(backup))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(plain), []byte("\n"))
	var last backupLine
	if err := json.Unmarshal(lines[len(lines)-1], &last); err != nil || last.Record == "" {
		t.Fatalf("last backup line is not a record: %s", lines[len(lines)-1])
	}
	raw, _ := base64.StdEncoding.DecodeString(last.Record)
	raw[len(raw)-1] ^= 0x01 // inside the signature
	last.Record = base64.StdEncoding.EncodeToString(raw)
	lines[len(lines)-1], _ = json.Marshal(last)
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(append(bytes.Join(lines, []byte("\n")), '\n'))
	zw.Close()
	return out.Bytes()
}
