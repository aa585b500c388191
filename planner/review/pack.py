"""The quarterly business review pack (业务回顾) per account: one HTML page and one Excel workbook, in the approval
pack's style, with English and Chinese labels side by side.

For each account: achievements and gaps against the plan (year to date, and the variance split), the promotions
that worked and did not (post-event ROI against the plan's), the rebate and growth-target outlook, the latest
estimate, and the proposed revisions -- each one derived from a figure above it, never typed in:

* a mechanic whose executed events lost money (league table verdict 'drop'): drop it or rework it;
* a promotion whose lift fell short of the model's by more than 20 %: check its execution before repeating it;
* an open rebate tier or growth target within reach (the next tier needs cases): the cases per remaining week;
* an account running under the model (run rate below 98 %): revise its baseline in the re-plan;
* a policy rule projected to break: the headroom it lacks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from planner.review.review import Review
from planner.review.variance import COMPONENTS

HTML, WORKBOOK = "qbr.html", "qbr.xlsx"
LABELS = {
    "review": ("Quarterly business review", "季度业务回顾"),
    "achievements": ("Achievements and gaps against the plan", "业绩与计划差距"),
    "promotions": ("Promotions: what worked, what did not", "促销效果"),
    "outlook": ("Rebate and growth-target outlook", "返利与增长目标展望"),
    "estimate": ("Latest estimate for the year", "全年最新预估"),
    "revisions": ("Proposed revisions", "建议调整"),
    "figure": ("Figure", "指标"), "actual": ("Actual", "实际"), "plan": ("Plan", "计划"),
    "variance": ("Variance", "差异"), "volume": ("Volume (cases)", "销量（箱）"),
    "gross_sales": ("Gross sales", "总销售额"), "trade_spend": ("Trade spend", "贸易费用"),
    "net_sales": ("Net sales", "净销售额"), "gross_profit": ("Gross profit", "毛利"),
    "gross_margin": ("Gross margin", "毛利率"), "budget_spend": ("Promotion budget used", "促销预算使用"),
    "baseline": ("Baseline (market)", "基线（市场）"), "promotions_part": ("Promotions", "促销"),
    "price_mix": ("Price / mix", "价格/结构"), "rebates": ("Rebates", "返利"), "total": ("Total", "合计"),
    "event": ("Event", "活动"), "mechanic": ("Mechanic", "机制"), "weeks": ("Weeks", "周"),
    "status": ("Status", "状态"), "lift": ("Lift", "提升"), "roi": ("ROI", "投资回报"),
    "planned_roi": ("Planned ROI", "计划投资回报"), "spend": ("Spend", "费用"), "verdict": ("Verdict", "结论"),
    "rule": ("Rule", "规则"), "period": ("Period", "期间"), "so_far": ("So far", "至今"),
    "expected": ("Expected", "预计"), "probability": ("Probability", "概率"),
    "needed": ("Cases needed for next tier", "达到下一档所需箱数"), "p10": ("P10", "P10"), "p90": ("P90", "P90"),
    "worked": ("worked", "有效"), "did_not": ("did not pay", "未回本"), "none": ("No revision proposed.", "无建议调整。"),
}


def label(key: str) -> str:
    english, chinese = LABELS[key]
    return english if english == chinese else f"{english} {chinese}"


def _money(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:+.1%}"


def revisions(result: Review, a: int) -> list[str]:
    """The proposed revisions for account `a` (module docstring)."""
    account = result.accounts[a]
    out = [f"{row.mechanic}: its {row.events} event(s) lost {_money(-row.incremental_gross_profit)} "
           f"{result.currency} after their cost (ROI {row.roi:.2f}) — drop it or rework it / 建议取消或调整"
           for row in result.league if row.account == account and row.verdict == "drop" and row.roi is not None]
    out += [f"{e.event}: lift {e.lift:.2f} against the model's {e.model_lift:.2f} — check its execution before "
            "repeating it / 复盘执行情况" for e in result.events
            if e.account == account and e.lift is not None and e.model_lift and e.lift < 0.8 * e.model_lift]
    out += [f"{o.rule} ({o.period}): {o.cases_needed:,.0f} more cases for tier {o.next_tier} "
            f"({o.cases_needed_per_week:,.0f} a week; probability now {o.next_probability:.0%}) / 冲刺下一档"
            for o in result.outlook if o.account == account and o.status == "open" and o.cases_needed
            and o.cases_needed_per_week is not None and o.next_probability is not None]
    rate = float(result.basis.trend[a])
    if rate < 0.98:
        out.append(f"runs at {rate:.1%} of the model in unpromoted weeks — revise its baseline in the re-plan / "
                   "下调基线")
    out += [f"{p.rule} ({p.scope}) is projected to break: headroom {p.headroom:,.3g} / 预计违反政策"
            for p in result.policy if not p.ok and account in p.scope]
    return out


def account_view(result: Review, a: int) -> dict[str, Any]:
    figures = result.year_to_date.account(a)
    account = result.accounts[a]
    estimate = result.estimate
    rows = [(key, figures["actual"][key], figures["plan"][key]) for key in
            ("volume", "gross_sales", "trade_spend", "net_sales", "gross_profit", "budget_spend")]
    spread = {k: v[a] for k, v in estimate.spread.items()}
    return {
        "id": account, "name": result.basis.compiled.index.accounts[a].name or account,
        "rows": [(label(key), _money(actual), _money(plan), _money(actual - plan)) for key, actual, plan in rows]
        + [(label("gross_margin"), _pct(figures["actual"]["gross_margin"]), _pct(figures["plan"]["gross_margin"]),
            f"{figures['actual']['gross_margin'] - figures['plan']['gross_margin']:+.1%}")],
        "split": [(label("promotions_part" if c == "promotions" else c), _money(figures["variance"][c]))
                  for c in COMPONENTS] + [(label("total"), _money(figures["variance"]["total"]))],
        "events": [(e.event, e.mechanic, f"{e.weeks[0]}-{e.weeks[-1]}" if e.weeks else "–", e.status,
                    "–" if e.lift is None else f"{e.lift:.2f}", _money(e.spend),
                    "–" if e.roi is None else f"{e.roi:.2f}",
                    "–" if e.planned_roi is None else f"{e.planned_roi:.2f}",
                    "–" if e.status == "cancelled" else label("worked") if (e.roi or -1) >= 0 else label("did_not"))
                   for e in result.events if e.account == account],
        "outlook": [(o.rule, o.period, f"{o.so_far:+.1%}" if o.basis == "growth" else _money(o.so_far),
                     f"{o.expected:+.1%}" if o.basis == "growth" else _money(o.expected), f"{o.probability:.0%}",
                     _money(o.cases_needed)) for o in result.outlook if o.account == account and o.status == "open"],
        "estimate": (_money(float(estimate.volume[a])), _money(float(estimate.plan_volume[a])),
                     _money(float(estimate.gross_profit[a])), _money(float(estimate.plan_gross_profit[a])),
                     _money(spread["gross_profit"].p10) if spread else "–",
                     _money(spread["gross_profit"].p90) if spread else "–"),
        "revisions": revisions(result, a) or [label("none")],
    }


TEMPLATE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ L('review') }}: {{ r.plan_label }} (week {{ r.through }})</title>
<style>
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "Noto Sans", "Noto Sans CJK SC", sans-serif;
         color: #1f2933; margin: 0 auto; max-width: 1100px; padding: 24px; }
  h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 32px 0 8px; border-bottom: 2px solid #e4e7eb;
  padding-bottom: 4px; } h3 { font-size: 15px; margin: 18px 0 4px; }
  .meta { color: #52606d; font-size: 13px; }
  table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; font-size: 13px; }
  th, td { padding: 3px 8px; border-bottom: 1px solid #eef0f2; text-align: left; vertical-align: top; }
  th { background: #f5f7fa; font-weight: 600; } td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
  .account { border: 1px solid #e4e7eb; border-radius: 6px; padding: 6px 14px 10px; margin: 12px 0; break-inside: avoid; }
  @media print { body { padding: 0; } h2 { break-after: avoid; } .account { break-before: page; } }
</style>
</head>
<body>
<header>
<h1>{{ L('review') }}</h1>
<div class="meta">{{ r.plan_label }} · {{ r.year }} · through week {{ r.through }} / 截至第 {{ r.through }} 周
 · {{ r.currency }}</div>
</header>
{% for a in accounts %}
<section class="account">
<h2>{{ a.name }} <span class="meta">({{ a.id }})</span></h2>
<h3>{{ L('achievements') }}</h3>
<table><tr><th>{{ L('figure') }}</th><th class="n">{{ L('actual') }}</th><th class="n">{{ L('plan') }}</th>
<th class="n">{{ L('variance') }}</th></tr>
{% for row in a.rows %}<tr><td>{{ row[0] }}</td><td class="n">{{ row[1] }}</td><td class="n">{{ row[2] }}</td>
<td class="n">{{ row[3] }}</td></tr>{% endfor %}
</table>
<table><tr><th>{{ L('variance') }} · {{ L('gross_profit') }}</th><th class="n">{{ r.currency }}</th></tr>
{% for row in a.split %}<tr><td>{{ row[0] }}</td><td class="n">{{ row[1] }}</td></tr>{% endfor %}
</table>
<h3>{{ L('promotions') }}</h3>
<table><tr><th>{{ L('event') }}</th><th>{{ L('mechanic') }}</th><th>{{ L('weeks') }}</th><th>{{ L('status') }}</th>
<th class="n">{{ L('lift') }}</th><th class="n">{{ L('spend') }}</th><th class="n">{{ L('roi') }}</th>
<th class="n">{{ L('planned_roi') }}</th><th>{{ L('verdict') }}</th></tr>
{% for e in a.events %}<tr>{% for cell in e %}<td{% if loop.index in (5, 6, 7, 8) %} class="n"{% endif %}>{{ cell }}</td>{% endfor %}</tr>{% endfor %}
</table>
<h3>{{ L('outlook') }}</h3>
<table><tr><th>{{ L('rule') }}</th><th>{{ L('period') }}</th><th class="n">{{ L('so_far') }}</th>
<th class="n">{{ L('expected') }}</th><th class="n">{{ L('probability') }}</th><th class="n">{{ L('needed') }}</th></tr>
{% for o in a.outlook %}<tr><td>{{ o[0] }}</td><td>{{ o[1] }}</td>{% for cell in o[2:] %}<td class="n">{{ cell }}</td>{% endfor %}</tr>{% endfor %}
</table>
<h3>{{ L('estimate') }}</h3>
<table><tr><th class="n">{{ L('volume') }}</th><th class="n">{{ L('plan') }}</th><th class="n">{{ L('gross_profit') }}</th>
<th class="n">{{ L('plan') }}</th><th class="n">{{ L('p10') }}</th><th class="n">{{ L('p90') }}</th></tr>
<tr>{% for cell in a.estimate %}<td class="n">{{ cell }}</td>{% endfor %}</tr></table>
<h3>{{ L('revisions') }}</h3>
<ul>{% for line in a.revisions %}<li>{{ line }}</li>{% endfor %}</ul>
</section>
{% endfor %}
</body>
</html>
"""


