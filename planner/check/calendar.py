"""Calendar checks: weeks outside the year, shallow featured mechanics, and minimum event counts that blackouts,
run limits, gaps and locked events make impossible (events themselves: planner/check/events.py).

Feasibility, per account x product group and per `event_count` rule with a minimum: a dynamic programme over
the weeks with state (current run length, unpromoted weeks since the last run, events counted in the current
period, capped at the minimum) decides whether some schedule meets the minimum in every period while obeying
blackouts, `max_consecutive`, `min_gap`, mechanic availability and the locked events. It is exact for one
counting rule at a time together with those structural rules; conflicts that need two counting rules at once, or
a deep-discount window, are left to the optimizer's infeasibility diagnosis (docs/checks.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from planner.check.context import CheckContext, related
from planner.check.events import plan_of
from planner.compile.calendar import counted, periods
from planner.rules.findings import (
    CALENDAR_INFEASIBLE,
    FEATURE_DEPTH,
    WEEK_OUT_OF_YEAR,
    Finding,
    finding,
)
from planner.rules.schema import (
    Blackout,
    CalendarRule,
    Display,
    Event,
    EventCount,
    FeatureMinDepth,
    Holiday,
    MaxConsecutive,
    MinGap,
)


def check_weeks(context: CheckContext) -> list[Finding]:
    """Weeks past the fiscal year's end, and budgets for a quarter the calendar does not have."""
    weeks = context.index.calendar.weeks
    findings = []
    holders: list[tuple[Holiday | Event | Display | Blackout, str]]
    holders = [(h, "holiday") for h in (context.rules.calendar.holidays if context.rules.calendar else ())]
    holders += [(e, "event") for e in context.rules.events] + [(d, "display") for d in context.rules.displays]
    holders += [(r, "blackout") for r in context.rules.calendar_rules if isinstance(r, Blackout)]
    for item, what in holders:
        outside = [w for w in item.weeks if w > weeks]
        if outside:
            findings.append(finding(
                WEEK_OUT_OF_YEAR, f"{what} '{item.id}' names week(s) {outside}; the fiscal year has {weeks} weeks",
                item.field_location("weeks"), example={"id": item.id, "weeks": outside},
                fix=f"use weeks 1 to {weeks}"))
    quarters = len(context.index.calendar.quarters)
    for budget in context.rules.budgets:
        if budget.period != "year" and int(budget.period[1]) > quarters:
            findings.append(finding(
                WEEK_OUT_OF_YEAR, f"budget '{budget.id}' is for {budget.period}; the fiscal year has {quarters} "
                f"quarter{'s' if quarters != 1 else ''}", budget.field_location("period"),
                example={"id": budget.id, "period": budget.period, "quarters": quarters},
                fix=f"use year or Q1 to Q{quarters}, or split the calendar's weeks into more quarters"))
    return findings


def check_feature_depth(context: CheckContext) -> list[Finding]:
    """A featured/displayed mechanic shallower than a `feature_min_depth` rule binding one of its accounts. The
    mechanics are arrays (featured, depth, accounts), so a rule costs a few array operations, not a loop over
    every mechanic: only the pairs that are findings are visited."""
    index, rules = context.index, context.rules
    depth_rules = [r for r in rules.calendar_rules if isinstance(r, FeatureMinDepth)]
    featured = [m for m in rules.mechanics if m.is_featured_or_displayed]
    if not depth_rules or not featured:
        return []
    depths = np.array([m.effective_depth for m in featured])
    accounts_of = np.array([index.account_mask(m.applies_to) for m in featured], dtype=bool)
    findings = []
    for rule in depth_rules:
        shallow = ~(depths >= rule.min_depth - 1e-12)
        both = accounts_of & index.account_mask(rule.applies_to)[None, :]
        for k in np.flatnonzero(shallow & both.any(axis=1)):
            mechanic = featured[k]
            account = index.accounts[int(both[k].nonzero()[0][0])].id
            findings.append(finding(
                FEATURE_DEPTH, f"mechanic '{mechanic.id}' is featured/displayed at {mechanic.effective_depth:.0%} "
                f"effective depth, but '{rule.id}' asks for at least {rule.min_depth:.0%}",
                mechanic.location, related=[rule.location],
                example={"mechanic": mechanic.id, "account": account, "effective_depth": mechanic.effective_depth},
                fix=f"deepen '{mechanic.id}' to {rule.min_depth:.0%}, drop its feature/display, or narrow its scope"))
    return findings


