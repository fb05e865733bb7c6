"""Render the README's picture of one capacity indicator (FTE per region and segment) from
`segmentation capacity --json` output — the same figures as the `fte` sheet's chart.

    .venv/bin/segmentation capacity --json > /tmp/capacity.json
    .venv/bin/python docs/capacity_chart.py /tmp/capacity.json docs/capacity-fte.png
"""

from __future__ import annotations

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def main(source: str, target: str) -> None:
    with open(source, encoding="utf-8") as handle:
        report = json.load(handle)
    rows = [r for r in report["segments"] if r["population"] == "citizens" and r["region"] != "all"]
    regions = sorted({r["region"] for r in rows})
    categories = ["regular", "irregular", "needs_support"]
    colours = {"regular": "#4C78A8", "irregular": "#F58518", "needs_support": "#E45756"}
    figure, axis = plt.subplots(figsize=(10, 4.2), dpi=110)
    bottom = [0.0] * len(regions)
    for category in categories:
        values = [
            next(
                (r["fte"] for r in rows if r["region"] == region and r["category"] == category), 0.0
            )
            for region in regions
        ]
        axis.bar(
            regions,
            values,
            bottom=bottom,
            label=category.replace("_", " "),
            color=colours[category],
        )
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axis.set_title("Full-time equivalents per region and segment (handling hours / 1,556)")
    axis.set_xlabel("region (county code)")
    axis.set_ylabel("FTE")
    axis.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    axis.legend(frameon=False)
    axis.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    figure.savefig(target)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
