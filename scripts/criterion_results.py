"""Reads criterion's results (shared by bench-summary.py and plot-wait-scaling.py).

Criterion writes one directory per benchmark under `$CARGO_TARGET_DIR/criterion` (or
`target/criterion`), each with `new/benchmark.json` (its id) and `new/estimates.json`
(its statistics). We use the median time per iteration: on a shared, noisy machine it
moves less than the mean or the slope when another process steals the CPU.
"""

import json
import os
import pathlib


def criterion_dir(explicit=None):
    """The criterion output directory: `explicit`, else from CARGO_TARGET_DIR, else ./target."""
    if explicit:
        return pathlib.Path(explicit)
    target = os.environ.get("CARGO_TARGET_DIR")
    if target:
        return pathlib.Path(target) / "criterion"
    root = pathlib.Path(__file__).resolve().parent.parent
    return root / "target" / "criterion"


def load(directory):
    """Yields (group, case, subject, value, median_ns) for every benchmark found.

    A function id `level/epoll` is case `level`, subject `epoll`; `epoll` alone is case
    "" and subject `epoll`. `value` is the benchmark parameter (e.g. the fd count) or "".
    """
    for bench in sorted(pathlib.Path(directory).glob("**/new/benchmark.json")):
        ident = json.loads(bench.read_text())
        estimates = json.loads((bench.parent / "estimates.json").read_text())
        case, _, subject = ident["function_id"].rpartition("/")
        value = ident.get("value_str") or ""
        yield ident["group_id"], case, subject, value, estimates["median"]["point_estimate"]


def fmt_time(ns):
    """Nanoseconds in the unit a reader expects."""
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"
