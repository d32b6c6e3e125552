// Package web serves Tally's pages for people: sign-in, upload, the
// documents table, a document beside its fields and history, spending,
// and settings. Pages are rendered on the server from templates and
// assets embedded in the binary; the only script library is htmx,
// vendored from npm at a pinned version (static/vendor/VERSIONS), plus
// one small script of our own for uploads. Nothing loads from elsewhere.
//
// Invariants: every page but sign-in, invitation and password reset needs
// a session; every state-changing request needs the session's CSRF token
// (or, before sign-in, the double-submit token) and a same-origin
// browser, so a page on another origin cannot act for a member; a member
// sees only their own documents and never an admin page; session cookies
// are HttpOnly, SameSite=Lax and Secure when served over TLS.
package web
