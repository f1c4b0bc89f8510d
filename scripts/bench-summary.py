#!/usr/bin/env python3
"""Prints criterion's results as markdown tables with the ratios docs/benchmarks.md uses.

    python3 scripts/bench-summary.py [--criterion-dir DIR] [--stat median|min] [GROUP...]

One table per group and case (e.g. `wait_scaling` / `level`): a row per parameter, the
median time per iteration of each subject, then ours / peer for every peer present
(`polling`, `mio`, `tokio`, `raw-epoll`). A ratio below 1 means ours is faster.
"""

import argparse
import collections
import sys

from criterion_results import STATS, criterion_dir, fmt_time, load

OURS = ["select", "poll", "epoll", "kqueue"]
PEERS = ["polling", "mio", "tokio", "raw-epoll"]


def order(subject):
    known = OURS + PEERS
    return (known.index(subject) if subject in known else len(known), subject)


def value_key(value):
    return (0, int(value)) if value.isdigit() else (1, value)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--criterion-dir")
    parser.add_argument("--stat", choices=STATS, default="median")
    parser.add_argument("groups", nargs="*")
    args = parser.parse_args()
    directory = criterion_dir(args.criterion_dir)
    if not directory.is_dir():
        sys.exit(f"no criterion results in {directory}: run `cargo bench` first")

    tables = collections.defaultdict(lambda: collections.defaultdict(dict))
    for group, case, subject, value, ns in load(directory, args.stat):
        if not args.groups or group in args.groups:
            tables[(group, case)][value][subject] = ns

    for (group, case), rows in sorted(tables.items()):
        subjects = sorted({s for row in rows.values() for s in row}, key=order)
        ours = [s for s in subjects if s in OURS]
        peers = [s for s in subjects if s in PEERS]
        ratios = [(o, p) for o in ours for p in peers]
        title = f"{group}/{case}" if case else group
        print(f"\n### {title}\n")
        head = ["N"] + subjects + [f"{o} / {p}" for o, p in ratios]
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for value in sorted(rows, key=value_key):
            row = rows[value]
            cells = [value or "-"]
            cells += [fmt_time(row[s]) if s in row else "" for s in subjects]
            cells += [
                f"{row[o] / row[p]:.2f}" if o in row and p in row else "" for o, p in ratios
            ]
            print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
