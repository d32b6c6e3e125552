package mail

import (
	"regexp"
)

// address matches what looks like an e-mail address in a server's reply
// or a library's error ("<ann@example.com>: Recipient address rejected").
var address = regexp.MustCompile(`[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*`)

// RedactAddresses replaces every e-mail address in s with "<address>".
func RedactAddresses(s string) string { return address.ReplaceAllString(s, "<address>") }

// redactedError is an error whose message names no address; errors.Is
// and errors.As still see the error it stands for.
type redactedError struct{ err error }

func (e redactedError) Error() string { return RedactAddresses(e.err.Error()) }
func (e redactedError) Unwrap() error { return e.err }

// redact makes err's message name no recipient, so that it can be logged
// and stored (NotificationFailed) without personal data.
func redact(err error) error {
	if err == nil {
		return nil
	}
	return redactedError{err}
}
