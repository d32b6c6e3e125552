#!/usr/bin/env python3
"""Learning from corrections, scored: F1 per vendor before and after.

    go run ./bench/extraction/learning -manifest SPLIT_DIR -before B.jsonl -after A.jsonl
    python3 bench/extraction/learning.py SPLIT_DIR B.jsonl A.jsonl [--score PATH/score.py]

Both files hold the same documents (every vendor's documents but its corrected first one).
Prints micro-F1 over the scalar fields before and after, per vendor and overall, the
vendors that got worse, and how often a field with source "learned" was right.
"""
import argparse
import importlib.util
import json
import os
from collections import defaultdict

FIELDS = ["vendor", "address", "date", "invoice_number", "currency", "subtotal", "tax", "total"]


def load(path):
    out = {}
    for line in open(path, encoding="utf-8"):
        if line.strip():
            p = json.loads(line)
            out[p["id"]] = p
    return out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("split")
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--score", default=None)
    ap.add_argument("--all", action="store_true", help="print every vendor, not only the ones that moved")
    a = ap.parse_args(argv)
    path = a.score or os.path.join(os.path.dirname(os.path.abspath(a.split)), "score.py")
    spec = importlib.util.spec_from_file_location("score", path)
    score = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(score)
    gt = score.load_gt(a.split)
    runs = {"before": load(a.before), "after": load(a.after)}
    tally = defaultdict(lambda: [0, 0, 0])  # (run, group) -> tp, pred, gt
    learned = defaultdict(lambda: [0, 0])  # field -> right, found
    for run, preds in runs.items():
        for i, p in preds.items():
            item = gt[i]
            pf = p.get("fields") or {}
            for field in FIELDS:
                if field not in item["fields"]:
                    continue
                g = score.normalise(field, item["fields"][field])
                v = pf.get(field)
                v = None if v in (None, "") else score.normalise(field, v)
                right = v is not None and g is not None and v == g
                for key in ((run, p["group"]), (run, "")):
                    t = tally[key]
                    t[0] += right
                    t[1] += v is not None
                    t[2] += g is not None
                if run == "after" and (pf.get("sources") or {}).get("vendor_address" if field == "address" else field) == "learned":
                    learned[field][0] += right
                    learned[field][1] += 1

    def f1(t):
        return 2 * t[0] / (t[1] + t[2]) if t[1] + t[2] else 0.0

    groups = sorted({g for (_, g) in tally if g})
    worse = []
    print(f"{'vendor':40} {'docs':>4} {'before':>7} {'after':>7}")
    for g in groups:
        b, af = f1(tally[("before", g)]), f1(tally[("after", g)])
        n = sum(1 for p in runs["before"].values() if p["group"] == g)
        if af < b:
            worse.append(g)
        if a.all or abs(af - b) > 1e-9:
            print(f"{g[:40]:40} {n:4d} {b:7.3f} {af:7.3f}")
    b, af = f1(tally[("before", "")]), f1(tally[("after", "")])
    print(f"{'all (' + str(len(groups)) + ' vendors)':40} {len(runs['before']):4d} {b:7.3f} {af:7.3f}  ({af - b:+.3f})")
    print(f"vendors worse after: {len(worse)}" + (f" ({', '.join(worse)})" if worse else ""))
    for field, (right, found) in sorted(learned.items()):
        print(f"learned {field:15} right {right}/{found} = {right / found:.3f}")


if __name__ == "__main__":
    main()
