#!/usr/bin/env python3
"""Reliability of extraction confidences on a labelled benchdata split.

    python3 bench/extraction/reliability.py SPLIT_DIR PREDICTIONS.jsonl [--score PATH/score.py] [--kind K] [--by-source]

PREDICTIONS is the output of `tally extract --manifest SPLIT_DIR`. For every scalar field
that is labelled and predicted, the field's confidence (fields.confidence, percent) is
compared with whether the value is right under the benchmark's own normalisation
(score.py, by default beside SPLIT_DIR). Prints one row per decile of confidence: how many
fields, how many right, the share right, and the mean confidence; then the share right
of all fields given 90 or more. --by-source counts right values per field and source
(text, template, sender, xml) instead.
"""
import argparse
import importlib.util
import json
import os
import sys
from collections import defaultdict

FIELDS = ["vendor", "address", "date", "invoice_number", "currency", "subtotal", "tax", "total"]


def load_score(path):
    spec = importlib.util.spec_from_file_location("score", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("split")
    ap.add_argument("predictions")
    ap.add_argument("--score", default=None)
    ap.add_argument("--by-source", action="store_true")
    ap.add_argument("--kind", default=None)
    a = ap.parse_args(argv)
    score = load_score(a.score or os.path.join(os.path.dirname(os.path.abspath(a.split)), "score.py"))
    gt = score.load_gt(a.split)
    rows = []  # (key, confidence, right)
    for line in open(a.predictions, encoding="utf-8"):
        if not line.strip():
            continue
        p = json.loads(line)
        item = gt.get(p.get("id"))
        if item is None or (a.kind and item.get("kind") != a.kind):
            continue
        pf = p.get("fields") or {}
        conf = pf.get("confidence") or {}
        sources = pf.get("sources") or {}
        for field in FIELDS:
            if field not in item["fields"]:
                continue
            pred = pf.get(field)
            if pred in (None, ""):
                continue
            name = "vendor_address" if field == "address" else field
            right = score.normalise(field, pred) == score.normalise(field, item["fields"][field])
            key = sources.get(name, "?") + "/" + field
            rows.append((key, conf.get(name), right))
    if a.by_source:
        acc = defaultdict(lambda: [0, 0])
        for key, _, right in rows:
            acc[key][0] += 1
            acc[key][1] += right
        print(f"{'source/field':40} {'n':>5} {'right':>5} {'share':>6}")
        for key in sorted(acc):
            n, r = acc[key]
            print(f"{key:40} {n:5d} {r:5d} {r / n:6.3f}")
        return 0
    bins = defaultdict(lambda: [0, 0, 0])
    for _, c, right in rows:
        c = 0 if c is None else c
        b = min(c // 10, 9)
        bins[b][0] += 1
        bins[b][1] += right
        bins[b][2] += c
    print(f"{'confidence':>10} {'fields':>7} {'right':>6} {'share':>6} {'mean conf':>9}")
    for b in range(10):
        n, r, s = bins[b]
        if n:
            label = f"{b * 10}-{b * 10 + 9}" if b < 9 else "90-100"
            print(f"{label:>10} {n:7d} {r:6d} {r / n:6.3f} {s / n / 100:9.3f}")
    hi = [(c, r) for _, c, r in rows if (c or 0) >= 90]
    if hi:
        share = sum(r for _, r in hi) / len(hi)
        print(f"confidence >= 90: {len(hi)} fields, {share:.3f} right")
    print(f"all: {len(rows)} fields, {sum(r for *_, r in rows) / max(1, len(rows)):.3f} right")
    return 0


if __name__ == "__main__":
    sys.exit(main())
