-- +goose Up
-- The box office, continued: the buyer's profile and consents, what the
-- anti-fraud checks refused, the proof-of-work captcha's spent challenges,
-- waiting lists, on-sale waiting rooms and sponsors' allocations.
ALTER TABLE shop_accounts ADD COLUMN contact TEXT NOT NULL DEFAULT '';
ALTER TABLE shop_accounts ADD COLUMN address TEXT NOT NULL DEFAULT '';
ALTER TABLE shop_accounts ADD COLUMN language TEXT NOT NULL DEFAULT '';
ALTER TABLE shop_accounts ADD COLUMN deleted_at BIGINT NOT NULL DEFAULT 0;
-- Every consent given or withdrawn, with the words the buyer was shown:
-- the newest row of a kind is the consent in force.
CREATE TABLE shop_consents (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    account  BIGINT NOT NULL REFERENCES shop_accounts (id),
    kind     TEXT NOT NULL,
    granted  INTEGER NOT NULL,
    wording  TEXT NOT NULL,
    language TEXT NOT NULL,
    at       BIGINT NOT NULL
);
CREATE INDEX shop_consents_account ON shop_consents (account, kind, id);
-- A guest's name on a sponsor's complimentary order; the hash of the
-- payment instrument an order was paid with (for the per-instrument limit).
ALTER TABLE shop_orders ADD COLUMN guest TEXT NOT NULL DEFAULT '';
ALTER TABLE shop_orders ADD COLUMN instrument TEXT NOT NULL DEFAULT '';
-- Secrets the box office makes itself and every central process shares
-- (the captcha's HMAC key).
CREATE TABLE shop_secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
-- Captcha challenges already answered, until they would have expired.
CREATE TABLE shop_captcha_spent (
    id      TEXT PRIMARY KEY,
    expires BIGINT NOT NULL
);
CREATE INDEX shop_captcha_spent_expires ON shop_captcha_spent (expires);
-- What was refused and why: rate limits, captchas, purchase limits, the
-- waiting room. A phone number is kept masked.
CREATE TABLE shop_blocked (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      BIGINT NOT NULL,
    kind    TEXT NOT NULL,
    reason  TEXT NOT NULL,
    ip      TEXT NOT NULL DEFAULT '',
    account BIGINT NOT NULL DEFAULT 0,
    subject TEXT NOT NULL DEFAULT ''
);
CREATE INDEX shop_blocked_at ON shop_blocked (at);
-- Waiting lists of sold-out types, first come first offered. An offer is a
-- pending order made for the buyer (it holds the stock) and a token for
-- the link that tells them.
CREATE TABLE shop_waitlist (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    event      BIGINT NOT NULL,
    type       BIGINT NOT NULL,
    account    BIGINT NOT NULL REFERENCES shop_accounts (id),
    quantity   INTEGER NOT NULL,
    joined     BIGINT NOT NULL,
    status     TEXT NOT NULL,
    order_id   BIGINT NOT NULL DEFAULT 0,
    token_hash BLOB,
    offered_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX shop_waitlist_line ON shop_waitlist (event, type, status, id);
CREATE INDEX shop_waitlist_order ON shop_waitlist (order_id);
-- On-sale waiting rooms: while one is on, buyers of its event are admitted
-- at rate per minute (after burst at once) from opens, in arrival order.
CREATE TABLE shop_rooms (
    event      BIGINT PRIMARY KEY,
    rate       BIGINT NOT NULL,
    burst      BIGINT NOT NULL,
    opens      BIGINT NOT NULL,
    admit_life BIGINT NOT NULL,
    active     INTEGER NOT NULL,
    arrivals   BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE shop_queue (
    token_hash BLOB PRIMARY KEY,
    event      BIGINT NOT NULL,
    seq        BIGINT NOT NULL,
    account    BIGINT NOT NULL DEFAULT 0,
    arrived    BIGINT NOT NULL,
    UNIQUE (event, seq)
);
-- Sponsors' complimentary tickets: granted of a type, held as the stock of
-- hold_order (status allocated) until issued to named guests.
CREATE TABLE shop_allocations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    event      BIGINT NOT NULL,
    type       BIGINT NOT NULL,
    sponsor    BIGINT NOT NULL REFERENCES shop_accounts (id),
    granted    BIGINT NOT NULL,
    issued     BIGINT NOT NULL DEFAULT 0,
    hold_order BIGINT NOT NULL REFERENCES shop_orders (id),
    granted_by TEXT NOT NULL,
    created    BIGINT NOT NULL,
    CHECK (issued >= 0 AND issued <= granted)
);
CREATE INDEX shop_allocations_sponsor ON shop_allocations (sponsor);
-- SMS sign-in codes (by a hash of the number: only the hash of the code)
-- and the codes sent in the last day, by number hash, client address and
-- "all", for the limits: in the store, so every central process shares
-- them.
CREATE TABLE shop_sms_codes (
    number   TEXT PRIMARY KEY,
    hash     BLOB NOT NULL,
    expires  BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE shop_sms_sent (
    id  INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    at  BIGINT NOT NULL
);
CREATE INDEX shop_sms_sent_key ON shop_sms_sent (key, at);
CREATE INDEX shop_sms_sent_at ON shop_sms_sent (at);

-- +goose Down
DROP TABLE shop_sms_sent;
DROP TABLE shop_sms_codes;
DROP TABLE shop_allocations;
DROP TABLE shop_queue;
DROP TABLE shop_rooms;
DROP TABLE shop_waitlist;
DROP TABLE shop_blocked;
DROP TABLE shop_captcha_spent;
DROP TABLE shop_secrets;
DROP TABLE shop_consents;
ALTER TABLE shop_orders DROP COLUMN instrument;
ALTER TABLE shop_orders DROP COLUMN guest;
ALTER TABLE shop_accounts DROP COLUMN deleted_at;
ALTER TABLE shop_accounts DROP COLUMN language;
ALTER TABLE shop_accounts DROP COLUMN address;
ALTER TABLE shop_accounts DROP COLUMN contact;
