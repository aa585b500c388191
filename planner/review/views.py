"""The review as text: plan vs actual, the variance split, events, the league table, the latest estimate, the
rebate outlook and policy headroom. `Review.as_json()` is the machine-readable form of the same figures."""

from __future__ import annotations

from collections.abc import Sequence

from planner.review.review import Review
from planner.review.variance import COMPONENTS


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A plain text table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).ljust(w) if k == 0 else str(c).rjust(w)
                         for k, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return [line(header), line(["-" * w for w in widths]), *(line(row) for row in rows)]


def money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def share(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1%}" if abs(value) < 10 else f"{value:,.1f}"


def render_text(review: Review) -> str:
    ytd, currency = review.year_to_date, review.currency
    out = [(f"review of {review.plan_label} against actuals through week {review.through} of {review.year} "
            f"(money in {currency}; variance of gross profit, actual - plan)"), ""]
    header = ["account", "volume", "plan volume", "gross profit", "plan GP", "variance", *COMPONENTS]
    rows = []
    for a, account in enumerate(review.accounts):
        figures = ytd.account(a)
        rows.append([account, money(figures["actual"]["volume"]), money(figures["plan"]["volume"]),
                     money(figures["actual"]["gross_profit"]), money(figures["plan"]["gross_profit"]),
                     money(figures["variance"]["total"]), *(money(figures["variance"][c]) for c in COMPONENTS)])
    totals = ytd.totals()
    rows.append(["total", money(totals["actual"]["volume"]), money(totals["plan"]["volume"]),
                 money(totals["actual"]["gross_profit"]), money(totals["plan"]["gross_profit"]),
                 money(totals["variance"]["total"]), *(money(totals["variance"][c]) for c in COMPONENTS)])
    out += ["year to date", *table(header, rows), ""]
    if review.quarter:
        quarter = review.quarter_to_date.totals()
        parts = ", ".join(f"{c} {money(quarter['variance'][c])}" for c in COMPONENTS)
        out.append(f"Q{review.quarter} to date: gross profit {money(quarter['actual']['gross_profit'])} against "
                   f"{money(quarter['plan']['gross_profit'])} planned, variance {money(quarter['variance']['total'])} "
                   f"({parts})")
        out.append("")
    out += ["promotions", *table(
        ["event", "account", "mechanic", "weeks", "status", "lift", "model lift", "incr. cases", "spend", "ROI",
         "planned ROI"],
        [[e.event, e.account, e.mechanic, _weeks(e.weeks), e.status, _ratio(e.lift), _ratio(e.model_lift),
          money(e.incremental_volume), money(e.spend), _ratio(e.roi), _ratio(e.planned_roi)]
         for e in review.events]), ""]
    out += ["mechanics by account (league table)", *table(
        ["account", "mechanic", "events", "incr. cases", "incr. GP", "spend", "ROI", "verdict"],
        [[r.account, r.mechanic, str(r.events), money(r.incremental_volume), money(r.incremental_gross_profit),
          money(r.spend), _ratio(r.roi), r.verdict] for r in review.league]), ""]
    estimate = review.estimate
    spread = estimate.total_spread.get("gross_profit")
    out.append(f"latest estimate for the year: {money(float(estimate.volume.sum()))} cases "
               f"(plan {money(float(estimate.plan_volume.sum()))}), gross profit "
               f"{money(float(estimate.gross_profit.sum()))} (plan {money(float(estimate.plan_gross_profit.sum()))})"
               + (f"; P10/P50/P90 {money(spread.p10)} / {money(spread.p50)} / {money(spread.p90)} over "
                  f"{estimate.draws} draws" if spread else ""))
    out += ["", "rebate and growth-target outlook (open periods)", *table(
        ["rule", "account", "period", "so far", "tier", "expected", "tier", "probability", "next tier needs",
         "per week"],
        [[o.rule, o.account, o.period, _measure(o.basis, o.so_far), str(o.tier_so_far),
          _measure(o.basis, o.expected), str(o.expected_tier), f"{o.probability:.0%}",
          "-" if o.cases_needed is None else f"{o.cases_needed:,.0f} cases",
          money(o.cases_needed_per_week)] for o in review.outlook if o.status == "open"]), ""]
    out += ["policy on actuals (projected = actuals to date + forecast)", *table(
        ["rule", "kind", "scope", "limit", "to date", "projected", "headroom", "ok"],
        [[p.rule, p.kind, p.scope, _limit(p.kind, p.limit), _limit(p.kind, p.to_date), _limit(p.kind, p.projected),
          _limit(p.kind, p.headroom), "yes" if p.ok else "NO"] for p in review.policy])]
    if review.missing_cells:
        out += ["", (f"note: {review.missing_cells:,} account x product x weeks to date have no sell-in row; "
                     "they count as no sell-in")]
    return "\n".join(out)


def _weeks(weeks: Sequence[int]) -> str:
    return "-" if not weeks else str(weeks[0]) if len(weeks) == 1 else f"{weeks[0]}-{weeks[-1]}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _measure(basis: str, value: float) -> str:
    return f"{value:+.1%}" if basis == "growth" else money(value)


def _limit(kind: str, value: float) -> str:
    return money(value) if kind.startswith("budget") else f"{value:.1%}"
