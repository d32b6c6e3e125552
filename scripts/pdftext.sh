#!/usr/bin/env bash
# pdftext.sh builds tally-pdftext (native/pdftext), the long-running PDF
# text reader the worker prefers to starting pdftotext for every document,
# and installs it as PDFTEXT_BIN (default /usr/local/bin/tally-pdftext).
# It compiles against the machine's own poppler, the library pdftotext
# uses, so the two read a PDF alike. Without it Tally runs pdftotext.
#
#   scripts/pdftext.sh    build when missing or when its source changed
# Needs g++, pkg-config and poppler's headers (libpoppler-private-dev);
# scripts/setup.sh installs them.
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${PDFTEXT_BIN:-/usr/local/bin/tally-pdftext}"
src=native/pdftext/pdftext.cc
log() { echo "pdftext: $*" >&2; }

# The binary carries its source's hash beside it, so a changed source (or
# poppler) is rebuilt and an unchanged one is a no-op.
sum="$(cat "$src" <(pkg-config --modversion poppler 2>/dev/null || true) | sha256sum | cut -d' ' -f1)"
if [ -x "$bin" ] && [ "$(cat "$bin.sha256" 2>/dev/null)" = "$sum" ]; then exit 0; fi

for tool in g++ pkg-config; do
  command -v "$tool" >/dev/null || { log "$tool is missing; PDFs are read with pdftotext"; exit 0; }
done
if ! pkg-config --exists poppler || [ ! -f "$(pkg-config --variable=includedir poppler)/poppler/TextOutputDev.h" ]; then
  log "poppler's headers (libpoppler-private-dev) are missing; PDFs are read with pdftotext"
  exit 0
fi
if ! mkdir -p "$(dirname "$bin")" 2>/dev/null || [ ! -w "$(dirname "$bin")" ]; then
  log "cannot write $(dirname "$bin"); PDFs are read with pdftotext until this runs:"
  echo "  sudo PDFTEXT_BIN=$bin $0" >&2
  exit 0
fi

tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
# shellcheck disable=SC2046 # pkg-config prints several words on purpose
g++ -O2 -std=c++17 -Wall $(pkg-config --cflags poppler) -o "$tmp" "$src" $(pkg-config --libs poppler)
install -m 0755 "$tmp" "$bin"
echo "$sum" >"$bin.sha256"
log "installed $bin"
