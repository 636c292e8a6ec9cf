-- +goose Up
-- Conflicts as reconciliation finds them (beside the sellers' conflicts
-- table): one row per conflict ID (a hash of
-- what it is about), replaced as more records arrive, closed when a later
-- pass no longer finds it; each ticket reconciled has a row in reconciled,
-- which serializes the passes of several central processes over one ticket.
-- Resolutions are kept in order, the latest in force. Staff sessions carry
-- their start; users may be disabled; the audit log names the target of each
-- action and refuses to be changed.
CREATE TABLE ticket_conflicts (
    id          TEXT PRIMARY KEY,
    venue       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    event       BIGINT NOT NULL,
    serial      BIGINT NOT NULL,
    detail      TEXT NOT NULL,
    records     TEXT NOT NULL,
    found_at    BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    closed_at   BIGINT NOT NULL DEFAULT 0,
    resolution  TEXT NOT NULL DEFAULT '',
    resolved_by TEXT NOT NULL DEFAULT '',
    resolved_at BIGINT NOT NULL DEFAULT 0,
    note        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ticket_conflicts_ticket ON ticket_conflicts (event, serial);
CREATE INDEX ticket_conflicts_venue ON ticket_conflicts (venue, closed_at);
CREATE TABLE conflict_resolutions (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    conflict TEXT NOT NULL REFERENCES ticket_conflicts (id),
    action   TEXT NOT NULL,
    by_user  TEXT NOT NULL,
    at       BIGINT NOT NULL,
    note     TEXT NOT NULL DEFAULT ''
);
CREATE TABLE reconciled (
    event   BIGINT NOT NULL,
    serial  BIGINT NOT NULL,
    at      BIGINT NOT NULL,
    records BIGINT NOT NULL,
    PRIMARY KEY (event, serial)
);
ALTER TABLE users ADD COLUMN disabled_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN created BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit ADD COLUMN target TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_at ON audit (at);
-- +goose StatementBegin
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER audit_no_delete;
DROP TRIGGER audit_no_update;
DROP INDEX audit_at;
ALTER TABLE audit DROP COLUMN target;
ALTER TABLE sessions DROP COLUMN created;
ALTER TABLE users DROP COLUMN disabled_at;
DROP TABLE reconciled;
DROP TABLE conflict_resolutions;
DROP TABLE ticket_conflicts;