def check_feasibility(context: CheckContext) -> list[Finding]:
    """Every scope is resolved once to arrays (mechanics x accounts, x products, x weeks; rules x accounts), so the
    work per account x product group is a few array operations plus a cached dynamic programme."""
    index, rules = context.index, context.rules
    minimums = [r for r in rules.calendar_rules if isinstance(r, EventCount) and r.min > 0]
    if not minimums:
        return []
    weeks = index.calendar.weeks
    locked = plan_of(rules.events, locked_only=True)
    mechanics = list(rules.mechanics)
    mechanic_ids = [m.id for m in mechanics]
    shape = (len(mechanics), len(index.accounts))
    mechanic_accounts = np.array([index.account_mask(m.applies_to) for m in mechanics], dtype=bool).reshape(shape)
    mechanic_products = np.array([index.product_mask(m.applies_to) for m in mechanics], dtype=bool).reshape(
        len(mechanics), len(index.products))
    mechanic_weeks = np.array([index.week_mask(m.valid) for m in mechanics], dtype=bool).reshape(len(mechanics), weeks)
    rule_accounts = {id(r): index.account_mask(r.applies_to) for r in rules.calendar_rules}
    binding_matrix = np.array([rule_accounts[id(r)] for r in rules.calendar_rules], dtype=bool).reshape(
        len(rules.calendar_rules), len(index.accounts))
    structural = np.array([isinstance(r, (MaxConsecutive, MinGap, Blackout)) for r in rules.calendar_rules], dtype=bool)
    binding = [[rules.calendar_rules[k] for k in np.flatnonzero(binding_matrix[:, a] & structural)]
               for a in range(len(index.accounts))]  # only the structural rules shape a line
    binding_key = [(binding_matrix[:, a] & structural).tobytes() for a in range(len(index.accounts))]
    shapes: dict[tuple[bytes, str, bytes], Line] = {}
    counts_of = Counting(np.array(mechanic_ids, dtype=object))
    dark: dict[int, npt.NDArray[np.bool_]] = {}  # per blackout: mechanics x weeks it darkens, once per distinct one
    by_content: dict[tuple[tuple[str, ...] | None, tuple[int, ...]], npt.NDArray[np.bool_]] = {}
    for r in rules.calendar_rules:
        if isinstance(r, Blackout):
            content = (r.mechanics, tuple(w - 1 for w in r.weeks if w <= weeks))
            if content not in by_content:
                week_mask = np.zeros(weeks, dtype=bool)
                week_mask[list(content[1])] = True
                by_content[content] = np.outer(counts_of(r.mechanics), week_mask)
            dark[id(r)] = by_content[content]
    groups = [g for g in rules.product_groups if index.product_mask(g.products).any()]  # empty ones: PP314
    on_group = {g.id: (mechanic_products & index.product_mask(g.products)[None, :]).any(axis=1) for g in groups}
    lines: dict[tuple[int, str], Line] = {}
    schedules: dict[tuple[int, str, tuple[str, ...] | None], tuple[tuple[bool, ...], tuple[bool, ...],
                                                                   tuple[tuple[int, bool], ...]]] = {}
    findings = []
    for rule in minimums:
        counts = counts_of(rule.mechanics)
        windows = tuple((name, span.start, span.stop) for name, span in periods(rule, index))
        its_groups = [g for g in groups if rule.product_groups is None or g.id in rule.product_groups]
        for a in np.flatnonzero(rule_accounts[id(rule)]).tolist():
            account = index.accounts[a]
            for group in its_groups:
                line = lines.get((a, group.id))
                if line is None:  # the structure of a line is shared by every counting rule on it, and by lines
                    # with the same structural rules and mechanics
                    here = mechanic_accounts[:, a] & on_group[group.id]
                    shape_key = (binding_key[a], group.id, here.tobytes())
                    line = shapes.get(shape_key)
                    if line is None:
                        line = shapes[shape_key] = _line(group.id, binding[a], here, mechanic_weeks, dark, weeks)
                    lines[(a, group.id)] = line
                key = (a, group.id, rule.mechanics)
                shaped = schedules.get(key)
                if shaped is None:  # what a rule counts: clones and rules with one mechanics list share it
                    counts_here = counts[line.rows][:, None]
                    forced = locked.get((account.id, group.id), {})
                    shaped = schedules[key] = (
                        tuple(np.any(line.usable & counts_here, axis=0).tolist()),
                        tuple(np.any(line.usable & ~counts_here, axis=0).tolist()),
                        tuple(sorted((w, counted(rule.mechanics, m)) for w, m in forced.items())))
                countable, fillers, forced_key = shaped
                verdict = feasible(weeks, windows, countable, forced_key, line.max_run, line.gap, rule.min, rule.max,
                                   fillers)
                if verdict is None or verdict == "":
                    continue
                example = {"account": account.id, "product_group": group.id, "rule": rule.id, "min": rule.min,
                           "explanation": verdict}
                findings.append(finding(
                    CALENDAR_INFEASIBLE,
                    f"'{rule.id}' asks for at least {rule.min} event weeks per {rule.period} at {account.id} x "
                    f"{group.id}, but {verdict}",
                    rule.location, related=related([r.location for r in line.structure if r is not rule], example),
                    example=example, fix="lower the minimum, shorten the gap, allow longer runs, or lift a blackout"))
    return findings


