package ledger

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ticket"
)

// Ledger is a device's ledger. It is safe for concurrent use.
type Ledger struct {
	cfg   Config
	log   *slog.Logger
	db    *guardedDB
	id    *Identity
	trust *ticket.TrustStore
	hlc   *record.Clock

	// mu guards the manifest held in memory: small, read on every scan.
	mu      sync.RWMutex
	applied uint64
	venue   *manifest.Venue
	loc     *time.Location
	events  map[uint64]*manifest.Event
	types   map[[2]uint64]*manifest.TicketType

	manifestMu sync.Mutex // one manifest change applied at a time
	ingestMu   sync.Mutex // one batch of foreign records at a time

	heldMu sync.Mutex
	held   map[ticket.KeyID]bool // origins that may have records held (see mayHold)

	decisions chan *decideReq
	quit      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	// closeMu orders submissions against Close: a decision is queued only
	// under the read lock while closed is false, and Close sets closed
	// under the write lock before it stops the writer, so the writer's
	// final drain sees every request ever queued.
	closeMu sync.RWMutex
	closed  bool

	// repairing, while set, is what the device held before its store was
	// lost: the ledger refuses to decide until it holds that again.
	repairing atomic.Pointer[marker]
	markDone  chan struct{} // closed when keepMarker has stopped

	// sellMu orders sales and voids; receipt is the last receipt number,
	// read from the log on the first sale (receiptRead).
	sellMu      sync.Mutex
	receipt     uint64
	receiptRead bool
	shift       *Shift // the open shift, nil for none, once shiftRead
	shiftRead   bool

	// heads is the version vector in memory (log.go): the mesh asks for
	// it with every digest and every batch it ingests, and reading it from
	// Badger steps over every version of every head in the memtable.
	heads headCache

	hookMu   sync.RWMutex
	onRecord []func(raw []byte, local bool)
	onCommit []func(raws [][]byte)
	onChange []func(raw []byte)

	stats counters
}

type counters struct {
	decisions, admitted, refused atomic.Uint64
	ingested, duplicates, held   atomic.Uint64
	rejected                     atomic.Uint64
	conflicts                    atomic.Uint64
	commits                      atomic.Uint64
}

// ErrClosed is returned by calls on a closed ledger.
var ErrClosed = errors.New("ledger is closed")

// Open opens the ledger of a device directory made by Init.
func Open(cfg Config) (*Ledger, error) { return open(cfg, nil) }

// open opens a ledger; with repairing set, it skips the marker (the store
// is new) and refuses to decide until it holds what repairing says.
func open(cfg Config, repairing *marker) (*Ledger, error) {
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	id, err := LoadIdentity(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	encKey, err := readLedgerKey(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	if err := checkWAL(cfg.Dir); err != nil {
		return nil, fmt.Errorf("open ledger %s: %w", cfg.Dir, err)
	}
	if err := checkFiles(cfg.Dir); err != nil {
		return nil, fmt.Errorf("open ledger %s: %w", cfg.Dir, err)
	}
	// Whatever Badger wrote, even on an open that fails, is the device's
	// user's only.
	defer chmodFiles(filepath.Join(cfg.Dir, dbDir))
	db, err := openBadger(filepath.Join(cfg.Dir, dbDir), encKey, cfg)
	if err != nil {
		return nil, fmt.Errorf("open ledger %s: %w", cfg.Dir, err)
	}
	l := &Ledger{
		cfg:       cfg,
		log:       cfg.Logger,
		db:        &guardedDB{DB: db},
		id:        id,
		trust:     ticket.NewTrustStore(id.Root),
		events:    map[uint64]*manifest.Event{},
		types:     map[[2]uint64]*manifest.TicketType{},
		held:      map[ticket.KeyID]bool{},
		decisions: make(chan *decideReq, 1024),
		quit:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	if err := l.trust.AddDevice(id.Cert); err != nil {
		db.Close()
		return nil, fmt.Errorf("open ledger: own certificate: %w", err)
	}
	if err := l.load(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open ledger %s: %w: %w", cfg.Dir, ErrUnsound, err)
	}
	if repairing != nil {
		l.repairing.Store(repairing)
	} else if err := l.checkMarker(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open ledger %s: %w", cfg.Dir, err)
	} else if err := dropFileSums(cfg.Dir); err != nil {
		db.Close()
		return nil, fmt.Errorf("open ledger %s: %w", cfg.Dir, err)
	}
	go l.writer()
	l.markDone = make(chan struct{})
	go l.keepMarker()
	return l, nil
}

func openBadger(dir string, encKey []byte, cfg Config) (*badger.DB, error) {
	opts := badger.DefaultOptions(dir).
		WithChecksumVerificationMode(checksumMode(cfg.VerifyChecksums)).
		WithVerifyValueChecksum(cfg.VerifyChecksums).
		WithLogger(badgerLogger{cfg.Logger}).
		WithSyncWrites(cfg.SyncWrites).
		WithEncryptionKey(encKey).
		WithMemTableSize(cfg.MemTableSize).
		WithNumMemtables(2).
		WithBlockCacheSize(cfg.BlockCacheSize).
		WithIndexCacheSize(cfg.IndexCacheSize).
		WithValueLogFileSize(cfg.ValueLogFileSize).
		WithNumLevelZeroTables(3).
		WithNumLevelZeroTablesStall(8).
		WithNumCompactors(2).
		WithBaseTableSize(4 << 20).
		// Manifest changes (tens of KB) go to the value log; records and
		// tickets (under 200 bytes) stay in the LSM tree.
		WithValueThreshold(4 << 10)
	db, err := openRecovering(opts)
	switch {
	case err == nil:
		return db, nil
	case errors.Is(err, badger.ErrEncryptionKeyMismatch):
		return nil, fmt.Errorf("the encryption key in %s does not open this ledger: restore the right key file", LedgerKeyFile)
	case strings.Contains(err.Error(), "Cannot acquire directory lock"):
		return nil, errors.New("the ledger is in use by another process (is tixgate edge running on this directory?)")
	}
	return nil, fmt.Errorf("%w: %w: repair it from its peers (tixgate ledger repair --from-peers) or restore a backup", ErrUnsound, err)
}

// checksumMode: with verification on, every table and block read is
// checked against its checksum, so a damaged table is an error, never a
// ticket that seems unused.
func checksumMode(verify bool) options.ChecksumVerificationMode {
	if verify {
		return options.OnTableAndBlockRead
	}
	return options.NoVerification
}

// openRecovering is badger.Open, with a panic inside it (a table cut
// short, a missing key registry) turned into an error.
func openRecovering(opts badger.Options) (db *badger.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("the store's files are damaged (%v)", r)
		}
	}()
	return badger.Open(opts)
}

// chmodFiles makes the store's files readable by the device's user only,
// as its key files are.
func chmodFiles(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !e.IsDir() {
			os.Chmod(filepath.Join(dir, e.Name()), 0o600)
		}
	}
}

