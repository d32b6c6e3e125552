package main

import (
	"errors"
	"io"
	"os"
	"testing"
)

// limitsOff are the settings TestMain sets when the environment does not.
var limitsOff = map[string]string{"RATE_LIMIT_UPLOADS_PER_MINUTE": "0", "RATE_LIMIT_READS_PER_MINUTE": "0",
	"RATE_LIMIT_EXPENSIVE_PER_MINUTE": "0", "TENANT_DOCUMENTS_PER_DAY": "0", "NOTIFY_REQUIRE_CONFIRMATION": "false"}

// limitSettings names limitsOff's settings in a fixed order.
var limitSettings = []string{"RATE_LIMIT_UPLOADS_PER_MINUTE", "RATE_LIMIT_READS_PER_MINUTE",
	"RATE_LIMIT_EXPENSIVE_PER_MINUTE", "TENANT_DOCUMENTS_PER_DAY", "NOTIFY_REQUIRE_CONFIRMATION"}

// TestMain turns the rate limits and quotas off for the suites here,
// which upload hundreds of documents a minute from one address, in this
// process and in the role processes it starts, and e-mails unconfirmed
// addresses, which the e-mail suites do; tests of these set their own.
func TestMain(m *testing.M) {
	for _, name := range limitSettings {
		if _, set := os.LookupEnv(name); !set {
			os.Setenv(name, limitsOff[name])
		}
	}
	openTerminal = func() (io.WriteCloser, error) { return nil, errors.New("no terminal in tests") }
	os.Exit(m.Run())
}