def _line(group: str, binding: list[CalendarRule], mechanics_here: npt.NDArray[np.bool_],
          mechanic_weeks: npt.NDArray[np.bool_], dark: dict[int, npt.NDArray[np.bool_]], weeks: int) -> Line:
    """A product group at one account: the structural rules binding it (run limits, gaps, blackouts) and the
    mechanics x weeks usable there (only the mechanics allowed at the account and on the group's products are looked
    at; blackouts darken their cells)."""
    structure = [r for r in binding if r.product_groups is None or group in r.product_groups]
    candidates = np.flatnonzero(mechanics_here)
    usable = mechanic_weeks[candidates]
    darkened = {id(dark[id(r)]): dark[id(r)] for r in structure if isinstance(r, Blackout)}
    for cells in darkened.values():  # clones of one blackout darken the same cells once
        usable &= ~cells[candidates]
    used = usable.any(axis=1)  # most mechanics never run on a given line
    return Line(structure, min((r.weeks for r in structure if isinstance(r, MaxConsecutive)), default=weeks),
                max((r.weeks for r in structure if isinstance(r, MinGap)), default=0), usable[used], candidates[used])


@dataclass
class Counting:
    """Which mechanics a rule's `mechanics:` list counts, as a mask over the mechanics, once per distinct list."""

    mechanic_ids: npt.NDArray[np.object_]
    masks: dict[tuple[str, ...] | None, npt.NDArray[np.bool_]] = field(default_factory=dict)

    def __call__(self, mechanics: tuple[str, ...] | None) -> npt.NDArray[np.bool_]:
        if mechanics not in self.masks:
            self.masks[mechanics] = (np.ones(len(self.mechanic_ids), dtype=bool) if mechanics is None
                                     else np.isin(self.mechanic_ids, np.array(mechanics, dtype=object)))
        return self.masks[mechanics]


@dataclass
class Line:
    """What one account x product group allows, whatever is counted: the structural rules binding it (run limits,
    gaps, blackouts), the tightest run limit and gap, and per mechanic x week whether it is usable there."""

    structure: list[CalendarRule]
    max_run: int
    gap: int
    usable: npt.NDArray[np.bool_]
    """Mechanics usable somewhere on the line (rows) x weeks."""
    rows: npt.NDArray[np.intp]
    """Which mechanics the rows of `usable` are."""


