"""What `planner plan` and `planner audit` print: plain text for people, plain data for `--format json`.

Everything a person typed (comments, names) is printed through `identity.printable`, so a newline or an ANSI escape
in a comment shows as `\n` or `\x1b` and can never forge a line of `planner audit log` or recolour a terminal.

Numbers use the simulation report's formats (`planner.report.simulation.number` and `delta`), so a total reads the
same in `planner simulate`, `planner plan show` and `planner plan diff`.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

from planner.report.simulation import delta, kind_of, number
from planner.store.audit import AuditRow
from planner.store.diff import HEADLINE, describe_policy, describe_terms, titled
from planner.store.identity import printable
from planner.store.verify import Verification
from planner.store.versions import Version

LABELS = {"volume": "Volume", "gross_sales": "Gross sales", "trade_spend": "Trade spend", "net_sales": "Net sales",
          "gross_profit": "Gross profit", "gross_margin": "Gross margin %", "trade_spend_pct": "Trade spend %",
          "promo_roi": "Promotion ROI", "budget_used": "Budget used"}


NUMERIC = re.compile(r"^[-+]?[0-9][0-9,.]*(%| pt)?$|^-$|^n/a$")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Aligned columns: numbers to the right, words to the left."""
    columns = list(zip(header, *rows, strict=False))
    widths = [max(len(cell) for cell in column) for column in columns]
    right = [bool(rows) and all(NUMERIC.match(cell) for cell in column[1:]) for column in columns]

    def line(cells: list[str]) -> str:
        return "  ".join(cell.rjust(width) if flush else cell.ljust(width)
                         for cell, width, flush in zip(cells, widths, right, strict=False)).rstrip()

    return [line(header)] + [line(row) for row in rows]


def version_json(version: Version) -> dict[str, Any]:
    frozen = asdict(version.frozen)
    frozen["rule_files"] = [{"path": p, "kind": k, "sha256": s} for p, (k, s) in version.frozen.rule_files.items()]
    return {"version": version.number, "title": version.title, "status": version.status,
            "content_sha256": version.content_sha256,
            "submitted_by": version.submitted_by, "submitted_at": version.submitted_at,
            "decisions": [asdict(d) for d in version.decisions], **frozen}


def _approvals(version: Version) -> str:
    names = ", ".join(d.actor for d in version.approvals())
    return names or "-"


def show_text(version: Version, threshold: float | None) -> str:
    frozen, currency = version.frozen, version.frozen.currency
    needed = 2 if threshold is not None and version.budget_used > threshold else 1
    lines = [f"{version.label}: {printable(frozen.name or frozen.scenario)} ({frozen.year})",
             f"  status        {version.status}" + (f" ({len(version.approvals())} of {needed} approvals)"
                                                   if version.status == "submitted" else ""),
             f"  submitted     by {version.submitted_by} at {version.submitted_at}",
             f"  scenario      {frozen.scenario_file} (from {frozen.workdir})",
             f"  plan          {frozen.plan_source}, {len(frozen.events)} events",
             f"  content hash  {version.content_sha256}"]
    for decision in version.decisions:
        lines.append(f"  {decision.decision + 'd':<13} by {decision.actor} at {decision.at}"
                     + (f": {printable(decision.comment)}" if decision.comment else ""))
    lines += ["", "Totals"]
    lines += ["  " + row for row in _table(["kpi", currency or "value"], [
        [LABELS[key], number(version.totals.get(key, 0.0), kind_of(key))] for key in HEADLINE])]
    uncertainty = frozen.uncertainty or {}
    spread = uncertainty.get("totals", {})
    if spread:
        lines += ["", f"Uncertainty ({uncertainty['draws']} draws, seed {uncertainty['seed']})"]
        lines += ["  " + row for row in _table(["kpi", "P10", "P50", "P90"], [
            [LABELS.get(key, key), *(number(spread[key][p], kind_of(key)) for p in ("p10", "p50", "p90"))]
            for key in sorted(spread, key=lambda k: (HEADLINE.index(k) if k in HEADLINE else len(HEADLINE), k))])]
    failed = [check for check in frozen.policy if not check.get("ok", True)]
    lines += ["", f"Policy checks: {len(frozen.policy) - len(failed)} hold, {len(failed)} fail"]
    lines += [f"  FAIL {c['rule']} {c['kind']} {c['scope']}: {c['actual']:,.4g} vs limit {c['limit']:,.4g}"
              + (f" ({c['detail']})" if c.get("detail") else "") for c in failed]
    lines += ["", "Accounts"]
    keys = ("volume", "trade_spend", "gross_profit", "gross_margin", "budget_used")
    lines += ["  " + row for row in _table(["account", *(LABELS[k] for k in keys)], [
        [account, *(number(kpis.get(k, 0.0), kind_of(k)) for k in keys)]
        for account, kpis in version.accounts.items()])]
    lines += ["", f"Files ({len(frozen.rule_files)}, sha256)"]
    lines += [f"  {sha[:16]}  {kind:<8}  {path}" for path, (kind, sha) in frozen.rule_files.items()]
    if frozen.applied:
        lines += ["", "Overrides applied"] + [f"  {entry}" for entry in frozen.applied]
    return "\n".join(lines)


