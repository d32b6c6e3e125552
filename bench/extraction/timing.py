#!/usr/bin/env python3
"""Time per document by kind: each item of a split extracted alone, one at a time.

    python3 bench/extraction/timing.py TALLY_BINARY SPLIT_DIR [--kind image] [--limit N]

Runs `TALLY_BINARY extract FILE` per item (the process start, a few milliseconds, is
included) and prints the median and p99 wall time per kind. Set OMP_THREAD_LIMIT=1
as the worker does.
"""
import argparse
import json
import os
import statistics
import subprocess
import time
from collections import defaultdict


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p / 100 * len(xs) + 0.5) - 1))]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("split")
    ap.add_argument("--kind", default=None)
    ap.add_argument("--limit", type=int, default=0)
    a = ap.parse_args(argv)
    times = defaultdict(list)
    n = 0
    for line in open(os.path.join(a.split, "manifest.jsonl"), encoding="utf-8"):
        if not line.strip():
            continue
        it = json.loads(line)
        if a.kind and it["kind"] != a.kind:
            continue
        t0 = time.monotonic()
        subprocess.run([a.binary, "extract", os.path.join(a.split, it["input"])],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times[it["kind"]].append(time.monotonic() - t0)
        n += 1
        if a.limit and n >= a.limit:
            break
    print(f"{'kind':10} {'n':>4} {'median_s':>9} {'p99_s':>7}")
    for k in sorted(times):
        xs = times[k]
        print(f"{k:10} {len(xs):4d} {statistics.median(xs):9.3f} {pct(xs, 99):7.3f}")


if __name__ == "__main__":
    main()
