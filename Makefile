# Tally. `make run` starts every role in one process; `make test` runs the tests.
SQLC_VERSION := v1.31.1
GO ?= go

.PHONY: run test generate check-generated build fuzz

# scripts/setup.sh installs or starts what Tally needs (pdftotext, tesseract,
# PostgreSQL, Redis, RabbitMQ) or says the one command to run.
run:
	bash scripts/setup.sh
	$(GO) run ./cmd/tally all

test:
	$(GO) test -race -count=1 -timeout 30m ./...

build:
	$(GO) build -o tally ./cmd/tally

generate:
	$(GO) run github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION) generate

# Fails when the committed sqlc output differs from what the queries generate.
check-generated: generate
	git diff --exit-code -- readmodel

# Every fuzz target in the tree, found afresh each run, FUZZTIME each.
FUZZTIME ?= 30s
fuzz:
	@set -e; grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r f; do \
		pkg=./$$(dirname "$${f#./}"); \
		for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$$f"); do \
			echo "== $$pkg $$target"; \
			$(GO) test -run XXX -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) "$$pkg"; \
		done; \
	done
