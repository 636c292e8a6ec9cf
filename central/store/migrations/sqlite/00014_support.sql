-- +goose Up
-- The support inbox: a conversation (a ticket) per question a buyer asks,
-- from an order's page, the help pages, the live chat or by mail; its
-- messages in order. A conversation belongs to a buyer's account, or to an
-- address (mail) or a chat cookie when nobody was logged in, and names the
-- order it is about when there is one. token is the secret that a reply by
-- mail quotes to continue the conversation.
CREATE TABLE support_conversations (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    token          TEXT NOT NULL UNIQUE,
    account        BIGINT NOT NULL DEFAULT 0,
    order_id       BIGINT NOT NULL DEFAULT 0,
    email          TEXT NOT NULL DEFAULT '',
    chat_key       TEXT NOT NULL DEFAULT '',
    channel        TEXT NOT NULL,
    subject        TEXT NOT NULL,
    lang           TEXT NOT NULL DEFAULT 'en',
    status         TEXT NOT NULL,
    assignee       TEXT NOT NULL DEFAULT '',
    created        BIGINT NOT NULL,
    updated        BIGINT NOT NULL,
    first_response BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX support_conversations_status ON support_conversations (status, updated);
CREATE INDEX support_conversations_account ON support_conversations (account, id);
CREATE INDEX support_conversations_chat ON support_conversations (chat_key, id);

CREATE TABLE support_messages (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation BIGINT NOT NULL REFERENCES support_conversations (id),
    at           BIGINT NOT NULL,
    author_kind  TEXT NOT NULL,
    author       TEXT NOT NULL DEFAULT '',
    via          TEXT NOT NULL,
    body         TEXT NOT NULL
);
CREATE INDEX support_messages_conversation ON support_messages (conversation, id);

-- +goose Down
DROP TABLE support_messages;
DROP TABLE support_conversations;
