-- +goose Up
-- The sales reports' hourly roll-up: sales_facts summed per hour of sale
-- (UTC, hour_start in microseconds) and every dimension a report groups
-- by, so a month of a million tickets reads as a few thousand rows. It is
-- derived, never the truth: sales_rollup_state says how far it reaches
-- (hours of sale before rolled_until are in it; admissions that arrived
-- before entries_until are counted in its entered), and
-- sales_rollup_dirty lists the hours a late sale (a roaming seller's
-- upload) or a refund changed after they were rolled: the reports read
-- those from sales_facts until the next roll-up recomputes them.
CREATE TABLE sales_rollup (
    hour_start BIGINT NOT NULL,
    event      BIGINT NOT NULL,
    type       BIGINT NOT NULL,
    channel    TEXT NOT NULL,
    method     TEXT NOT NULL,
    region     TEXT NOT NULL,
    age        TEXT NOT NULL,
    currency   TEXT NOT NULL,
    day        TEXT NOT NULL,
    hour       INTEGER NOT NULL,
    tickets    BIGINT NOT NULL,
    revenue    BIGINT NOT NULL,
    refunded   BIGINT NOT NULL,
    refunds    BIGINT NOT NULL,
    entered    BIGINT NOT NULL
);
CREATE INDEX sales_rollup_hour ON sales_rollup (hour_start, event);
CREATE TABLE sales_rollup_dirty (
    event      BIGINT NOT NULL,
    hour_start BIGINT NOT NULL,
    PRIMARY KEY (event, hour_start)
);
CREATE TABLE sales_rollup_state (
    id            INTEGER PRIMARY KEY,
    rolled_until  BIGINT NOT NULL,
    entries_until BIGINT NOT NULL
);
INSERT INTO sales_rollup_state (id, rolled_until, entries_until) VALUES (1, 0, 0);

-- +goose Down
DROP TABLE sales_rollup_state;
DROP TABLE sales_rollup_dirty;
DROP TABLE sales_rollup;
