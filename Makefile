# Tally. `make run` starts every role in one process; `make test` runs the tests.
SQLC_VERSION := v1.31.1
GO ?= go

.PHONY: run test generate check-generated build fuzz

run:
	$(GO) run ./cmd/tally all

test:
	$(GO) test -race -count=1 ./...

build:
	$(GO) build -o tally ./cmd/tally

generate:
	$(GO) run github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION) generate

# Fails when the committed sqlc output differs from what the queries generate.
check-generated: generate
	git diff --exit-code -- readmodel

fuzz:
	$(GO) test -run XXX -fuzz FuzzDocument -fuzztime 30s ./intake
	$(GO) test -run XXX -fuzz FuzzEmailMessage -fuzztime 30s ./intake
	$(GO) test -run XXX -fuzz FuzzVerify -fuzztime 30s ./webhooks
	$(GO) test -run XXX -fuzz FuzzUnforward -fuzztime 30s ./mailbox
	$(GO) test -run XXX -fuzz FuzzOpen -fuzztime 30s ./personal
	$(GO) test -run XXX -fuzz FuzzParse -fuzztime 30s ./einvoice
	$(GO) test -run XXX -fuzz FuzzFromPDF -fuzztime 30s ./einvoice
