"""The approval pack's charts, drawn by matplotlib (Agg, no display) as PNG images.

Each function takes the pack's plain data and returns PNG bytes, which the HTML page embeds as data URIs and the
workbook as images, so both files are self-contained. matplotlib is imported only here, inside `_figure`, to keep
the other commands light.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

GOOD, BAD, NEUTRAL, ACCENT, MUTED = "#2e7d32", "#c62828", "#546e7a", "#1565c0", "#b0bec5"
DPI = 110


@contextmanager
def _figure(width: float, height: float) -> Iterator[tuple[Any, Any, io.BytesIO]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(width, height), dpi=DPI)
    out = io.BytesIO()
    try:
        yield figure, axes, out
        axes.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        figure.savefig(out, format="png")
    finally:
        plt.close(figure)


def _millions(value: float, _position: Any = None) -> str:
    return f"{value / 1e6:,.1f}M" if abs(value) >= 1e5 else f"{value:,.0f}"


def waterfall(steps: Sequence[tuple[str, float, str]], currency: str) -> bytes:
    """Gross sales down to dead-net sales: `steps` are (label, amount, kind) where kind is 'total' (a bar from the
    axis) or 'deduction' (a bar hanging from the running total). Deductions are a few percent of gross sales, so
    the axis starts just below the smallest total (said on the axis) to keep them readable."""
    from matplotlib.ticker import FuncFormatter

    totals = [amount for _, amount, kind in steps if kind == "total"]
    floor = max(0.0, min(totals) - 0.35 * (max(totals) - min(totals)))
    with _figure(9.0, 3.6) as (_, axes, out):
        running = 0.0
        for position, (label, amount, kind) in enumerate(steps):
            if kind == "total":
                axes.bar(position, amount - floor, bottom=floor, color=ACCENT)
                running = amount
                axes.annotate(_millions(amount), (position, amount), ha="center", va="bottom", fontsize=8)
            else:
                axes.bar(position, -amount, bottom=running, color=BAD if amount > 0 else GOOD)
                axes.annotate(f"-{_millions(amount)}", (position, running), ha="center", va="bottom", fontsize=8)
                running -= amount
        axes.set_ylim(floor, max(totals) * 1.02)
        axes.set_xticks(range(len(steps)), [label for label, _, _ in steps], rotation=15, ha="right", fontsize=8)
        axes.yaxis.set_major_formatter(FuncFormatter(_millions))
        axes.set_ylabel(currency + (f" (axis from {_millions(floor)})" if floor else ""))
        axes.set_title("Gross sales to dead-net sales: where the trade spend goes", fontsize=10)
    return out.getvalue()


def spend_and_roi(accounts: Sequence[dict[str, Any]], currency: str) -> bytes:
    """Promotion spend per account (bars) with the promotion ROI written at each bar's end."""
    from matplotlib.ticker import FuncFormatter

    rows = sorted(accounts, key=lambda row: row["budget_used"])
    with _figure(9.0, 0.32 * len(rows) + 1.2) as (_, axes, out):
        names = [row["id"] for row in rows]
        spend = [row["budget_used"] for row in rows]
        colors = [GOOD if row["promo_roi"] >= 0 else BAD for row in rows]
        axes.barh(names, spend, color=colors)
        for name, value, row in zip(names, spend, rows, strict=True):
            axes.annotate(f" ROI {row['promo_roi']:.0%}", (value, name), va="center", fontsize=8)
        axes.xaxis.set_major_formatter(FuncFormatter(_millions))
        axes.set_xlabel(f"promotion budget used ({currency}); green: promotions pay back, red: they do not")
        axes.tick_params(axis="y", labelsize=8)
        axes.set_title("Promotion spend and ROI by account", fontsize=10)
        axes.margins(x=0.15)
    return out.getvalue()


def budgets(checks: Sequence[dict[str, Any]], currency: str) -> bytes:
    """Each budget's spend against its maximum: the bar is the share used, red above 100%."""
    with _figure(9.0, 0.3 * len(checks) + 1.2) as (_, axes, out):
        labels = [f"{check['rule']} ({check['scope']})" for check in checks]
        used = [check["actual"] / check["limit"] if check["limit"] else 0.0 for check in checks]
        axes.barh(labels, used, color=[GOOD if check["ok"] else BAD for check in checks])
        axes.axvline(1.0, color=NEUTRAL, linestyle="--", linewidth=1)
        for label, share in zip(labels, used, strict=True):
            axes.annotate(f" {share:.0%}", (share, label), va="center", fontsize=8)
        axes.set_xlabel(f"share of the budget used ({currency} spent / maximum)")
        axes.tick_params(axis="y", labelsize=8)
        axes.invert_yaxis()
        axes.set_title("Budget used vs available", fontsize=10)
        axes.margins(x=0.1)
    return out.getvalue()


def risk(rows: Sequence[tuple[str, float, float, float]], what: str, currency: str) -> bytes:
    """P10-P90 ranges around the P50, in percent of the P50 so small and large accounts read alike, one row per
    account with its P50 amount written: `rows` are (account, p10, p50, p90)."""
    from matplotlib.ticker import PercentFormatter

    with _figure(9.0, 0.32 * len(rows) + 1.2) as (_, axes, out):
        names = [name for name, _, _, _ in rows]
        low = [(p10 / p50 - 1) * 100 if p50 else 0.0 for _, p10, p50, _ in rows]
        high = [(p90 / p50 - 1) * 100 if p50 else 0.0 for _, _, p50, p90 in rows]
        axes.hlines(names, low, high, color=MUTED, linewidth=7)
        axes.plot([0.0] * len(rows), names, "o", color=ACCENT, markersize=5)
        for name, top, (_, _, p50, _) in zip(names, high, rows, strict=True):
            axes.annotate(f"  P50 {_millions(p50)}", (top, name), va="center", fontsize=8)
        axes.axvline(0.0, color=NEUTRAL, linewidth=0.8)
        axes.xaxis.set_major_formatter(PercentFormatter(decimals=1))
        axes.set_xlabel(f"{what}: P10 to P90 as % of the P50 ({currency} P50 written at the right)")
        axes.tick_params(axis="y", labelsize=8)
        axes.invert_yaxis()
        axes.margins(x=0.25)
        axes.set_title(f"{what.capitalize()} risk by account", fontsize=10)
    return out.getvalue()
