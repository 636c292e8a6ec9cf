// Package support is central's customer service: the support inbox and
// the live chat between buyers and staff.
//
// A buyer asks from an order's page ("Contact us"), from the help pages, in
// the storefront's chat or by mail; every question becomes a conversation
// (store.Conversation) with its messages, tied to the buyer's account (or
// the address or chat cookie of someone not logged in) and to the order it
// is about. Staff answer from /ops/support: a list with the open count and
// the median first response time, and a conversation view with the buyer's
// orders beside it, linked to the box office's actions.
//
// The chat is a WebSocket per browser (buyer's at /support/chat/ws,
// staff's at /ops/support/ws) held by one Hub. A buyer's message is always
// stored first, so the inbox has it whatever happens next; it is then
// pushed to every staff socket. When no staff socket is connected the chat
// says so and the conversation waits in the inbox, answered by mail.
// Staff replies go to the buyer's sockets, and by mail (through the box
// office's mailer, with the conversation's token in the subject and the
// Reply-To) when the buyer is not in the chat. Mail back comes in through
// the desk's SMTP server (ServeSMTP), which files it by that token.
//
// Every staff action for a buyer (reply, assign, status) is written to the
// audit log in the transaction that makes it. The Hub lives in one
// process: with several central replicas, a buyer and a staff member on
// different replicas do not see each other live (the messages are still
// stored and shown on the next load); that needs a shared bus, not built.
//
// The package never trusts a browser's word for whose conversation it is:
// a buyer sees only conversations of their account or chat cookie, and a
// mail continues a conversation only by its secret token.
package support
