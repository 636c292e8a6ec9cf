-- +goose Up
-- Refunds of the box office's orders (central/shop refund.go).
--
-- shop_refund_policies is each event's ladder of refund fees, as the
-- pricing package's RefundPolicy (JSON), set by ops; an event without a
-- row refunds nothing by itself (staff can still cancel an order whole).
CREATE TABLE shop_refund_policies (
    event      BIGINT PRIMARY KEY,
    body       TEXT NOT NULL,
    updated    BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);
-- shop_refunds is one refund of some of an order's tickets: what the
-- ladder computed (amount back and fee, minor units of currency), who asked
-- (the buyer, or the staff member with the reason), and whether the money
-- is back (state pending until the provider took the refund, then done).
-- key is the idempotency key: the same confirmation twice is one refund.
-- kind is refund, or exchange: the ticket given back for another (amount is
-- then the difference paid back, fee the exchange fee).
CREATE TABLE shop_refunds (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    key        TEXT NOT NULL UNIQUE,
    order_id   BIGINT NOT NULL REFERENCES shop_orders (id),
    currency   TEXT NOT NULL,
    amount     BIGINT NOT NULL,
    fee        BIGINT NOT NULL,
    method     TEXT NOT NULL,
    actor      TEXT NOT NULL,
    reason     TEXT NOT NULL,
    quote      TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('pending', 'done')),
    created    BIGINT NOT NULL,
    done_at    BIGINT NOT NULL DEFAULT 0,
    note       TEXT NOT NULL DEFAULT '',
    kind       TEXT NOT NULL DEFAULT 'refund' CHECK (kind IN ('refund', 'exchange'))
);
CREATE INDEX shop_refunds_order ON shop_refunds (order_id);
CREATE INDEX shop_refunds_state ON shop_refunds (state);
-- A ticket is refunded once: the primary key refuses a second refund of
-- it, whatever races.
CREATE TABLE shop_refund_tickets (
    event     BIGINT NOT NULL,
    serial    BIGINT NOT NULL,
    refund_id BIGINT NOT NULL REFERENCES shop_refunds (id),
    amount    BIGINT NOT NULL,
    PRIMARY KEY (event, serial)
);
-- What a ticket issued by an exchange paid (the order's quote priced the
-- ticket it replaced), so a later refund or exchange starts from it.
CREATE TABLE shop_ticket_prices (
    event    BIGINT NOT NULL,
    serial   BIGINT NOT NULL,
    currency TEXT NOT NULL,
    paid     BIGINT NOT NULL,
    PRIMARY KEY (event, serial)
);

-- +goose Down
DROP TABLE shop_ticket_prices;
DROP TABLE shop_refund_tickets;
DROP TABLE shop_refunds;
DROP TABLE shop_refund_policies;
