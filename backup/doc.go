// Package backup writes and restores what Tally cannot rebuild: the event
// stream, the database tables that are not read models (API keys,
// secrets and user keys, settings, accounts, mailbox links, forwarding
// senders, webhooks and their deliveries, template bundles) and the
// uploaded files the events name, through the blob store's interface.
//
// Invariants: the read models are never in a backup; a restore rebuilds
// them from the restored stream. The tables are read in one
// repeatable-read transaction begun before the stream's last sequence is
// read, so every event a table refers to is in the backup; files are
// copied one at a time as streams, never held whole. Every stream
// message is restored at the sequence it had. A restore goes only into an
// empty stream and empty tables, and checks each file against the
// manifest, which is written last: a directory without one is not a
// backup.
package backup
