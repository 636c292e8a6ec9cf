-- +goose Up
-- Offline sales. A seller quota is a block of serials of one event and
-- ticket type that central reserved for a seller device and certified for
-- its key; seller_limits bound the blocks a device may ask for itself.
-- seller_lines hold every money record a seller signed (a ticket sold or
-- voided, a shift opened or closed, cash in or out), one row per record, so
-- reading a record twice changes nothing; seller_orders are the receipts
-- made of them, and seller_shifts the cash report of each shift.
CREATE TABLE seller_quotas (
    id          BIGSERIAL PRIMARY KEY,
    device      TEXT NOT NULL,
    venue       TEXT NOT NULL,
    event       BIGINT NOT NULL,
    type        BIGINT NOT NULL,
    serial_min  BIGINT NOT NULL,
    serial_max  BIGINT NOT NULL,
    zones       BIGINT NOT NULL,
    not_before  BIGINT NOT NULL,
    not_after   BIGINT NOT NULL,
    price       BIGINT NOT NULL,
    currency    TEXT NOT NULL,
    cert        TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'active',
    kept_max    BIGINT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    asked       INTEGER NOT NULL DEFAULT 0,
    created     BIGINT NOT NULL,
    changed     BIGINT NOT NULL DEFAULT 0,
    UNIQUE (event, serial_min)
);
CREATE INDEX seller_quotas_device ON seller_quotas (device, event, type);
CREATE TABLE seller_limits (
    device     TEXT NOT NULL,
    event      BIGINT NOT NULL,
    type       BIGINT NOT NULL,
    block      BIGINT NOT NULL,
    max_total  BIGINT NOT NULL,
    PRIMARY KEY (device, event, type)
);
CREATE TABLE seller_lines (
    origin    TEXT NOT NULL,
    seq       BIGINT NOT NULL,
    device    TEXT NOT NULL,
    kind      INTEGER NOT NULL,
    receipt   BIGINT NOT NULL,
    event     BIGINT NOT NULL,
    serial    BIGINT NOT NULL,
    type      BIGINT NOT NULL,
    amount    BIGINT NOT NULL,
    currency  TEXT NOT NULL,
    method    TEXT NOT NULL,
    given     BIGINT NOT NULL,
    ref       TEXT NOT NULL,
    till      TEXT NOT NULL,
    actor     TEXT NOT NULL,
    reason    TEXT NOT NULL,
    note      TEXT NOT NULL,
    at        BIGINT NOT NULL,
    PRIMARY KEY (origin, seq)
);
CREATE INDEX seller_lines_receipt ON seller_lines (origin, receipt);
CREATE TABLE seller_orders (
    id         BIGSERIAL PRIMARY KEY,
    channel    TEXT NOT NULL DEFAULT 'seller',
    device     TEXT NOT NULL,
    origin     TEXT NOT NULL,
    receipt    BIGINT NOT NULL,
    event      BIGINT NOT NULL,
    type       BIGINT NOT NULL,
    tickets    INTEGER NOT NULL,
    total      BIGINT NOT NULL,
    currency   TEXT NOT NULL,
    method     TEXT NOT NULL,
    given      BIGINT NOT NULL,
    change_due BIGINT NOT NULL,
    ref        TEXT NOT NULL,
    seller     TEXT NOT NULL,
    till       TEXT NOT NULL,
    status     TEXT NOT NULL,
    sold_at    BIGINT NOT NULL,
    voided_at  BIGINT NOT NULL DEFAULT 0,
    refunded   BIGINT NOT NULL DEFAULT 0,
    UNIQUE (origin, receipt)
);
CREATE INDEX seller_orders_device ON seller_orders (device, sold_at);
CREATE TABLE seller_payments (
    order_id  BIGINT NOT NULL,
    kind      TEXT NOT NULL,
    method    TEXT NOT NULL,
    amount    BIGINT NOT NULL,
    currency  TEXT NOT NULL,
    ref       TEXT NOT NULL,
    at        BIGINT NOT NULL,
    PRIMARY KEY (order_id, kind)
);
CREATE TABLE seller_shifts (
    origin     TEXT NOT NULL,
    number     BIGINT NOT NULL,
    device     TEXT NOT NULL,
    day        TEXT NOT NULL,
    seller     TEXT NOT NULL,
    till       TEXT NOT NULL,
    currency   TEXT NOT NULL,
    opened     BIGINT NOT NULL,
    closed     BIGINT NOT NULL DEFAULT 0,
    report     TEXT NOT NULL,
    PRIMARY KEY (origin, number)
);
CREATE INDEX seller_shifts_day ON seller_shifts (device, day);
-- Finding the seller records not read yet, after each upload.
CREATE INDEX records_kind ON records (kind, origin, seq);

-- +goose Down
DROP INDEX records_kind;
DROP TABLE seller_shifts;
DROP TABLE seller_payments;
DROP TABLE seller_orders;
DROP TABLE seller_lines;
DROP TABLE seller_limits;
DROP TABLE seller_quotas;
