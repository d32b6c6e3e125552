# syntax=docker/dockerfile:1

# ---- build -------------------------------------------------------------
FROM golang:1.26-bookworm AS build
WORKDIR /src

# Module download is its own layer so source edits don't refetch deps.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
# No cgo: the binary loads ONNX Runtime (for the OCR models) with dlopen
# at run time, so it links against glibc's loader and nothing else.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/tally ./cmd/tally

# ---- OCR models ----------------------------------------------------------
# PP-OCR models and the ONNX Runtime library, from the npm registry at
# pinned versions and checksums (scripts/ocr-models.sh).
FROM debian:bookworm-slim AS ocr
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
COPY scripts/ocr-models.sh /ocr-models.sh
RUN OCR_MODELS_DIR=/usr/local/share/tally/ocr /ocr-models.sh

# ---- PDF text reader -------------------------------------------------------
# tally-pdftext (native/pdftext), compiled against the same Debian poppler
# that the runtime image's poppler-utils brings.
FROM debian:bookworm-slim AS pdftext
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ pkg-config libpoppler-private-dev \
 && rm -rf /var/lib/apt/lists/*
COPY scripts/pdftext.sh /src/scripts/pdftext.sh
COPY native/pdftext /src/native/pdftext
RUN PDFTEXT_BIN=/out/tally-pdftext /src/scripts/pdftext.sh && test -x /out/tally-pdftext

# ---- runtime -----------------------------------------------------------
FROM debian:bookworm-slim

# ca-certificates: TLS to S3/AWS etc.; poppler-utils (pdftotext, pdftoppm)
# and tesseract-ocr (+ eng/osd language data) for document text extraction.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates \
      poppler-utils \
      tesseract-ocr \
      tesseract-ocr-eng \
      tzdata \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 tally \
 && useradd --system --uid 10001 --gid tally --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin tally \
 && mkdir -p /app /data \
 && chown tally:tally /app /data

COPY --from=build /out/tally /usr/local/bin/tally
COPY --from=ocr /usr/local/share/tally/ocr /usr/local/share/tally/ocr
COPY --from=pdftext /out/tally-pdftext /usr/local/bin/tally-pdftext

WORKDIR /app
ENV DATA_DIR=/data
VOLUME /data
USER tally:tally
EXPOSE 4001

# Role subcommand: all | api | projector | bridge | worker | notifier |
# scheduler | webhooks | migrate | update-cron. (A bare `tally` reads
# ROLE=ALL|API|PROJECTOR|BRIDGE|WORKER|NOTIFIER|SCHEDULER|WEBHOOKS|MIGRATE_DB|UPDATE_CRON.)
ENTRYPOINT ["/usr/local/bin/tally"]
CMD ["all"]
