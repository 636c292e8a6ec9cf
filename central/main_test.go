package central

import (
	"testing"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/central/store/storetest"
)

var pg *storetest.Cluster

// TestMain starts one PostgreSQL cluster for the package, so the server's
// tests run on both databases; with -short only SQLite runs.
func TestMain(m *testing.M) { storetest.Main(m, &pg) }

// dialects are the databases the tests run on.
func dialects() []store.Dialect {
	if pg == nil {
		return []store.Dialect{store.SQLite}
	}
	return []store.Dialect{store.SQLite, store.Postgres}
}

// forEachDialect runs a test on each database.
func forEachDialect(t *testing.T, fn func(t *testing.T, dsn string)) {
	for _, d := range dialects() {
		t.Run(string(d), func(t *testing.T) {
			dsn := ""
			if d == store.Postgres {
				dsn = pg.NewDatabase(t)
			}
			fn(t, dsn)
		})
	}
}