// badgerLogger sends Badger's warnings and errors to slog; its info lines
// are chatter at a gate.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	b.l.Error("badger: " + strings.TrimSpace(fmt.Sprintf(f, a...)))
}
func (b badgerLogger) Warningf(f string, a ...any) {
	b.l.Warn("badger: " + strings.TrimSpace(fmt.Sprintf(f, a...)))
}
func (b badgerLogger) Infof(string, ...any)  {}
func (b badgerLogger) Debugf(string, ...any) {}

// Close stops the decision writer and closes the database. Decisions
// already answered are on disk.
func (l *Ledger) Close() error {
	var err error
	l.closeOnce.Do(func() {
		l.closeMu.Lock()
		l.closed = true
		l.closeMu.Unlock()
		close(l.quit)
		<-l.done
		<-l.markDone
		m, merr := l.markerNow()
		err = l.db.Close()
		if err == nil && merr == nil && l.repairing.Load() == nil {
			// Only after a clean close: the marker then says what the
			// store surely holds.
			if m.Files, err = hashFiles(filepath.Join(l.cfg.Dir, dbDir)); err == nil {
				err = writeMarker(l.cfg.Dir, m)
			}
		}
		chmodFiles(filepath.Join(l.cfg.Dir, dbDir))
	})
	return err
}

// Identity is the device's identity.
func (l *Ledger) Identity() *Identity { return l.id }

// Trust is the device's trust store.
func (l *Ledger) Trust() *ticket.TrustStore { return l.trust }

