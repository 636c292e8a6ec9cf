// Package storetest starts a throwaway PostgreSQL cluster for tests.
//
// Start finds Debian's initdb and pg_ctl (/usr/lib/postgresql/N/bin, or PATH),
// creates a cluster in a temporary directory on a free loopback port and
// starts it; running as root, it runs them as the postgres user, which owns
// the directory (initdb refuses root). Each test asks for its own database
// with NewDatabase; Stop removes the cluster. The package imports only the
// standard library: it hands out DSNs, central/store opens them.
package storetest
