// Package personal keeps the keys that make personal data in events
// erasable. Every user (a tenant's e-mail address) gets a key of their own
// and a random pseudonymous id; DocumentUploaded carries the id and the
// user's name and e-mail sealed with that key. Erase destroys the key, so
// the sealed copies in the immutable stream, in every subscriber's copy
// and in every backup no longer open, and blanks the opened copies in the
// read models in the same transaction.
//
// Invariants: a key is made once per address (the first writer wins) and
// never changes; an erased key is gone for good, and the address's next
// upload gets a new key and a new id. Keys are read from PostgreSQL on
// every use and never cached, so no process can seal or open with a key
// another process has erased. Schema-1 events carry the user in the
// clear: there is no key to destroy, so readers blank such a user when a
// tombstone (an erased row) exists for the address.
package personal