def render_html(result: Review) -> str:
    from jinja2 import Environment, StrictUndefined, select_autoescape

    environment = Environment(autoescape=select_autoescape(default=True, default_for_string=True),
                              undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    accounts = [account_view(result, a) for a in range(len(result.accounts))]
    return environment.from_string(TEMPLATE).render(r=result, accounts=accounts, L=label)


def write_workbook(result: Review, path: Path) -> None:
    """A summary sheet (every account's variance split) and one sheet per account with the pack's tables."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "Summary 汇总"
    summary.append([label("figure"), label("actual"), label("plan"), label("variance"),
                    *(label("promotions_part" if c == "promotions" else c) for c in COMPONENTS)])
    for a, account in enumerate(result.accounts):
        figures = result.year_to_date.account(a)
        summary.append([account, figures["actual"]["gross_profit"], figures["plan"]["gross_profit"],
                        figures["variance"]["total"], *(figures["variance"][c] for c in COMPONENTS)])
    for a, account in enumerate(result.accounts):
        view = account_view(result, a)
        sheet = book.create_sheet(account[:31])
        for title, header, rows in (
                ("achievements", [label("figure"), label("actual"), label("plan"), label("variance")], view["rows"]),
                ("variance", [label("figure"), result.currency], view["split"]),
                ("promotions", [label(k) for k in ("event", "mechanic", "weeks", "status", "lift", "spend", "roi",
                                                   "planned_roi", "verdict")], view["events"]),
                ("outlook", [label(k) for k in ("rule", "period", "so_far", "expected", "probability", "needed")],
                 view["outlook"]),
                ("revisions", [label("revisions")], [[line] for line in view["revisions"]])):
            sheet.append([label(title)])
            sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
            sheet.append(header)
            for row in rows:
                sheet.append(list(row))
            sheet.append([])
    book.save(path)


def write_pack(result: Review, folder: Path) -> list[str]:
    (folder / HTML).write_text(render_html(result), encoding="utf-8")
    write_workbook(result, folder / WORKBOOK)
    return [HTML, WORKBOOK]
