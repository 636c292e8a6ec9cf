-- +goose Up
-- Invoices and credit notes (package central/invoice); the PostgreSQL
-- migration of the same number explains each table.
CREATE TABLE invoice_settings (
    organizer      TEXT PRIMARY KEY,
    invoice_prefix TEXT NOT NULL DEFAULT 'INV',
    credit_prefix  TEXT NOT NULL DEFAULT 'CN',
    seller_name    TEXT NOT NULL DEFAULT '',
    seller_tax_id  TEXT NOT NULL DEFAULT '',
    seller_address TEXT NOT NULL DEFAULT '',
    tax_rate_bp    INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE invoice_counters (
    organizer TEXT NOT NULL,
    series    TEXT NOT NULL,
    last      BIGINT NOT NULL,
    PRIMARY KEY (organizer, series)
);
CREATE TABLE invoices (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
    source       TEXT NOT NULL UNIQUE,
    organizer    TEXT NOT NULL,
    series       TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    number       TEXT NOT NULL,
    order_id     BIGINT NOT NULL,
    refund_tx    BIGINT NOT NULL DEFAULT 0,
    original     BIGINT NOT NULL DEFAULT 0,
    account      BIGINT NOT NULL,
    currency     TEXT NOT NULL,
    subtotal     BIGINT NOT NULL,
    discount     BIGINT NOT NULL,
    tax          BIGINT NOT NULL,
    total        BIGINT NOT NULL,
    tax_rate_bp  INTEGER NOT NULL,
    seller       TEXT NOT NULL,
    buyer_title  TEXT NOT NULL,
    buyer_tax_id TEXT NOT NULL,
    language     TEXT NOT NULL,
    lines        TEXT NOT NULL,
    issued       BIGINT NOT NULL,
    UNIQUE (organizer, series, seq),
    UNIQUE (organizer, number)
);
CREATE INDEX invoices_order ON invoices (order_id);
CREATE INDEX invoices_refund ON invoices (refund_tx);
-- +goose StatementBegin
CREATE TRIGGER invoices_no_update BEFORE UPDATE ON invoices
BEGIN
    SELECT RAISE(ABORT, 'invoices are never changed once issued');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER invoices_no_delete BEFORE DELETE ON invoices
BEGIN
    SELECT RAISE(ABORT, 'invoices are never changed once issued');
END;
-- +goose StatementEnd
CREATE TABLE invoice_titles (
    account BIGINT PRIMARY KEY,
    title   TEXT NOT NULL,
    tax_id  TEXT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE TABLE einvoices (
    invoice_id BIGINT PRIMARY KEY REFERENCES invoices (id),
    provider   TEXT NOT NULL,
    number     TEXT NOT NULL,
    title      TEXT NOT NULL,
    tax_id     TEXT NOT NULL,
    issued     BIGINT NOT NULL,
    detail     TEXT NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE einvoices;
DROP TABLE invoice_titles;
DROP TRIGGER invoices_no_delete;
DROP TRIGGER invoices_no_update;
DROP TABLE invoices;
DROP TABLE invoice_counters;
DROP TABLE invoice_settings;