def list_text(versions: list[Version], failing: set[tuple[str, int]] | None = None) -> str:
    """The versions, one a line; a version that failed verification has UNVERIFIED beside its status."""
    if not versions:
        return "no versions in the plan store yet: planner plan submit SCENARIO --as USER"
    failing = failing or set()
    return "\n".join(_table(
        ["scenario", "version", "title", "status", "submitted by", "submitted at", "budget used", "gross profit",
         "approved by"],
        [[printable(v.scenario), str(v.number), printable(v.title or "-"),
          v.status + (" UNVERIFIED" if (v.scenario, v.number) in failing else ""), printable(v.submitted_by),
          printable(v.submitted_at[:19].replace("T", " ")), number(v.budget_used, "money"),
          number(v.totals.get("gross_profit", 0.0), "money"), printable(_approvals(v))]
         for v in versions]))


def diff_text(difference: dict[str, Any]) -> str:
    old, new = difference["from"], difference["to"]
    lines = [(f"{old['scenario']} version {old['version']}{titled(old)} ({old['status']}) -> "
              f"{new['scenario']} version {new['version']}{titled(new)} ({new['status']})")]
    totals = difference["totals"]
    lines += ["", "Totals" + ("" if totals else ": unchanged")]
    lines += ["  " + row for row in _table(["kpi", "before", "after", "change"], [
        [LABELS[key], number(c["before"], kind_of(key)), number(c["after"], kind_of(key)),
         delta(c["delta"], kind_of(key))] for key, c in totals.items()])] if totals else []
    accounts = difference["accounts"]
    lines += ["", f"Accounts changed: {len(accounts)}"]
    for account in accounts:
        if "only_in" in account:
            lines.append(f"  {account['id']}: only in the {account['only_in']} version")
            continue
        changes = ", ".join(f"{LABELS[key]} {delta(c['delta'], kind_of(key))}" for key, c in account["changes"].items())
        lines.append(f"  {account['id']}: {changes}")
    terms = difference["terms"]
    lines += ["", f"Account terms changed: {len(terms)}"]
    lines += [f"  {entry['id']}: " + "; ".join(describe_terms(entry)) for entry in terms]
    policy = difference["policy"]
    lines += ["", f"Policy checks changed: {len(policy)}"]
    lines += [f"  {describe_policy(change)}" for change in policy]
    files = difference["rule_files"]
    lines += ["", "Rule files" + ("" if any(files.values()) else ": unchanged")]
    lines += [f"  changed  {c['path']} ({c['before'][:12]} -> {c['after'][:12]})" for c in files["changed"]]
    lines += [f"  added    {path}" for path in files["added"]] + [f"  removed  {path}" for path in files["removed"]]
    events = difference["events"]
    lines += ["", "Plan events" + ("" if any(events.values()) else ": unchanged")]
    lines += [f"  added    {_event(e)}" for e in events["added"]]
    lines += [f"  removed  {_event(e)}" for e in events["removed"]]
    lines += [f"  changed  {c['id']}: " + ", ".join(f"{k} {v['before']} -> {v['after']}" for k, v in c["fields"].items())
              for c in events["changed"]]
    for key, change in difference["options"].items():
        lines.append(f"Option {key}: {change['before']} -> {change['after']}")
    overrides = difference["overrides"]
    lines += [f"Override added: {o}" for o in overrides["added"]] + [f"Override removed: {o}" for o in overrides["removed"]]
    return "\n".join(lines)


def _event(event: dict[str, Any]) -> str:
    return (f"{event['id']} ({event['account']}, {event['product_group']}, {event['mechanic']}, weeks "
            f"{','.join(str(w) for w in event['weeks'])})")


def verify_text(result: Verification) -> str:
    if result.ok:
        return f"audit trail intact: {result.rows} rows, chain head {result.head_hash}"
    first = f"first broken row: {result.broken_row}\n" if result.broken_row is not None else ""
    return (f"audit trail BROKEN ({len(result.problems)} problem(s) in {result.rows} rows)\n{first}"
            + "\n".join(f"  {printable(problem)}" for problem in result.problems))


def log_text(entries: list[AuditRow]) -> str:
    if not entries:
        return "the audit trail is empty"
    rows = []
    for row in entries:
        target = f"{row.scenario} v{row.version}" if row.scenario is not None else ""
        payload = row.payload
        detail = payload.get("comment") or (f"{payload.get('user')} {payload.get('role')}" if "role" in payload
                                            else f"{payload.get('key')} = {payload.get('value')}"
                                            if "key" in payload else payload.get("status", ""))
        if row.action.startswith("key_"):
            detail = f"{payload.get('user')} {str(payload.get('public_key'))[:16]}..."
        if payload.get("title"):
            detail = f'{detail} "{payload["title"]}"'

        rows.append([str(row.seq), printable(row.at[:19].replace("T", " ")), printable(row.actor), row.action,
                     printable(target), printable(str(detail)), row.row_hash[:12] + (" signed" if row.signature
                                                                                   else "")])
    return "\n".join(_table(["#", "at (UTC)", "actor", "action", "version", "detail", "hash"], rows))