// load reads the derived manifest state into memory and the trust store.
func (l *Ledger) load() error {
	return l.db.View(func(txn *badger.Txn) error {
		if v, err := getValue(txn, []byte{tApplied}); err == nil {
			l.applied = decodeU64(v)
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		if v, err := getValue(txn, []byte{tVenue}); err == nil {
			var venue manifest.Venue
			if err := json.Unmarshal(v, &venue); err != nil {
				return fmt.Errorf("stored venue: %w", err)
			}
			l.setVenue(&venue)
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		if err := eachJSON(txn, []byte{tEvent}, func(e *manifest.Event) { l.setEvent(e) }); err != nil {
			return err
		}
		if err := eachJSON(txn, []byte{tType}, func(t *manifest.TicketType) { l.types[[2]uint64{t.Event, t.ID}] = t }); err != nil {
			return err
		}
		if err := eachJSON(txn, []byte{tIssuer}, func(c *ticket.IssuerCert) {
			if err := l.trust.AddIssuer(*c); err != nil {
				l.log.Warn("stored issuer certificate no longer verifies", "issuer", c.Name, "err", err)
			}
		}); err != nil {
			return err
		}
		if err := eachJSON(txn, []byte{tDevice}, func(c *ticket.DeviceCert) {
			if err := l.trust.AddDevice(*c); err != nil {
				l.log.Warn("stored device certificate no longer verifies", "device", c.Device, "err", err)
			}
		}); err != nil {
			return err
		}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tRevoked}})
		since := map[ticket.KeyID]time.Time{} // 'A' sorts before 'D'
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			switch {
			case len(k) == 6 && k[1] == tRevokedAt:
				v, err := it.Item().ValueCopy(nil)
				if err == nil && len(v) == 8 {
					since[ticket.KeyID(k[2:6])] = time.Unix(0, int64(decodeU64(v))).UTC()
				}
			case len(k) == 6 && k[1] == tIssuer:
				l.trust.RevokeIssuer(ticket.KeyID(k[2:6]))
			case len(k) == 6 && k[1] == tDevice:
				id := ticket.KeyID(k[2:6])
				l.trust.RevokeKeyAt(id, since[id])
			}
		}
		it.Close()
		it = txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tPendRecord}})
		for it.Rewind(); it.Valid(); it.Next() {
			if k := it.Item().Key(); len(k) == 13 {
				l.held[ticket.KeyID(k[1:5])] = true
			}
		}
		it.Close()
		h, err := readHead(txn, l.id.ID())
		if err != nil {
			return err
		}
		l.hlc = record.NewClock(l.cfg.Clock, h.HLC)
		return nil
	})
}

func getValue(txn *badger.Txn, k []byte) ([]byte, error) {
	item, err := txn.Get(k)
	if err != nil {
		return nil, err
	}
	return item.ValueCopy(nil)
}

func decodeU64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// eachJSON decodes every value under a prefix into a new T.
func eachJSON[T any](txn *badger.Txn, prefix []byte, fn func(*T)) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 64})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		err := it.Item().Value(func(v []byte) error {
			t := new(T)
			if err := json.Unmarshal(v, t); err != nil {
				return fmt.Errorf("stored %q: %w", it.Item().Key()[:1], err)
			}
			fn(t)
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func readHead(txn *badger.Txn, origin ticket.KeyID) (head, error) {
	v, err := getValue(txn, headKey(origin))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return head{}, nil
	}
	if err != nil {
		return head{}, err
	}
	h, ok := parseHead(v)
	if !ok {
		return head{}, fmt.Errorf("head of %s is corrupt: run tixgate ledger reindex", origin)
	}
	return h, nil
}

func (l *Ledger) setVenue(v *manifest.Venue) {
	l.venue = v
	l.loc = v.Location()
}

func (l *Ledger) setEvent(e *manifest.Event) {
	l.events[e.ID] = e
	if len(e.RotationSecret) > 0 {
		l.trust.SetRotationSecret(e.ID, e.RotationSecret)
	}
}

// OnRecord registers fn to be called with every record newly stored, after
// it is committed: local says whether this device made it (a decision) or
// ingested it. fn must not block: the mesh queues the bytes for broadcast.
func (l *Ledger) OnRecord(fn func(raw []byte, local bool)) {
	l.hookMu.Lock()
	defer l.hookMu.Unlock()
	l.onRecord = append(l.onRecord, fn)
}

// OnCommit registers fn to be called by the decision writer with the
// records of each group commit, after they are committed and before any of
// their decisions is answered: the mesh sends them to its peers there, so
// an admitted scan is on the network before the gate opens. fn runs on the
// writer and delays every answer of the batch: it must cost microseconds.
func (l *Ledger) OnCommit(fn func(raws [][]byte)) {
	l.hookMu.Lock()
	defer l.hookMu.Unlock()
	l.onCommit = append(l.onCommit, fn)
}

// OnChange registers fn to be called with every manifest change newly
// applied. fn must not block.
func (l *Ledger) OnChange(fn func(raw []byte)) {
	l.hookMu.Lock()
	defer l.hookMu.Unlock()
	l.onChange = append(l.onChange, fn)
}

func (l *Ledger) notifyRecords(raws [][]byte, local bool) {
	l.heads.advance(raws)
	l.hookMu.RLock()
	hooks := l.onRecord
	commits := l.onCommit
	l.hookMu.RUnlock()
	if local {
		for _, fn := range commits {
			fn(raws)
		}
	}
	for _, fn := range hooks {
		for _, r := range raws {
			fn(r, local)
		}
	}
}

func (l *Ledger) notifyChange(raw []byte) {
	l.hookMu.RLock()
	hooks := l.onChange
	l.hookMu.RUnlock()
	for _, fn := range hooks {
		fn(raw)
	}
}

// DiskSize is the space the ledger's files take on disk: allocated blocks,
// not the apparent size of Badger's sparse, preallocated files.
func (l *Ledger) DiskSize() int64 {
	var n int64
	filepath.Walk(filepath.Join(l.cfg.Dir, dbDir), func(_ string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return nil
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			n += st.Blocks * 512
		} else {
			n += fi.Size()
		}
		return nil
	})
	return n
}
