-- +goose Up
-- Payments through providers (package central/pay); the PostgreSQL
-- migration of the same number explains each table.
CREATE TABLE pay_intents (
    key          TEXT PRIMARY KEY,
    order_id     BIGINT NOT NULL REFERENCES shop_orders (id),
    account      BIGINT NOT NULL,
    provider     TEXT NOT NULL,
    amount       BIGINT NOT NULL,
    currency     TEXT NOT NULL,
    created      BIGINT NOT NULL
);
CREATE INDEX pay_intents_order ON pay_intents (order_id);
CREATE TABLE pay_transactions (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind      TEXT NOT NULL CHECK (kind IN ('payment', 'refund', 'fee', 'chargeback')),
    provider  TEXT NOT NULL,
    reference TEXT NOT NULL,
    intent    TEXT NOT NULL,
    order_id  BIGINT NOT NULL,
    account   BIGINT NOT NULL,
    amount    BIGINT NOT NULL CHECK (amount >= 0),
    currency  TEXT NOT NULL,
    at        BIGINT NOT NULL,
    buyer_ref TEXT NOT NULL DEFAULT '',
    note      TEXT NOT NULL DEFAULT '',
    UNIQUE (provider, kind, reference)
);
CREATE INDEX pay_transactions_order ON pay_transactions (order_id);
CREATE INDEX pay_transactions_at ON pay_transactions (at);
-- +goose StatementBegin
CREATE TRIGGER pay_transactions_no_update BEFORE UPDATE ON pay_transactions
BEGIN
    SELECT RAISE(ABORT, 'pay_transactions is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pay_transactions_no_delete BEFORE DELETE ON pay_transactions
BEGIN
    SELECT RAISE(ABORT, 'pay_transactions is append-only');
END;
-- +goose StatementEnd
CREATE TABLE pay_claims (
    order_id  BIGINT PRIMARY KEY,
    provider  TEXT NOT NULL,
    reference TEXT NOT NULL,
    at        BIGINT NOT NULL
);

-- +goose Down
DROP TABLE pay_claims;
DROP TRIGGER pay_transactions_no_delete;
DROP TRIGGER pay_transactions_no_update;
DROP TABLE pay_transactions;
DROP TABLE pay_intents;
