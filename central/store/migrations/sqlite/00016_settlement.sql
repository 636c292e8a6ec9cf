-- +goose Up
-- Reconciliation with the payment providers' settlement data (package
-- central/settle). settle_runs is one comparison of a provider's bill of
-- a day (its date in the provider's time zone) with pay_transactions:
-- what it held and what it found. settle_items are what did not agree,
-- one row per movement: missing_ours (the provider moved money central has
-- no record of), missing_theirs (central recorded a movement the bill
-- lacks), amount_differs; each open until finance resolves it with a
-- note, or a later bill matches it.
CREATE TABLE settle_runs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    provider       TEXT NOT NULL,
    day            TEXT NOT NULL,
    at             BIGINT NOT NULL,
    by_user        TEXT NOT NULL,
    source         TEXT NOT NULL,
    file_sha256    TEXT NOT NULL,
    lines          BIGINT NOT NULL,
    matched        BIGINT NOT NULL,
    missing_ours   BIGINT NOT NULL,
    missing_theirs BIGINT NOT NULL,
    amount_differs BIGINT NOT NULL,
    fees           BIGINT NOT NULL
);
CREATE INDEX settle_runs_day ON settle_runs (provider, day);
CREATE TABLE settle_items (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    run          BIGINT NOT NULL REFERENCES settle_runs (id),
    provider     TEXT NOT NULL,
    day          TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('missing_ours', 'missing_theirs', 'amount_differs')),
    kind         TEXT NOT NULL,
    reference    TEXT NOT NULL,
    order_id     BIGINT NOT NULL DEFAULT 0,
    our_amount   BIGINT NOT NULL DEFAULT 0,
    their_amount BIGINT NOT NULL DEFAULT 0,
    currency     TEXT NOT NULL,
    at           BIGINT NOT NULL,
    resolved     BIGINT NOT NULL DEFAULT 0,
    resolved_by  TEXT NOT NULL DEFAULT '',
    note         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX settle_items_open ON settle_items (provider, resolved, reference);
CREATE INDEX settle_items_day ON settle_items (provider, day);

-- +goose Down
DROP TABLE settle_items;
DROP TABLE settle_runs;
