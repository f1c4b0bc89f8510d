"""Reads criterion's results (shared by bench-summary.py and plot-wait-scaling.py).

Criterion writes one directory per benchmark under `$CARGO_TARGET_DIR/criterion` (or
`target/criterion`), each with `new/benchmark.json` (its id), `new/estimates.json` (its
statistics) and `new/sample.json` (the raw samples). Two statistics are offered:

- `median` (default): criterion's median time per iteration; on a shared, noisy machine it
  moves less than the mean or the slope when another process steals the CPU;
- `min`: the fastest sample's time per iteration. Noise from other processes only ever
  adds time, so on a busy machine the minimum is the closest to the code's own cost, and
  ratios of minimums move least from run to run.
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


STATS = ("median", "min")


def statistic(bench_dir, stat):
    """The time per iteration (ns) of one benchmark's `new/` directory, by `stat`."""
    if stat == "min":
        sample = json.loads((bench_dir / "sample.json").read_text())
        return min(t / n for t, n in zip(sample["times"], sample["iters"]))
    estimates = json.loads((bench_dir / "estimates.json").read_text())
    return estimates["median"]["point_estimate"]


def load(directory, stat="median"):
    """Yields (group, case, subject, value, ns) for every benchmark found.

    A function id `level/epoll` is case `level`, subject `epoll`; `epoll` alone is case
    "" and subject `epoll`. `value` is the benchmark parameter (e.g. the fd count) or "".
    """
    for bench in sorted(pathlib.Path(directory).glob("**/new/benchmark.json")):
        ident = json.loads(bench.read_text())
        case, _, subject = ident["function_id"].rpartition("/")
        value = ident.get("value_str") or ""
        yield ident["group_id"], case, subject, value, statistic(bench.parent, stat)


def fmt_time(ns):
    """Nanoseconds in the unit a reader expects."""
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"
