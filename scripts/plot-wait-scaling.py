#!/usr/bin/env python3
"""Draws docs/wait-scaling.svg from criterion's `wait_scaling` results (python3 stdlib only).

    cargo bench --bench wait_scaling
    python3 scripts/plot-wait-scaling.py [--criterion-dir DIR] [--stat median|min] [--out FILE]

Time per wait (by default the fastest of criterion's samples, see criterion_results.py;
`--stat median` for criterion's median) against registered fds, both axes logarithmic, one
line per backend and peer. Solid lines are level-triggered waits; dashed lines are the
edge-triggered half, whose time includes the 8-byte eventfd write that re-arms the edge
(`edge/bump-only`, drawn as a dotted line, is that write alone). The results directory is
$CARGO_TARGET_DIR/criterion, else target/criterion.
"""

import argparse
import math
import pathlib
import sys

from criterion_results import STATS, criterion_dir, load

# (case, subject) -> label, colour, dash pattern; in legend order.
SERIES = [
    ("level", "select", "select (ours, level)", "#d62728", None),
    ("level", "poll", "poll (ours, level)", "#ff7f0e", None),
    ("level", "epoll", "epoll (ours, level)", "#1f77b4", None),
    ("level", "polling", "polling crate (level)", "#2ca02c", None),
    ("edge", "epoll", "epoll (ours, edge + write)", "#1f77b4", "7,4"),
    ("edge", "polling", "polling crate (edge + write)", "#2ca02c", "7,4"),
    ("edge", "mio", "mio (edge + write)", "#9467bd", "7,4"),
    ("edge", "bump-only", "the eventfd write alone", "#7f7f7f", "2,3"),
]

WIDTH, HEIGHT = 860, 500
UNITS = [(1e6, "ms"), (1e3, "µs"), (1, "ns")]
STAT_LABEL = {"min": "criterion, fastest sample", "median": "criterion median"}
LEFT, RIGHT, TOP, BOTTOM = 80, 270, 50, 60


def decade_label(ns):
    """`1 ms`, `100 µs`, `10 ns`: a power of ten in its natural unit."""
    for scale, unit in UNITS:
        if ns >= scale:
            return f"{ns / scale:.0f} {unit}"
    return f"{ns:g} ns"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--criterion-dir")
    # The fastest sample by default: the chart should show the code's cost, not the noise.
    parser.add_argument("--stat", choices=STATS, default="min")
    root = pathlib.Path(__file__).resolve().parent.parent
    parser.add_argument("--out", default=str(root / "docs" / "wait-scaling.svg"))
    args = parser.parse_args()
    directory = criterion_dir(args.criterion_dir)

    points = {}
    for group, case, subject, value, ns in load(directory, args.stat):
        if group == "wait_scaling":
            points.setdefault((case, subject), {})[value] = ns
    if not points:
        sys.exit(f"no wait_scaling results in {directory}: run `cargo bench --bench wait_scaling`")

    sizes = sorted({int(v) for series in points.values() for v in series if v.isdigit()})
    # The bump has no fd count: draw it flat across the range.
    bump = points.get(("edge", "bump-only"), {}).get("")
    if bump is not None:
        points[("edge", "bump-only")] = {str(n): bump for n in sizes}

    times = [ns for series in points.values() for ns in series.values()]
    x_lo, x_hi = math.log10(min(sizes)) - 0.1, math.log10(max(sizes)) + 0.1
    y_lo = math.floor(math.log10(min(times)))
    y_hi = math.ceil(math.log10(max(times)))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(n):
        return LEFT + (math.log10(n) - x_lo) / (x_hi - x_lo) * plot_w

    def y(ns):
        return TOP + plot_h - (math.log10(ns) - y_lo) / (y_hi - y_lo) * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{LEFT}" y="24" font-size="15" font-weight="bold">wait_scaling: time per '
        "wait, 1 ready fd of N registered</text>",
        f'<text x="{LEFT}" y="40" fill="#555">{STAT_LABEL[args.stat]} per wait; log-log; '
        "lower is better</text>",
    ]
    for decade in range(y_lo, y_hi + 1):
        ns = 10**decade
        out.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(ns):.1f}" y2="{y(ns):.1f}" '
            'stroke="#ddd"/>'
        )
        out.append(
            f'<text x="{LEFT - 8}" y="{y(ns) + 4:.1f}" text-anchor="end">{decade_label(ns)}</text>'
        )
    for n in sizes:
        out.append(
            f'<line x1="{x(n):.1f}" x2="{x(n):.1f}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#eee"/>'
        )
        out.append(
            f'<text x="{x(n):.1f}" y="{TOP + plot_h + 18}" text-anchor="middle">{n}</text>'
        )
    out.append(
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>'
    )
    out.append(
        f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 18}" text-anchor="middle">'
        "registered fds (N)</text>"
    )
    out.append(
        f'<text transform="translate(18 {TOP + plot_h / 2}) rotate(-90)" '
        'text-anchor="middle">time per wait</text>'
    )

    legend_y = TOP + 10
    for case, subject, label, colour, dash in SERIES:
        series = points.get((case, subject))
        if not series:
            continue
        xy = sorted((int(v), ns) for v, ns in series.items() if v.isdigit())
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        path = " ".join(f"{x(n):.1f},{y(ns):.1f}" for n, ns in xy)
        out.append(
            f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"'
            f"{dash_attr}/>"
        )
        for n, ns in xy:
            out.append(f'<circle cx="{x(n):.1f}" cy="{y(ns):.1f}" r="3" fill="{colour}"/>')
        lx = LEFT + plot_w + 16
        out.append(
            f'<line x1="{lx}" x2="{lx + 28}" y1="{legend_y}" y2="{legend_y}" stroke="{colour}" '
            f'stroke-width="2"{dash_attr}/>'
        )
        out.append(f'<text x="{lx + 34}" y="{legend_y + 4}">{label}</text>')
        legend_y += 20
    out.append("</svg>")

    pathlib.Path(args.out).write_text("\n".join(out) + "\n")
    print(f"wrote {args.out} from {directory}")


if __name__ == "__main__":
    main()
