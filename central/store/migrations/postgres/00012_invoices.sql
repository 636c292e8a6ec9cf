-- +goose Up
-- Invoices and credit notes (package central/invoice).
-- invoice_settings is what an organizer prints as the seller and how it
-- numbers: the prefixes of its two series, its tax number and address,
-- and the tax rate its prices include (basis points; 0 shows no tax).
CREATE TABLE invoice_settings (
    organizer      TEXT PRIMARY KEY,
    invoice_prefix TEXT NOT NULL DEFAULT 'INV',
    credit_prefix  TEXT NOT NULL DEFAULT 'CN',
    seller_name    TEXT NOT NULL DEFAULT '',
    seller_tax_id  TEXT NOT NULL DEFAULT '',
    seller_address TEXT NOT NULL DEFAULT '',
    tax_rate_bp    INTEGER NOT NULL DEFAULT 0
);
-- invoice_counters holds the last number of each series of an organizer
-- ("INV-2026", "CN-2026"): a number is taken by updating its row in the
-- transaction that inserts the invoice, so a rolled-back invoice gives
-- its number back and two never get one number.
CREATE TABLE invoice_counters (
    organizer TEXT NOT NULL,
    series    TEXT NOT NULL,
    last      BIGINT NOT NULL,
    PRIMARY KEY (organizer, series)
);
-- invoices are the invoices and credit notes issued: one per source
-- ("order:ID" for a paid order's invoice, "refund:TX" for a refund's
-- credit note, "cancel:ID" for a cancelled order paid at the counter),
-- never changed once written. Amounts are minor units of currency,
-- negative on credit notes; lines is JSON.
CREATE TABLE invoices (
    id           BIGSERIAL PRIMARY KEY,
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
CREATE FUNCTION invoices_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'invoices are never changed once issued';
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER invoices_no_update BEFORE UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION invoices_append_only();
-- invoice_titles is the title (抬头) and tax number (税号) a buyer
-- wants on invoices.
CREATE TABLE invoice_titles (
    account BIGINT PRIMARY KEY,
    title   TEXT NOT NULL,
    tax_id  TEXT NOT NULL,
    updated BIGINT NOT NULL
);
-- einvoices are the e-invoices (China's 数电票: blue for an invoice, red
-- for a credit note) a tax platform issued for invoices.
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
DROP TRIGGER invoices_no_update ON invoices;
DROP FUNCTION invoices_append_only();
DROP TABLE invoices;
DROP TABLE invoice_counters;
DROP TABLE invoice_settings;
