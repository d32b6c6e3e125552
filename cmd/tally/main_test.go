package main

import (
	"errors"
	"io"
	"os"
	"testing"
)

// limitsOff are the settings TestMain sets when the environment does not,
// in a fixed order.
var limitsOff = []struct{ name, value string }{
	{"RATE_LIMIT_UPLOADS_PER_MINUTE", "0"}, {"RATE_LIMIT_READS_PER_MINUTE", "0"},
	{"RATE_LIMIT_EXPENSIVE_PER_MINUTE", "0"}, {"TENANT_DOCUMENTS_PER_DAY", "0"}, {"NOTIFY_REQUIRE_CONFIRMATION", "false"},
}

// TestMain turns the rate limits and quotas off for the suites here,
// which upload hundreds of documents a minute from one address, in this
// process and in the role processes it starts, and e-mails unconfirmed
// addresses, which the e-mail suites do; tests of these set their own.
func TestMain(m *testing.M) {
	for _, l := range limitsOff {
		if _, set := os.LookupEnv(l.name); !set {
			os.Setenv(l.name, l.value)
		}
	}
	openTerminal = func() (io.WriteCloser, error) { return nil, errors.New("no terminal in tests") }
	os.Exit(m.Run())
}
