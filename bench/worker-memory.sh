#!/usr/bin/env bash
# worker-memory.sh measures the peak RSS (VmHWM) of Tally's processes while
# they read images: it starts `tally all` on a fresh database, queue and data
# directory (embedded JetStream on a loopback port), optionally a second
# process `tally worker` beside it, uploads 30 images at one a second with
# bench/load, and prints each process's VmHWM and VmRSS. It cleans up after
# itself (database, queues, data directory).
#
#   bench/worker-memory.sh TALLY_BINARY BATCH all|worker [SPLIT_DIR]
#
# BATCH is RABBITMQ_TEMPLATE_BATCH (the jobs a worker runs at once) of
# `tally all` and, with `worker`, of the second process too; both take
# jobs then. SPLIT_DIR is a benchdata split
# with invoice2data/*.png and the SROIE receipts named below (default
# ../shared/benchdata/dev). Needs PostgreSQL, RabbitMQ and Redis as `make
# run` does, and port 4100 (API) and 4101 (the worker's probes) free.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$1 batch=$2 mode=$3 split=${4:-../shared/benchdata/dev}
case "$mode" in all | worker) ;; *) echo "mode is all or worker" >&2; exit 2 ;; esac

run=$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')
dir=$(mktemp -d)
nats_port=$((4300 + RANDOM % 500))
common=(DATA_DIR="$dir" DB_NAME="tally_mem_$run" SCRAPE_QUEUE="mem_$run" LOG_LEVEL=warn)
cleanup() {
  [ -f "$dir/wpid" ] && kill "$(cat "$dir/wpid")" 2>/dev/null || true
  [ -f "$dir/pid" ] && kill "$(cat "$dir/pid")" 2>/dev/null || true
  sleep 3
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS tally_mem_$run" >/dev/null || true
  for q in "mem_$run" "mem_$run.dead" "mem_$run.delay"; do rabbitmqctl -q delete_queue "$q" >/dev/null 2>&1 || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

(cd "$dir"; env "${common[@]}" PORT=4100 NATS_EMBEDDED_LISTEN="127.0.0.1:$nats_port" \
  RATE_LIMIT_UPLOADS_PER_MINUTE=0 RATE_LIMIT_READS_PER_MINUTE=0 TENANT_DOCUMENTS_PER_DAY=0 \
  RABBITMQ_TEMPLATE_BATCH="$batch" "$bin" all >"$dir/tally.log" 2>&1 &
  echo $! >"$dir/pid")
for _ in $(seq 1 120); do
  curl -sf -o /dev/null -H "Authorization: Bearer $(cat "$dir/api-key" 2>/dev/null)" http://127.0.0.1:4100/v1/stats && break
  sleep 0.5
done
if [ "$mode" = worker ]; then
  (cd "$dir"; env "${common[@]}" PORT=4101 NATS_URL="nats://127.0.0.1:$nats_port" \
    RABBITMQ_TEMPLATE_BATCH="$batch" "$bin" worker >"$dir/worker.log" 2>&1 &
    echo $! >"$dir/wpid")
  sleep 8
  echo "worker idle: $(grep VmRSS "/proc/$(cat "$dir/wpid")/status" | tr -s ' \t' ' ')"
fi

files="$split/invoice2data/*.png"
for id in X51006414733 X51006912974 X51007231361 X51007231365 X51007846269 X51007846368 \
  X00016469672 X00016469676 X51005441402 X51005442333 X51005442338 X51005442344; do
  files="$files,$split/sroie/sroie-$id.jpg"
done
go run ./bench/load -url http://127.0.0.1:4100 -key "$(cat "$dir/api-key")" -files "$files" \
  -n 30 -rate 1 -concurrency 8 -timeout 15m | grep -E '^(outcome|to final|throughput)'
echo "tally all: $(grep -E 'VmHWM|VmRSS' "/proc/$(cat "$dir/pid")/status" | tr -s ' \t\n' ' ')"
if [ "$mode" = worker ]; then
  echo "tally worker: $(grep -E 'VmHWM|VmRSS' "/proc/$(cat "$dir/wpid")/status" | tr -s ' \t\n' ' ')"
fi
