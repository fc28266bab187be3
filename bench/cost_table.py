#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The two tables of bench/results/cost.md from bench_cost's raw rows.

    cost_table.py COST.CSV

COST.CSV: rows "SIZE,cost,WORKLOAD,METRIC,UNIT,ROUND,VALUE" (bench_cost's
output with the size put in front), one bench_cost run after another: the
run without a budget (modes none,watch:*,sample:*) and the run with the
default budget (none,budget:*), in any order. A run starts at its first
*_pagescan_cpu row. Every figure is the median over the rounds."""
import csv
import statistics
import sys

WRITERS = {"rand": "random", "seq": "sequential", "hot": "hot set"}
SIZES = {"64M": "64 MiB", "1G": "1 GiB"}
MODES = [("exact", "watch_1s", "exact `-i 1s`, off"), ("exact", "watch_100ms", "exact `-i 100ms`, off"),
         ("budget", "budget_1s", "`-i 1s`, budget"), ("budget", "budget_100ms", "`-i 100ms`, budget"),
         ("exact", "sample_1s", "1/16, `-i 1s`"), ("exact", "sample_100ms", "1/16, `-i 100ms`")]


def runs(rows):
    cur, prev_cpu = [], False
    for r in rows:
        is_cpu = r[3].endswith("_pagescan_cpu")
        if is_cpu and not prev_cpu and cur:
            yield cur
            cur = []
        cur.append(r)
        prev_cpu = is_cpu
    if cur:
        yield cur


def main(path):
    data = {}
    for run in runs(list(csv.reader(open(path)))):
        kind = "budget" if any(r[3].startswith("budget_") for r in run) else "exact"
        d = data.setdefault((run[0][0], run[0][2]), {})
        for r in run:
            d.setdefault((kind, r[3]), []).append(float(r[6]))

    def get(key, kind, metric):
        v = data[key].get((kind, metric), [])
        return statistics.median(v) if v else None

    def times(v):
        return "–" if v is None else ("%.2g×" % v if v < 0.1 else "%.2f×" % v)

    def pct(v):
        return "–" if v is None else "%.1f %%" % (v * 100)

    keys = [(s, w) for s in SIZES for w in WRITERS if (s, w) in data]
    print("| writer | untracked (exact / budget runs) | " + " | ".join(m[2] for m in MODES) + " |")
    print("|---|---|" + "---|" * len(MODES))
    for k in keys:
        base = [get(k, kind, "none") for kind in ("exact", "budget")]
        print("| %s, %s | %s M/s | %s |" % (WRITERS[k[1]], SIZES[k[0]],
              " / ".join("–" if b is None else "%.1f" % (b / 1e6) for b in base),
              " | ".join(times(get(k, kind, m + "_rel")) for kind, m, _ in MODES)))
    print()
    print("| writer | mode | measured loss | estimate `share` | estimate `cpu_share` | estimate / loss "
          "| mean interval | over budget at 60 s | pagescan CPU |")
    print("|---|---|---|---|---|---|---|---|---|")
    for k in keys:
        for kind, m, name in MODES:
            loss, est = get(k, kind, m + "_loss"), get(k, kind, m + "_est")
            if loss is None:
                continue
            ratio = "%.2f" % (est / loss) if est is not None and loss > 0.02 else "–"
            cap = get(k, kind, m + "_at_cap")
            iv, cpu = get(k, kind, m + "_interval"), get(k, kind, m + "_pagescan_cpu")
            print("| %s, %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                WRITERS[k[1]], SIZES[k[0]], name, pct(loss), pct(est), pct(get(k, kind, m + "_estcpu")), ratio,
                "–" if iv is None else "%.1f s" % iv, pct(cap) if kind == "budget" and cap is not None else "",
                "–" if cpu is None else "%.1f %%" % cpu))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
