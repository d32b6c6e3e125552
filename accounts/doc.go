// Package accounts keeps the people who use the web app: members of one
// tenant each, with an e-mail address, an argon2id password hash and a
// role (admin or member); the invitations and password resets that reach
// them by e-mail link; their sessions, kept in Redis; and the throttle
// that slows down password guessing.
//
// Invariants: a password is stored only as an argon2id hash and a token
// (invitation, reset, session) only as its SHA-256 hash, so a copy of the
// database or of Redis opens nothing; every invitation or reset link works
// once and expires; a password change ends every session of the account;
// a tenant that has an admin always keeps at least one. Accounts are
// primary state, not a projection of the event stream.
//
// HTTP concerns (cookies, CSRF) belong to the web package; this one knows
// nothing of requests.
package accounts