@lru_cache(maxsize=65536)
def feasible(weeks: int, windows: tuple[tuple[str, int, int], ...], countable: tuple[bool, ...],
             forced: tuple[tuple[int, bool], ...], max_run: int, gap: int, minimum: int,
             maximum: int | None = None, fillers: tuple[bool, ...] = ()) -> str | None:
    """'' when a schedule meets `minimum` (and at most `maximum`) counted weeks in every window; otherwise why not
    (None: the locked events alone already break the structure, which check_events reports).

    Per week, `countable`: a usable mechanic counts; `fillers`: a usable mechanic does not count. A filler still
    matters: it can join two runs that would otherwise be too close, without using up the maximum. Counts are
    tracked exactly up to the maximum (capped at the minimum when there is none)."""
    if maximum is None:
        return _feasible_without_maximum(weeks, windows, countable, forced, max_run, gap, minimum, fillers)
    forced_at = dict(forced)
    window_end = {stop - 1: name for name, _, stop in windows}
    window_of = {w: name for name, start, stop in windows for w in range(start, stop)}
    best = {name: 0 for name, _, _ in windows}
    states = {(0, gap, 0)}  # (run length, unpromoted weeks since the last run, count in the current window)
    for week in range(1, weeks + 1):
        nxt: set[tuple[int, int, int]] = set()
        in_window = week in window_of
        for run, since, count in states:
            if week not in forced_at:
                nxt.add((0, min(gap, since + 1) if run == 0 else min(gap, 1), count))
            can_start = run > 0 and run < max_run or run == 0 and since >= gap
            if not can_start:
                continue
            if week in forced_at:
                gains: tuple[bool, ...] = (forced_at[week],)
            else:
                gains = (True,) * countable[week - 1] + (False,) * bool(fillers and fillers[week - 1])
            for gain in gains:
                total = count + (1 if gain and in_window else 0)
                if maximum is None or total <= maximum:
                    nxt.add((run + 1, 0, min(minimum if maximum is None else maximum, total)))
        if not nxt:
            alone = feasible(weeks, windows, countable, forced, max_run, gap, 0, maximum, fillers) if minimum else None
            return _stuck(week, alone == "")
        if week in window_end:
            name = window_end[week]
            best[name] = max(c for _, _, c in nxt)
            nxt = {(r, s, 0) for r, s, c in nxt if c >= minimum}
            if not nxt:
                return _short(name, best[name], minimum, windows)
        states = nxt
    return ""


def _feasible_without_maximum(weeks: int, windows: tuple[tuple[str, int, int], ...], countable: tuple[bool, ...],
                              forced: tuple[tuple[int, bool], ...], max_run: int, gap: int, minimum: int,
                              fillers: tuple[bool, ...]) -> str | None:
    """`feasible` with no maximum: of two states with the same run and gap the one with the larger count dominates
    (every schedule open to the smaller count is open to the larger, and ends with at least as many), so one count
    per (run length, weeks since the last run) is kept. The verdicts are those of the full state set: whether any
    state is left, and the largest count at the end of each window."""
    forced_at = dict(forced)
    window_end = {stop - 1: name for name, _, stop in windows}
    window_of = {w for _, start, stop in windows for w in range(start, stop)}
    states = {(0, gap): 0}  # (run length, unpromoted weeks since the last run) -> the largest count in the window
    for week in range(1, weeks + 1):
        nxt: dict[tuple[int, int], int] = {}
        in_window = week in window_of
        if week in forced_at:
            gain: bool | None = forced_at[week]
        elif countable[week - 1]:
            gain = True  # counting dominates filling
        else:
            gain = False if fillers and fillers[week - 1] else None
        for (run, since), count in states.items():
            if week not in forced_at:
                rest = (0, min(gap, since + 1) if run == 0 else min(gap, 1))
                if nxt.get(rest, -1) < count:
                    nxt[rest] = count
            if gain is None or not (run > 0 and run < max_run or run == 0 and since >= gap):
                continue
            total = min(minimum, count + (1 if gain and in_window else 0))
            if nxt.get((run + 1, 0), -1) < total:
                nxt[(run + 1, 0)] = total
        if not nxt:
            alone = feasible(weeks, windows, countable, forced, max_run, gap, 0, None, fillers) if minimum else None
            return _stuck(week, alone == "")
        if week in window_end:
            name = window_end[week]
            most = max(nxt.values())
            nxt = {key: 0 for key, count in nxt.items() if count >= minimum}
            if not nxt:
                return _short(name, most, minimum, windows)
        states = nxt
    return ""


def _stuck(week: int, structure_alone_fits: bool) -> str | None:
    """No schedule reaches `week`: the minimums crowd out a locked event there, or (None) the locked events alone
    break the structure (check_events reports that)."""
    if structure_alone_fits:
        return (f"no schedule that meets the minimum in the periods before week {week} leaves room for the "
                f"locked event in week {week} under the run limits and gaps")
    return None


def _short(name: str, most: int, minimum: int, windows: tuple[tuple[str, int, int], ...]) -> str:
    """No schedule meets the minimum of window `name`; at most `most` counted weeks fit there."""
    if most < minimum:
        earlier = " and the earlier periods' minimums" if name != windows[0][0] else ""
        return (f"at most {most} are possible in {name} given the blackouts, run limits, gaps, "
                f"mechanic availability and locked events{earlier}")
    return f"the minimums of {name} and earlier periods cannot all be met together"
