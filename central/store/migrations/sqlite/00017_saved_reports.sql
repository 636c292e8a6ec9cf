-- +goose Up
-- Sales reports that ops saved: what they group by, of which event (0:
-- all), over the last days days, and when they go out by mail (schedule
-- daily or weekly, '' for none) to whom (recipients, comma-separated
-- addresses); last_sent is when the last scheduled mail went.
CREATE TABLE saved_reports (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    by_dim     TEXT NOT NULL,
    event      BIGINT NOT NULL DEFAULT 0,
    days       INTEGER NOT NULL,
    schedule   TEXT NOT NULL DEFAULT '' CHECK (schedule IN ('', 'daily', 'weekly')),
    recipients TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created    BIGINT NOT NULL,
    updated    BIGINT NOT NULL,
    last_sent  BIGINT NOT NULL DEFAULT 0
);
-- The buyers' analytics read a buyer's purchases across events.
CREATE INDEX sales_facts_buyer ON sales_facts (buyer, event);

-- +goose Down
DROP INDEX sales_facts_buyer;
DROP TABLE saved_reports;
