-- +goose Up
-- The storefront's help pages (/help): one row per article and language,
-- in a topic, in the order staff set; staff edit them from the ops
-- screens. The entry rules of each event are not stored here: the pages
-- generate them from the ticket types' rules, so they never disagree.
CREATE TABLE help_articles (
    slug       TEXT NOT NULL,
    lang       TEXT NOT NULL,
    topic      TEXT NOT NULL,
    position   INTEGER NOT NULL DEFAULT 0,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    updated    BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (slug, lang)
);

-- +goose Down
DROP TABLE help_articles;
