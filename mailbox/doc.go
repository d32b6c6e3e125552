// Package mailbox turns e-mail in IMAP mailboxes into e-receipt documents:
// mailboxes users link (host, login, app password) and one forwarding
// mailbox to which users forward receipts. A scrape searches a mailbox for
// messages from the configured retailers within the cutoff and submits each
// new one as an e-receipt; scrape jobs travel over RabbitMQ from the
// scheduler to the consumers.
//
// Invariants: an app password is stored only sealed (seal.Box, deployment
// key "mailbox-password-key", bound to tenant and link id) and is never
// returned, logged or put in an error; a message becomes a document once:
// its command id is derived from the link and the message's Message-ID, so
// even a submit whose seen row was lost lands on the same document, and it
// is remembered as seen only after the submit succeeded; a scrape never
// changes the mailbox (BODY.PEEK, no flags, no deletes); every IMAP call has
// a deadline; logs carry link ids and counts, never addresses or contents.
package mailbox
