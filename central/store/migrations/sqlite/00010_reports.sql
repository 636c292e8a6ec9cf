-- +goose Up
-- Analytics. sales_facts holds one row per ticket sold, whatever the
-- channel (online, box_office, seller), written in the transaction that
-- sells it: the ticket, what it sold for and how it was paid, when (with the
-- local day and hour at the event's venue, so reports group in SQL), who
-- bought it (the account, and the region and age band as the buyer gave
-- them, '' when not) and, once refunded, when and how much came back.
-- funnel_steps is the storefront's own record of how buyers get to a paid
-- order (view, cart, checkout, payment), one row per step and visitor, kept
-- first-party: no tracker, the visitor a random id per browser.
CREATE TABLE sales_facts (
    event       BIGINT NOT NULL,
    serial      BIGINT NOT NULL,
    type        BIGINT NOT NULL,
    channel     TEXT NOT NULL,
    method      TEXT NOT NULL,
    currency    TEXT NOT NULL,
    amount      BIGINT NOT NULL,
    sold_at     BIGINT NOT NULL,
    day         TEXT NOT NULL,
    hour        INTEGER NOT NULL,
    buyer       BIGINT NOT NULL DEFAULT 0,
    region      TEXT NOT NULL DEFAULT '',
    age         TEXT NOT NULL DEFAULT '',
    refunded_at BIGINT NOT NULL DEFAULT 0,
    refund      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (event, serial)
);
CREATE INDEX sales_facts_sold ON sales_facts (sold_at);
CREATE TABLE funnel_steps (
    event   BIGINT NOT NULL,
    step    TEXT NOT NULL,
    visitor TEXT NOT NULL,
    at      BIGINT NOT NULL,
    PRIMARY KEY (event, step, visitor)
);

-- +goose Down
DROP TABLE funnel_steps;
DROP TABLE sales_facts;
