// Package store is central's database: one schema, versioned with goose
// migrations embedded in the binary, on SQLite (modernc.org/sqlite, no cgo;
// the default, a file under the data folder) or PostgreSQL (pgx). It is the
// only package of tixgate that imports SQL drivers; the rest of central
// talks to it through the methods below, one file per domain noun.
//
// Queries are written once for both dialects: numbered placeholders ($1,
// $2, … in order of first use, which SQLite binds by position too), times
// as microseconds since the Unix epoch in BIGINT columns, bytes as BLOB or
// BYTEA, ON CONFLICT for idempotent writes. Central keeps no state outside
// the database, so several central processes may share one PostgreSQL:
// every write that must be unique is guarded by a key the database checks,
// and numbering (manifest changes, serials) goes through one locked row.
//
// It must never log a secret: credentials and tokens are stored as SHA-256
// hashes, passwords as argon2id hashes made by the caller.
package store
