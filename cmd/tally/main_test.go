package main

import (
	"os"
	"testing"
)

// TestMain turns the rate limits and quotas off for the suites here,
// which upload hundreds of documents a minute from one address, in this
// process and in the role processes it starts; tests of the limits set
// their own.
func TestMain(m *testing.M) {
	for _, name := range []string{"RATE_LIMIT_UPLOADS_PER_MINUTE", "RATE_LIMIT_READS_PER_MINUTE",
		"RATE_LIMIT_EXPENSIVE_PER_MINUTE", "TENANT_DOCUMENTS_PER_DAY"} {
		if _, set := os.LookupEnv(name); !set {
			os.Setenv(name, "0")
		}
	}
	os.Exit(m.Run())
}
