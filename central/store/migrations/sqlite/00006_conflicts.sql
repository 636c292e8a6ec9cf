-- +goose Up
-- One conflicts table. The sellers' double sales used to go to the first
-- schema's conflicts table and reconciliation's conflicts to
-- ticket_conflicts; now both are reconciliation's conflicts, kept by their
-- IDs in one table that ops see whole. ticket_conflicts becomes conflicts
-- (its resolutions' reference follows the rename), and the old rows move
-- into it: each gets the ID "c" and its old number in 32 hex digits, its
-- two records (origin/seq) as the records it names, with their origin,
-- sequence, device name and kind, and its venue from its event. An
-- old row whose ticket already has a conflict of the same kind is that
-- conflict, and is not moved twice.
ALTER TABLE conflicts RENAME TO conflicts_before_00006;
ALTER TABLE ticket_conflicts RENAME TO conflicts;
DROP INDEX ticket_conflicts_ticket;
DROP INDEX ticket_conflicts_venue;
CREATE INDEX conflicts_ticket ON conflicts (event, serial);
CREATE INDEX conflicts_venue ON conflicts (venue, closed_at);
INSERT INTO conflicts (id, venue, kind, reason, event, serial, detail, records, found_at, updated_at,
    resolution, resolved_by, resolved_at, note)
SELECT printf('c%032x', o.id), COALESCE((SELECT e.venue FROM events e WHERE e.id = o.event), ''),
    o.kind, o.reason, o.event, o.serial, o.detail,
    json_array(json_object('record', o.first_record, 'origin', substr(o.first_record, 1, instr(o.first_record, '/') - 1), 'seq', CAST(substr(o.first_record, instr(o.first_record, '/') + 1) AS INTEGER),
        'device', COALESCE((SELECT d.name FROM devices d WHERE d.key_id = substr(o.first_record, 1, instr(o.first_record, '/') - 1)), substr(o.first_record, 1, instr(o.first_record, '/') - 1)),
        'kind', CASE o.kind WHEN 'double_sale' THEN 'sale' ELSE 'entry' END),
      json_object('record', o.second_record, 'origin', substr(o.second_record, 1, instr(o.second_record, '/') - 1), 'seq', CAST(substr(o.second_record, instr(o.second_record, '/') + 1) AS INTEGER),
        'device', COALESCE((SELECT d.name FROM devices d WHERE d.key_id = substr(o.second_record, 1, instr(o.second_record, '/') - 1)), substr(o.second_record, 1, instr(o.second_record, '/') - 1)),
        'kind', CASE o.kind WHEN 'double_sale' THEN 'sale' ELSE 'entry' END)),
    o.found_at, o.found_at, o.resolution, o.resolved_by, o.resolved_at, o.note
FROM conflicts_before_00006 o
WHERE NOT EXISTS (SELECT 1 FROM conflicts c WHERE c.event = o.event AND c.serial = o.serial AND c.kind = o.kind);
DROP TABLE conflicts_before_00006;

-- +goose Down
-- The old table comes back empty: its rows stay in conflicts, which
-- becomes ticket_conflicts again.
DROP INDEX conflicts_venue;
DROP INDEX conflicts_ticket;
ALTER TABLE conflicts RENAME TO ticket_conflicts;
CREATE INDEX ticket_conflicts_ticket ON ticket_conflicts (event, serial);
CREATE INDEX ticket_conflicts_venue ON ticket_conflicts (venue, closed_at);
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
