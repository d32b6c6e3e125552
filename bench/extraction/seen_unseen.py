#!/usr/bin/env python3
"""Seen versus unseen vendors on a labelled benchdata split.

    python3 bench/extraction/seen_unseen.py SPLIT_DIR PREDICTIONS.jsonl [--score PATH/score.py]

The extraction rules name no merchant and hold no rule for one layout, so leaving one
vendor out (switching off every rule written for it) changes nothing: each vendor's
documents are already scored with no rule of their own. What can still fit the split is a
rule tuned on a vendor that recurs in it. This prints micro-F1 over the scalar fields for
items whose vendor recurs in the split (seen: two or more items) and for vendors that occur
once (unseen by any other item), overall and per source.
"""
import argparse
import importlib.util
import json
import os
import sys
from collections import Counter, defaultdict

FIELDS = ["vendor", "address", "date", "invoice_number", "currency", "subtotal", "tax", "total"]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("split")
    ap.add_argument("predictions")
    ap.add_argument("--score", default=None)
    a = ap.parse_args(argv)
    path = a.score or os.path.join(os.path.dirname(os.path.abspath(a.split)), "score.py")
    spec = importlib.util.spec_from_file_location("score", path)
    score = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(score)
    gt = score.load_gt(a.split)
    preds = {}
    for line in open(a.predictions, encoding="utf-8"):
        if line.strip():
            p = json.loads(line)
            preds[p.get("id")] = p.get("fields") or {}
    vendor_of = {i: score.normalise("vendor", it["fields"].get("vendor")) for i, it in gt.items()}
    count = Counter(v for v in vendor_of.values() if v)
    tally = defaultdict(lambda: [0, 0, 0])  # tp, pred, gt
    for i, item in gt.items():
        v = vendor_of[i]
        group = "no vendor label" if not v else ("seen" if count[v] >= 2 else "unseen")
        pf = preds.get(i, {})
        for field in FIELDS:
            if field not in item["fields"]:
                continue
            g = score.normalise(field, item["fields"][field])
            p = pf.get(field)
            p = None if p in (None, "") else score.normalise(field, p)
            for key in (group, group + " / " + item["source"]):
                t = tally[key]
                t[1] += p is not None
                t[2] += g is not None
                t[0] += p is not None and g is not None and p == g
    print(f"{'group':34} {'tp':>5} {'pred':>5} {'gt':>5} {'f1':>6}")
    for key in sorted(tally):
        tp, np_, ng = tally[key]
        f1 = 2 * tp / (np_ + ng) if np_ + ng else 0
        print(f"{key:34} {tp:5d} {np_:5d} {ng:5d} {f1:6.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
