#!/usr/bin/env bash
# setup.sh brings a Debian/Ubuntu machine to the point where `tally all` runs:
# the programs extraction needs (pdftotext, tesseract with English, and the
# OCR models when scripts/ocr-models.sh exists) and the services on localhost
# (PostgreSQL, Redis, RabbitMQ). It starts the installed services that are
# down and installs what is missing with apt when run as root; otherwise it
# stops and prints the one command to run.
#
# `make run` and `.ci/run` both call it, so a fresh machine and CI take the
# same path.
#
#   scripts/setup.sh          check, install and start
#   scripts/setup.sh --check  only report; exit 1 when something is missing
#   scripts/setup.sh --test   also make sure the `test` database the tests use exists
set -euo pipefail
cd "$(dirname "$0")/.."

check_only=false
for_tests=false
for arg in "$@"; do
  case "$arg" in
  --check) check_only=true ;;
  --test) for_tests=true ;;
  *)
    echo "usage: scripts/setup.sh [--check] [--test]" >&2
    exit 2
    ;;
  esac
done

log() { echo "setup: $*" >&2; }
is_root() { [ "$(id -u)" -eq 0 ]; }

port_open() { # host port seconds
  for _ in $(seq 1 "$3"); do
    if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
    sleep 1
  done
  return 1
}

# Debian packages to install, and commands a person must run when this
# script may not (not root).
packages=()
todo=()

# Programs extraction runs. Without pdftotext every PDF fails extraction;
# without tesseract and its English data every image does.
command -v pdftotext >/dev/null || packages+=(poppler-utils)
if ! command -v tesseract >/dev/null; then
  packages+=(tesseract-ocr tesseract-ocr-eng)
elif ! tesseract --list-langs 2>/dev/null | grep -qx eng; then
  packages+=(tesseract-ocr-eng)
fi

# tally-pdftext (scripts/pdftext.sh) is compiled against poppler's headers:
# it reads PDFs faster than starting pdftotext for each. Optional: without
# it (or these packages, when not root) PDFs are read with pdftotext.
optional=()
command -v g++ >/dev/null || optional+=(g++)
command -v pkg-config >/dev/null || optional+=(pkg-config)
[ -f /usr/include/poppler/TextOutputDev.h ] || optional+=(libpoppler-private-dev)
if is_root && ! $check_only; then packages+=("${optional[@]}"); fi

# The OCR models are downloaded (scripts/ocr-models.sh) with curl.
command -v curl >/dev/null || packages+=(curl ca-certificates)

# Services, installed or not.
pg_installed() { [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql 2>/dev/null)" ] && command -v pg_ctlcluster >/dev/null; }
pg_installed || packages+=(postgresql)
command -v redis-server >/dev/null || packages+=(redis-server)
command -v rabbitmq-server >/dev/null || packages+=(rabbitmq-server)

# The browser tests drive Debian's Chromium headless (chromedp); only the
# tests need it, never `make run`.
if $for_tests; then
  command -v chromium >/dev/null || packages+=(chromium)
fi

if [ ${#packages[@]} -gt 0 ]; then
  if $check_only; then
    log "missing: ${packages[*]}"
    todo+=("apt-get install -y ${packages[*]}")
  elif is_root; then
    log "installing ${packages[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  else
    log "missing: ${packages[*]}"
    echo "Run this once, then run the same command again:" >&2
    echo "  sudo apt-get install -y ${packages[*]}" >&2
    exit 1
  fi
fi

# OCR models the engine may need beside tesseract's own data.
if [ -x scripts/ocr-models.sh ] && ! $check_only; then
  scripts/ocr-models.sh
fi
# The PDF text reader, built (again) when missing or changed.
if [ -x scripts/pdftext.sh ] && ! $check_only; then
  scripts/pdftext.sh
fi

# start NAME PORT WAIT COMMAND...: start a service that is installed but not
# listening, as root; otherwise say which command starts it.
start() {
  local name=$1 port=$2 wait=$3
  shift 3
  if port_open 127.0.0.1 "$port" 1; then return 0; fi
  if $check_only; then
    log "$name is not running on 127.0.0.1:$port"
    todo+=("$*")
    return 0
  fi
  if ! is_root; then
    log "$name is not running on 127.0.0.1:$port. Start it with:"
    echo "  sudo $*" >&2
    exit 1
  fi
  log "starting $name"
  "$@" >/dev/null 2>&1 || true
  port_open 127.0.0.1 "$port" "$wait" || {
    log "$name did not start listening on 127.0.0.1:$port within ${wait}s"
    exit 1
  }
}

pg_version() { ls /etc/postgresql 2>/dev/null | sort -V | tail -1; }

# A PostgreSQL that this machine just got from apt asks for a password on
# 127.0.0.1; Tally's local default (and the tests) connect as postgres
# without one. Trust loopback connections, as the test machines do.
pg_trust_loopback() {
  local hba
  hba="/etc/postgresql/$(pg_version)/main/pg_hba.conf"
  [ -w "$hba" ] || return 0
  grep -q '^# tally: trust loopback' "$hba" && return 0
  local tmp
  tmp=$(mktemp)
  {
    echo "# tally: trust loopback (scripts/setup.sh)"
    echo "host all all 127.0.0.1/32 trust"
    echo "host all all ::1/128 trust"
    cat "$hba"
  } >"$tmp"
  cat "$tmp" >"$hba"
  rm -f "$tmp"
  pg_ctlcluster --skip-systemctl-redirect "$(pg_version)" main reload >/dev/null 2>&1 || true
}

if pg_installed || $check_only; then
  start PostgreSQL 5432 30 pg_ctlcluster --skip-systemctl-redirect "$(pg_version)" main start
  if ! $check_only && is_root; then
    pg_trust_loopback
  fi
fi
if ! $check_only && is_root; then mkdir -p /var/lib/redis /var/log/redis; fi
start Redis 6379 30 redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
  --dir /var/lib/redis --logfile /var/log/redis/ci.log
start RabbitMQ 5672 120 rabbitmq-server -detached

if $for_tests && ! $check_only && command -v psql >/dev/null; then
  # The tests make their databases from the `test` database (migrations/pgtest).
  if ! psql -h 127.0.0.1 -U postgres -d test -c 'select 1' >/dev/null 2>&1; then
    log "creating database test"
    psql -h 127.0.0.1 -U postgres -d postgres -c 'CREATE DATABASE test' >/dev/null
  fi
fi

if [ ${#todo[@]} -gt 0 ]; then
  log "not ready; as root, run: scripts/setup.sh (it would run: $(
    IFS=';'
    echo "${todo[*]}"
  ))"
  exit 1
fi
log "pdftotext, tesseract, PostgreSQL, Redis and RabbitMQ are ready"
