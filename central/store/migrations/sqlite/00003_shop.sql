-- +goose Up
-- The box office. Stock is counted in pools, each a cap and what is taken
-- of it (held by a pending order or sold): one per ticket type, one per
-- event (the hall across types), one per event day, one per account and
-- event (the purchase limit). Taking n from a pool is one conditional
-- UPDATE (taken + n <= cap), so two buyers can never both take the last
-- ticket; an order's holds say what to give back when it expires.
CREATE TABLE shop_pools (
    name  TEXT PRIMARY KEY,
    cap   BIGINT NOT NULL,
    taken BIGINT NOT NULL DEFAULT 0,
    CHECK (taken >= 0 AND taken <= cap)
);
-- What a ticket type sells at: price in minor units of currency, the roles
-- that may buy it (space separated; empty: anyone), the on-sale window and
-- the event day it admits on ('' for every day).
CREATE TABLE shop_offers (
    event         BIGINT NOT NULL,
    type          BIGINT NOT NULL,
    currency      TEXT NOT NULL,
    price         BIGINT NOT NULL,
    roles         TEXT NOT NULL DEFAULT '',
    sale_from     BIGINT NOT NULL DEFAULT 0,
    sale_until    BIGINT NOT NULL DEFAULT 0,
    day           TEXT NOT NULL DEFAULT '',
    max_per_order INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (event, type)
);
-- Promotions as the pricing package reads them (JSON), with their use count.
CREATE TABLE shop_promotions (
    id    TEXT PRIMARY KEY,
    event BIGINT NOT NULL,
    body  TEXT NOT NULL,
    lim   BIGINT NOT NULL DEFAULT 0,
    used  BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE shop_accounts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT UNIQUE,
    phone         TEXT UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    verified_at   BIGINT NOT NULL DEFAULT 0,
    created       BIGINT NOT NULL
);
-- Email verification links and buyer sessions, by the hash of their token.
CREATE TABLE shop_tokens (
    hash    BLOB PRIMARY KEY,
    kind    TEXT NOT NULL,
    account BIGINT NOT NULL REFERENCES shop_accounts (id),
    expires BIGINT NOT NULL
);
CREATE TABLE shop_orders (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    account  BIGINT NOT NULL REFERENCES shop_accounts (id),
    event    BIGINT NOT NULL,
    status   TEXT NOT NULL,
    currency TEXT NOT NULL,
    total    BIGINT NOT NULL,
    quote    TEXT NOT NULL,
    method   TEXT NOT NULL DEFAULT '',
    created  BIGINT NOT NULL,
    expires  BIGINT NOT NULL,
    paid_at  BIGINT NOT NULL DEFAULT 0,
    closed_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX shop_orders_pending ON shop_orders (status, expires);
CREATE TABLE shop_order_items (
    order_id BIGINT NOT NULL REFERENCES shop_orders (id),
    type     BIGINT NOT NULL,
    quantity INTEGER NOT NULL,
    PRIMARY KEY (order_id, type)
);
CREATE TABLE shop_holds (
    order_id BIGINT NOT NULL REFERENCES shop_orders (id),
    pool     TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    PRIMARY KEY (order_id, pool)
);
CREATE TABLE shop_order_tickets (
    order_id BIGINT NOT NULL REFERENCES shop_orders (id),
    event    BIGINT NOT NULL,
    serial   BIGINT NOT NULL,
    PRIMARY KEY (event, serial)
);
CREATE INDEX shop_order_tickets_order ON shop_order_tickets (order_id);

-- +goose Down
DROP TABLE shop_order_tickets;
DROP TABLE shop_holds;
DROP TABLE shop_order_items;
DROP TABLE shop_orders;
DROP TABLE shop_tokens;
DROP TABLE shop_accounts;
DROP TABLE shop_promotions;
DROP TABLE shop_offers;
DROP TABLE shop_pools;
