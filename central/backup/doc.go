// Package backup makes and restores central's backups: one file holding a
// consistent copy of the database (SQLite's VACUUM INTO, or pg_dump's
// custom format for PostgreSQL, both taken while central runs) and a
// description of it.
//
// A backup is a gzip-compressed tar archive: first backup.json (the
// format, when it was made, the dialect and schema version, the rows of
// every table in the copy, the copy's size and SHA-256, and the ids of the
// organizer's keys it goes with), then the copy itself. It is written to a
// temporary file that is renamed into place once complete, so a backup that
// was cut off never carries the final name; and a cut, damaged or foreign
// file is refused when it is restored, saying which, before the target is
// touched. After a restore the rows of every table are counted and must be
// what backup.json says.
//
// The keys under --data are not in the backup: a database backup is made
// often and copied to many places, while the keys change only when one is
// rotated and the root key should live offline. Restore checks that the
// keys beside the target are the ones the backup was made with, and refuses
// to restore without them, since central would otherwise make new keys on
// its first start and no device would trust it.
//
// It must never touch the target before the whole backup has been read and
// checked.
package backup
