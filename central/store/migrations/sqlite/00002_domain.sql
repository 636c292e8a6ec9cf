-- +goose Up
-- The domain as central serves it: organizers above venues; events carry
-- their time zone and the local days they span; the manifest is numbered per
-- venue, and each subject (the venue, an event, a type, a batch of tickets,
-- a certificate) remembers the hash of the body last signed for it, so an
-- import that changes nothing signs nothing; revocations; the device's
-- public key; and per-origin acknowledgements of the records received.
CREATE TABLE organizers (
    name    TEXT PRIMARY KEY,
    created BIGINT NOT NULL
);
ALTER TABLE events ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN days TEXT NOT NULL DEFAULT '[]';
DROP TABLE manifest;
CREATE TABLE manifest (
    venue   TEXT NOT NULL,
    seq     BIGINT NOT NULL,
    kind    TEXT NOT NULL,
    subject TEXT NOT NULL,
    line    BLOB NOT NULL,
    created BIGINT NOT NULL,
    PRIMARY KEY (venue, seq)
);
CREATE TABLE manifest_subjects (
    venue     TEXT NOT NULL,
    subject   TEXT NOT NULL,
    seq       BIGINT NOT NULL,
    body_hash BLOB NOT NULL,
    PRIMARY KEY (venue, subject)
);
CREATE TABLE revocations (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    kind    TEXT NOT NULL,
    subject TEXT NOT NULL,
    reason  TEXT NOT NULL,
    at      BIGINT NOT NULL,
    UNIQUE (kind, subject)
);
ALTER TABLE devices ADD COLUMN public_key BLOB;
CREATE TABLE acks (
    origin  TEXT PRIMARY KEY,
    seq     BIGINT NOT NULL,
    hash    BLOB NOT NULL,
    updated BIGINT NOT NULL
);

-- +goose Down
DROP TABLE acks;
ALTER TABLE devices DROP COLUMN public_key;
DROP TABLE revocations;
DROP TABLE manifest_subjects;
DROP TABLE manifest;
CREATE TABLE manifest (
    seq     BIGINT PRIMARY KEY,
    kind    TEXT NOT NULL,
    line    BLOB NOT NULL,
    created BIGINT NOT NULL
);
ALTER TABLE events DROP COLUMN days;
ALTER TABLE events DROP COLUMN time_zone;
DROP TABLE organizers;
