package ledger

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tixgate/tixgate/ticket"
)

// Config configures a ledger.
type Config struct {
	// Dir is the device directory made by Init: identity files and db/.
	Dir string

	// SyncWrites fsyncs every commit before a decision is answered. Off, a
	// power cut can lose the last acknowledged scans; on, a commit costs
	// about 0.25 ms on an SSD, shared by every decision in a group commit.
	SyncWrites bool

	// MemTableSize is the size of Badger's memtables (two are kept): memory
	// at rest grows with it. 16 MB keeps a million tickets under 200 MB.
	MemTableSize int64
	// BlockCacheSize and IndexCacheSize bound Badger's caches. Badger needs
	// a block cache when encryption is on.
	BlockCacheSize int64
	IndexCacheSize int64
	// ValueLogFileSize bounds each value log file. Badger's default (2 GB,
	// sparse) takes real space on FAT SD cards; records are small.
	ValueLogFileSize int64

	// VerifyChecksums checks Badger's checksums on every table and block
	// read from disk and on every value-log entry read: damage becomes an
	// error instead of a used ticket that reads as unused. It costs a CRC
	// per block read from disk (cached blocks are not checked again);
	// BenchmarkDecideChecksums measures it. Off only to measure that cost.
	VerifyChecksums bool

	// MaxBatch bounds how many decisions share one commit.
	MaxBatch int

	// MarkInterval is how often, while the ledger runs, the marker outside
	// Badger (MarkerFile) is brought up to what the store holds. After a
	// crash, a write-ahead log that lost acknowledged records is caught
	// against it: loss older than one interval is refused, never trusted.
	// Each update costs one small file write and two fsyncs; 0 updates it
	// at clean close only.
	MarkInterval time.Duration

	// MaxClockSkew bounds how far ahead of this device's clock a peer's
	// timestamp may drag its hybrid logical clock.
	MaxClockSkew time.Duration

	// Clock tells the time of decisions, validity windows and the hybrid
	// logical clock; tests move a manual one.
	Clock ticket.Clock
	// Logger receives the ledger's and Badger's warnings and errors.
	Logger *slog.Logger
}

// DefaultConfig suits a gate device: durable, small in memory.
func DefaultConfig(dir string) Config {
	return Config{
		Dir:              dir,
		SyncWrites:       true,
		MemTableSize:     16 << 20,
		BlockCacheSize:   16 << 20,
		IndexCacheSize:   16 << 20,
		ValueLogFileSize: 64 << 20,
		VerifyChecksums:  true,
		MaxBatch:         64,
		MarkInterval:     time.Second,
		MaxClockSkew:     5 * time.Minute,
		Clock:            ticket.SystemClock{},
		Logger:           slog.Default(),
	}
}

// check refuses a configuration Open cannot run with; defaults live in
// DefaultConfig only.
func (c *Config) check() error {
	switch {
	case c.Dir == "":
		return errors.New("ledger config: no directory")
	case c.Clock == nil || c.Logger == nil:
		return errors.New("ledger config: no clock or logger (start from DefaultConfig)")
	case c.MaxBatch <= 0:
		return fmt.Errorf("ledger config: MaxBatch %d must be positive", c.MaxBatch)
	case c.MemTableSize <= 0 || c.BlockCacheSize <= 0 || c.IndexCacheSize <= 0 || c.ValueLogFileSize <= 0:
		return errors.New("ledger config: memtable, cache and value log sizes must be positive (Badger needs a block cache when encrypting)")
	case c.MarkInterval < 0 || c.MaxClockSkew < 0:
		return errors.New("ledger config: negative interval")
	}
	return nil
}

// TestConfig is DefaultConfig with smaller files and no fsync, for tests
// that open many ledgers.
func TestConfig(dir string) Config {
	c := DefaultConfig(dir)
	c.SyncWrites = false
	c.MemTableSize = 4 << 20
	c.BlockCacheSize = 4 << 20
	c.IndexCacheSize = 4 << 20
	c.ValueLogFileSize = 16 << 20
	return c
}
