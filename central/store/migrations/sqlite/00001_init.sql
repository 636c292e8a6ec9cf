-- +goose Up
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
CREATE TABLE venues (
    name      TEXT PRIMARY KEY,
    organizer TEXT NOT NULL DEFAULT '',
    time_zone TEXT NOT NULL
);
CREATE TABLE zones (
    venue TEXT NOT NULL REFERENCES venues (name),
    id    INTEGER NOT NULL,
    name  TEXT NOT NULL,
    PRIMARY KEY (venue, id)
);
CREATE TABLE gates (
    venue TEXT NOT NULL REFERENCES venues (name),
    name  TEXT NOT NULL,
    zone  INTEGER NOT NULL,
    PRIMARY KEY (venue, name)
);
CREATE TABLE events (
    id              BIGINT PRIMARY KEY,
    venue           TEXT NOT NULL REFERENCES venues (name),
    name            TEXT NOT NULL,
    starts          BIGINT NOT NULL,
    ends            BIGINT NOT NULL,
    admission       BIGINT NOT NULL DEFAULT 0,
    rotation_secret BLOB
);
CREATE TABLE ticket_types (
    event BIGINT NOT NULL REFERENCES events (id),
    id    BIGINT NOT NULL,
    name  TEXT NOT NULL,
    zones TEXT NOT NULL DEFAULT '[]',
    rule  TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (event, id)
);
CREATE TABLE tickets (
    event      BIGINT NOT NULL,
    serial     BIGINT NOT NULL,
    type       BIGINT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'valid',
    holder     TEXT NOT NULL DEFAULT '',
    seat       TEXT NOT NULL DEFAULT '',
    code       TEXT NOT NULL DEFAULT '',
    issuer     TEXT NOT NULL DEFAULT '',
    issued_at  BIGINT NOT NULL,
    revoked_at BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (event, serial)
);
CREATE TABLE manifest (
    seq     BIGINT PRIMARY KEY,
    kind    TEXT NOT NULL,
    line    BLOB NOT NULL,
    created BIGINT NOT NULL
);
CREATE TABLE devices (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT NOT NULL UNIQUE,
    role            TEXT NOT NULL,
    venue           TEXT NOT NULL,
    gate            TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL,
    key_id          TEXT UNIQUE,
    cert            TEXT NOT NULL DEFAULT '',
    credential_hash BLOB,
    created         BIGINT NOT NULL,
    enrolled_at     BIGINT NOT NULL DEFAULT 0,
    revoked_at      BIGINT NOT NULL DEFAULT 0,
    last_seen       BIGINT NOT NULL DEFAULT 0,
    version         TEXT NOT NULL DEFAULT '',
    hardware        TEXT NOT NULL DEFAULT '',
    manifest_seq    BIGINT NOT NULL DEFAULT 0,
    backlog         BIGINT NOT NULL DEFAULT 0,
    skew_ms         BIGINT NOT NULL DEFAULT 0,
    uplink_state    TEXT NOT NULL DEFAULT ''
);
CREATE TABLE setup_tokens (
    hash    BLOB PRIMARY KEY,
    device  BIGINT NOT NULL REFERENCES devices (id),
    expires BIGINT NOT NULL,
    used_at BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE records (
    origin  TEXT NOT NULL,
    seq     BIGINT NOT NULL,
    hash    BLOB NOT NULL,
    raw     BLOB NOT NULL,
    kind    INTEGER NOT NULL,
    event   BIGINT NOT NULL,
    serial  BIGINT NOT NULL,
    type    BIGINT NOT NULL,
    gate    TEXT NOT NULL,
    zone    INTEGER NOT NULL,
    at      BIGINT NOT NULL,
    arrived BIGINT NOT NULL,
    via     TEXT NOT NULL,
    PRIMARY KEY (origin, seq)
);
CREATE INDEX records_ticket ON records (event, serial);
CREATE INDEX records_arrived ON records (arrived);
CREATE TABLE refusals (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    record TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    via    TEXT NOT NULL,
    at     BIGINT NOT NULL
);
CREATE TABLE conflicts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT NOT NULL,
    event         BIGINT NOT NULL,
    serial        BIGINT NOT NULL,
    reason        TEXT NOT NULL,
    detail        TEXT NOT NULL,
    first_record  TEXT NOT NULL,
    second_record TEXT NOT NULL,
    found_at      BIGINT NOT NULL,
    resolution    TEXT NOT NULL DEFAULT '',
    resolved_by   TEXT NOT NULL DEFAULT '',
    resolved_at   BIGINT NOT NULL DEFAULT 0,
    note          TEXT NOT NULL DEFAULT '',
    UNIQUE (kind, event, serial, first_record, second_record)
);
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created       BIGINT NOT NULL
);
CREATE TABLE sessions (
    hash    BLOB PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    csrf    TEXT NOT NULL,
    expires BIGINT NOT NULL
);
CREATE TABLE api_tokens (
    hash    BLOB PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    name    TEXT NOT NULL,
    scopes  TEXT NOT NULL,
    created BIGINT NOT NULL
);
CREATE TABLE login_failures (
    name TEXT NOT NULL,
    at   BIGINT NOT NULL
);
CREATE INDEX login_failures_name ON login_failures (name, at);
CREATE TABLE audit (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     BIGINT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);

-- +goose Down
DROP TABLE audit;
DROP TABLE login_failures;
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE conflicts;
DROP TABLE refusals;
DROP TABLE records;
DROP TABLE setup_tokens;
DROP TABLE devices;
DROP TABLE manifest;
DROP TABLE tickets;
DROP TABLE ticket_types;
DROP TABLE events;
DROP TABLE gates;
DROP TABLE zones;
DROP TABLE venues;
DROP TABLE counters;
