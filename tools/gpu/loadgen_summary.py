#!/usr/bin/env python3
"""Appends one tools/loadgen.py --json report to a JSON-lines file and prints its headline figures.

    loadgen_summary.py REPORT.json CONCURRENCY ALL.jsonl   ->   "812 tok/s TTFT p50 35 ms p90 61 ms"
"""
import json
import sys


def main() -> int:
    report_path, concurrency, all_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(report_path) as f:
        report = json.load(f)
    report["concurrency"] = concurrency
    with open(all_path, "a") as f:
        f.write(json.dumps(report) + "\n")
    ttft = report.get("ttft_s") or {}

    def ms(key: str) -> str:
        return f"{1e3 * ttft[key]:.0f}" if ttft.get(key) is not None else "-"

    failed = report.get("requests", {}).get("failed", 0)
    print(f"{report.get('output_tokens_per_s', 0):.0f} tok/s TTFT p50 {ms('p50')} ms p90 {ms('p90')} ms"
          + (f" ({failed} failed)" if failed else ""))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
