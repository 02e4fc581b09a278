#!/usr/bin/env python3
"""Sums an `ncu --csv --metrics gpu__time_duration.sum` log per kernel: where a decode step's GPU time goes.

    ncu --launch-skip S --launch-count N --metrics gpu__time_duration.sum --csv PROGRAM ... > ncu.csv
    python3 tools/gpu/kernel_times.py ncu.csv [--top 20]

Prints each kernel's launches, total and mean time, and share of the profiled total, largest first.
"""
import argparse
import collections
import csv
import re
import sys


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--top", type=int, default=20)
    args = ap.parse_args()
    lines = open(args.log, errors="replace").read().splitlines()
    start = next((i for i, l in enumerate(lines) if l.startswith('"ID"')), None)
    if start is None:
        print("kernel_times: no ncu CSV header in " + args.log, file=sys.stderr)
        return 1
    total, count = collections.Counter(), collections.Counter()
    for row in csv.DictReader(lines[start:]):
        if row.get("Metric Name") != "gpu__time_duration.sum":
            continue
        unit = row.get("Metric Unit", "")
        scale = {"nsecond": 1e-3, "ns": 1e-3, "usecond": 1.0, "us": 1.0, "msecond": 1e3, "ms": 1e3}.get(unit)
        if scale is None:
            print(f"kernel_times: unknown unit {unit!r}", file=sys.stderr)
            return 1
        # One word per kernel: "void troupe::<unnamed>::f<__nv_bfloat16, 2>(...)" -> "f<__nv_bfloat16,2>".
        name = re.sub(r"^void ", "", row["Kernel Name"].split("(")[0]).replace("troupe::<unnamed>::", "")
        name = name.replace(", ", ",").replace(" ", "_")[:70]
        total[name] += float(row["Metric Value"].replace(",", "")) * scale
        count[name] += 1
    grand = sum(total.values())
    print(f"{'kernel':70} {'launches':>8} {'total us':>10} {'mean us':>8} {'share':>6}")
    for name, us in total.most_common(args.top):
        print(f"{name:70} {count[name]:8d} {us:10.1f} {us / count[name]:8.2f} {100 * us / grand:5.1f}%")
    print(f"{'all':70} {sum(count.values()):8d} {grand:10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
