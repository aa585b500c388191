"""`planner calibrate RULES HISTORY...` without the command-line framework: load, fit, backtest, write.

Several histories (and, for a refit, the plan store's actuals of the rules' plan year) are read as one
(planner.history.join). With more than one, the command is a refit: it also fits the first history alone, over
the same weeks, and reports the lifts, elasticities, dips and cannibalizations the added data moved
(docs/review.md, "Refit").

Exit codes follow `planner validate`: 0 written, 1 the rules or the history have problems (each printed,
located), 2 the command cannot run (an unreadable file, a holdout the history cannot give, an --out folder
holding other work). Nothing is written unless every file is: the files are staged and moved into place
together (planner.folders.write_folder).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from planner.calibrate.backtest import MAX_WEEKS, Backtest, Score, plot_worst_series, run_backtest
from planner.calibrate.fit import CalibrationError, Fit, Interval, expected_cases, fit
from planner.calibrate.rules_writer import (
    Calibrated,
    Provenance,
    calibrated_rules,
    mechanic_flags,
    unwritten_holidays,
)
from planner.check import run_checks
from planner.check.cascade import fold_loaded
from planner.folders import unsafe_target, write_folder
from planner.history import History, HistoryError, load_history, split_holdout
from planner.history.frame import FLAG_COLUMNS, SERIES, SOURCE_ROW, HistoryUnreadable
from planner.history.join import join_histories
from planner.rules.findings import SINGLETON_MISSING, Severity
from planner.rules.load import build_rule_set, display_name, load_rules
from planner.rules.schema import RuleSet
from planner.rules.source import parse_yaml

CALIBRATED, BACKTEST, PLOT = "calibrated.yaml", "backtest.json", "worst_series.png"
FILES = frozenset({CALIBRATED, BACKTEST, PLOT})
Fitter = Callable[[pd.DataFrame], Fit]
ActualsReader = Callable[[RuleSet], History]
"""Reads the actuals a refit adds (the plan store's, for the rules' plan year) as a history; raises HistoryError."""
MOVED_DIGITS = 3
"""A parameter moved when its value printed to this many decimals changed."""


class Stop(Exception):
    """The command stops with an exit code; the message is already printed."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Request:
    rules: list[Path]
    history: Path
    holdout: int = 26
    origins: int = 1
    columns: Path | None = None
    out: Path | None = None
    format: str = "text"
    command: str = ""
    more_history: tuple[Path, ...] = ()
    """Further history files (e.g. the weeks since `history` was exported): a refit."""
    actuals: ActualsReader | None = None
    """The plan store's actuals of the rules' plan year, added last: a refit."""


@dataclass(frozen=True)
class Moved:
    """A fitted parameter the refit's added data moved: before (the first history alone) and after."""

    name: str
    before: Interval
    after: Interval

    @property
    def outside(self) -> bool:
        """The new value lies outside the old 95 % interval."""
        return not self.before.low <= self.after.value <= self.before.high

    def as_json(self) -> dict[str, Any]:
        return {"parameter": self.name, "before": _interval_json(self.before), "after": _interval_json(self.after),
                "outside_before_interval": self.outside}


@dataclass(frozen=True)
class Refit:
    """What the data added to the first history changed in the fit (same weeks, same settings)."""

    base: str
    added: tuple[str, ...]
    base_rows: int
    added_rows: int
    """Rows of the added data inside the fit's training weeks (0: all held out, nothing to compare)."""
    moved: tuple[Moved, ...]
    compared: int
    """Parameters fitted both times."""

    def as_json(self) -> dict[str, Any]:
        return {"base": self.base, "added": list(self.added), "base_rows": self.base_rows,
                "added_rows": self.added_rows, "compared": self.compared,
                "moved": [m.as_json() for m in self.moved]}


@dataclass(frozen=True)
class Outcome:
    fit: Fit
    calibrated: Calibrated
    backtests: list[Backtest]
    training: History
    files: list[str]
    refit: Refit | None = None
    warnings: tuple[str, ...] = ()
    """Located notes that do not stop the command (a history's holiday the rules' calendar does not declare)."""

    def as_json(self) -> dict[str, Any]:
        main = self.backtests[0].summary() if self.backtests else None
        if main is not None and len(self.backtests) > 1:
            main["origins"] = [b.summary() | {"by_category": None, "by_account": None} for b in self.backtests]
            main["origins_mean"] = {key: _mean([b.summary()[key] for b in self.backtests])
                                    for key in ("wape", "wape_promo", "wape_nonpromo", "bias")}
        return {
            "backtest": main,
            "parameters": {name: _interval_json(i) for name, i in self.fit.intervals.items()},
            "statistics": {k: _finite(v) if isinstance(v, float) else v for k, v in self.fit.statistics.items()},
            "provenance": {"source": self.calibrated.provenance.source, "sha256": self.calibrated.provenance.sha256,
                           "window": list(self.calibrated.provenance.window),
                           "rows": self.calibrated.provenance.rows},
            "rules": {"seasonality": len(self.calibrated.seasonality), "baselines": len(self.calibrated.baselines),
                      "response": len(self.calibrated.response)},
            "files": self.files,
            "refit": self.refit.as_json() if self.refit is not None else None,
            "warnings": list(self.warnings),
        }


def _interval_json(interval: Interval) -> dict[str, float | None]:
    return {"value": _finite(interval.value), "se": _finite(interval.se), "low": _finite(interval.low),
            "high": _finite(interval.high)}


def _finite(value: float) -> float | None:
    """JSON has no NaN: an unknown number (an interval the fit could not measure) is null."""
    return float(value) if np.isfinite(value) else None


def _mean(values: list[Any]) -> float | None:
    known = [float(v) for v in values if v is not None]
    return float(np.mean(known)) if known else None


def version() -> str:
    try:
        return metadata.version("promo-planner")
    except metadata.PackageNotFoundError:
        return "unknown"


def run_calibrate(request: Request, *, fitter: Fitter = fit, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """The command: 0 written (or printed), 1 problems in the rules or the history, 2 cannot run."""
    try:
        outcome = calibrate(request, fitter, err)
    except Stop as stop:
        return stop.code
    if request.format == "json":
        print(json.dumps(outcome.as_json(), indent=2, default=str), file=out)
    else:
        print(text_report(outcome, request), file=out)
    return 0


def _fail(err: TextIO, message: str, code: int) -> Stop:
    print(f"planner calibrate: {message}", file=err)
    return Stop(code)


def calibrate(request: Request, fitter: Fitter, err: TextIO) -> Outcome:
    """Load, fit on the training rows, backtest each origin, write the files; Stop on a problem."""
    if request.out is not None:
        problem = unsafe_target(request.out, FILES)
        if problem:
            raise _fail(err, problem, 2)
    if request.holdout < 0 or request.holdout > MAX_WEEKS:
        raise _fail(err, f"--holdout {request.holdout}: hold out 0 (no backtest) to {MAX_WEEKS} weeks", 2)
    if request.origins < 1:
        raise _fail(err, f"--origins {request.origins}: give at least 1", 2)
    rules = _rules(request, err)
    parts = _histories(request, rules, err)
    history = with_mechanic_flags(_join(parts, err), rules)
    windows = _windows(history, request, err)
    backtests = []
    training, fitted = windows[0][0], None
    for number, (train, held) in enumerate(windows):
        result = _fit(fitter, train, err)
        if number == 0:
            training, fitted = train, result
        if held is not None:
            backtests.append(run_backtest(result, rules, train.frame, held.frame, _provenance(train, request, result)))
    assert fitted is not None
    provenance = _provenance(training, request, fitted, backtests[0] if backtests else None, parts)
    refit = _refit(fitter, parts, training, fitted, err) if len(parts) > 1 else None
    start = rules.calendar.start if rules.calendar else (training.frame["week"].max() + pd.Timedelta(weeks=1)).date()
    calibrated = calibrated_rules(fitted, rules, start, provenance, noise=baseline_noise(fitted, training.frame))
    _check(calibrated, rules, err)
    warnings = holiday_warnings(fitted, rules, parts)
    for warning in warnings:
        print(f"warning: {warning}", file=err)
    files: list[str] = []
    if request.out is not None:
        files = _write(request.out, calibrated, backtests, training, request, fitted, refit, err)
    return Outcome(fitted, calibrated, backtests, training, files, refit, warnings)


def holiday_warnings(fitted: Fit, rules: RuleSet, parts: list[History]) -> tuple[str, ...]:
    """One located warning per holiday of the history that the rules' calendar does not declare: it is fitted
    (its weeks are kept out of the season weights) and reported, but the written response cannot name it."""
    out = []
    for holiday in unwritten_holidays(fitted, rules):
        for part in parts:
            rows = np.flatnonzero((part.frame["holiday"] == holiday).to_numpy())
            if len(rows):
                row = int(part.frame[SOURCE_ROW].iloc[rows[0]])
                out.append(f"{part.source}:{row} [holiday]: holiday '{holiday}' ({len(rows):,} rows) is not a holiday "
                           "of the rules' calendar: its uplift is fitted and reported but not written (fix: declare "
                           f"it in calendar.holidays with its weeks of the plan year, e.g. {{id: {holiday}, weeks: "
                           "[5], uplift: 1.0}, and calibrate again)")
                break
    return tuple(out)


def _rules(request: Request, err: TextIO) -> RuleSet:
    for path in request.rules:
        if not path.exists():
            raise _fail(err, f"no such rules file or folder: {path}", 2)
    loaded = load_rules(request.rules)
    findings = [f for f in loaded.findings if f.severity is Severity.ERROR]
    if loaded.rules.calendar is not None:  # broken references only: a price floor the rules breach (say) does not
        # stop a fit of their demand
        findings += [f for f in run_checks(loaded.rules) if f.severity is Severity.ERROR and f.code == "PP201"]
    findings = fold_loaded(findings, loaded)  # as planner validate: what a failed file caused is one PP205 note
    for finding in findings:
        print(f"{finding.location}: {finding.code} {finding.message}", file=err)
    errors = [f for f in findings if f.severity is Severity.ERROR]
    if errors:
        raise _fail(err, f"{len(errors)} error(s) in the rules; fix them (planner validate) and run again", 1)
    return loaded.rules


def _histories(request: Request, rules: RuleSet, err: TextIO) -> list[History]:
    """Every history of the request, each loaded and checked on its own; all problems of all files at once."""
    if request.columns is not None and not request.columns.is_file():
        raise _fail(err, f"column map does not exist: {request.columns}", 2)
    parts: list[History] = []
    problems: list[HistoryError] = []
    for path in (request.history, *request.more_history):
        try:
            parts.append(load_history(path, request.columns, rules))
        except HistoryError as error:
            problems.append(error)
    if request.actuals is not None and not problems:
        try:
            parts.append(request.actuals(rules))
        except HistoryError as error:
            problems.append(error)
    if problems:
        raise _history_problems(problems, err)
    return parts


def _join(parts: list[History], err: TextIO) -> History:
    try:
        return join_histories(parts)
    except HistoryError as error:
        raise _history_problems([error], err) from None


def _history_problems(errors: list[HistoryError], err: TextIO) -> Stop:
    count = 0
    for error in errors:
        for problem in error.problems:
            print(str(problem), file=err)
        count += len(error.problems)
    code = 2 if any(isinstance(error, HistoryUnreadable) for error in errors) else 1
    return _fail(err, f"{count} problem(s) in the history; nothing written", code)


def with_mechanic_flags(history: History, rules: RuleSet) -> History:
    """Rows that name a mechanic of the rules and set no flag get that mechanic's flags (feature, display, or deal
    for a price mechanic without either; planner.calibrate.rules_writer.mechanic_flags): actuals name the
    mechanic that ran, and the fit measures lifts by flags."""
    frame = history.frame
    if frame["mechanic"].isna().all():
        return history
    unflagged = (frame[list(FLAG_COLUMNS)] == 0).all(axis=1).to_numpy()
    changed = frame.copy() if unflagged.any() else frame
    for mechanic in rules.mechanics:
        rows = unflagged & (frame["mechanic"] == mechanic.id).to_numpy()
        for flag in mechanic_flags(mechanic):
            changed.loc[rows, flag] = 1.0
    return history.with_frame(changed) if changed is not frame else history


def _refit(fitter: Fitter, parts: list[History], training: History, fitted: Fit, err: TextIO) -> Refit:
    """Fit the first history's rows of the training weeks alone and list the parameters the rest moved."""
    base, frame = parts[0], training.frame
    keys = pd.MultiIndex.from_frame(frame[[*SERIES, "week"]])
    own = keys.isin(pd.MultiIndex.from_frame(base.frame[[*SERIES, "week"]]))
    added = int((~own).sum())
    before = fitted if not added else _fit(fitter, training.with_frame(frame.loc[own]), err)
    moved = []
    shared = sorted(set(before.intervals) & set(fitted.intervals))
    for name in shared:
        old, new = before.intervals[name], fitted.intervals[name]
        if round(old.value, MOVED_DIGITS) != round(new.value, MOVED_DIGITS):
            moved.append(Moved(name, old, new))
    return Refit(base.source, tuple(p.source for p in parts[1:]), int(own.sum()), added, tuple(moved), len(shared))


def _windows(history: History, request: Request, err: TextIO) -> list[tuple[History, History | None]]:
    """(training, holdout) per origin: the last `holdout` weeks, then windows ending `holdout` weeks earlier
    each (rolling origin). With --holdout 0, the whole history trains and nothing is held out."""
    if request.holdout == 0:
        return [(history, None)]
    out: list[tuple[History, History | None]] = []
    frame = history.frame
    last = frame["week"].max()
    for origin in range(request.origins):
        cut = last - pd.Timedelta(weeks=origin * request.holdout)
        part = history.with_frame(frame.loc[frame["week"] <= cut].reset_index(drop=True))
        training, held = split_holdout(part, request.holdout)
        if not len(training.frame) or not len(held.frame):
            weeks = frame["week"].nunique()
            raise _fail(err, f"the history has {weeks} weeks: too few for origin {origin + 1} of "
                        f"{request.origins} holding out {request.holdout} weeks each", 2)
        out.append((training, held))
    return out


def _fit(fitter: Fitter, training: History, err: TextIO) -> Fit:
    try:
        return fitter(training.frame)
    except CalibrationError as error:
        raise _fail(err, f"{training.source}: {error}", 1) from None


def _provenance(training: History, request: Request, fitted: Fit, backtest: Backtest | None = None,
                parts: list[History] | None = None) -> Provenance:
    frame = training.frame
    statistics: dict[str, Any] = {}
    if parts is not None and len(parts) > 1:
        for number, part in enumerate(parts, start=1):
            weeks = part.frame["week"]
            statistics[f"data part {number}"] = (f"{part.source} sha256 {part.sha256} ({len(part.frame)} rows, "
                                                 f"{weeks.min().date()} .. {weeks.max().date()})")
    statistics |= {f"fit {k}": v for k, v in fitted.statistics.items()
                                  if k in ("deviance", "half_life_weeks", "series", "categories", "iterations")}
    if backtest is not None:
        statistics[f"backtest ({backtest.weeks} weeks held out from {backtest.start})"] = (
            f"WAPE {backtest.overall.wape:.3f}, promoted weeks {backtest.promo.wape or 0:.3f}, bias "
            f"{backtest.overall.bias or 0:+.1%}; naive 13-week mean WAPE {backtest.naive.wape or 0:.3f}")
    window = (str(frame["week"].min().date()), str(frame["week"].max().date()))
    return Provenance(training.source, training.sha256, window, len(frame), request.command, version(), statistics)


def baseline_noise(fitted: Fit, frame: pd.DataFrame) -> dict[str, float]:
    """Coefficient of variation of unpromoted weekly cases around the fit, per category and overall ("all"):
    the baseline noise of Monte Carlo."""
    expected = expected_cases(fitted, frame)
    plain = ~frame["promoted"].to_numpy(dtype=bool) if "promoted" in frame else np.ones(len(frame), dtype=bool)
    usable = plain & np.isfinite(expected) & (expected > 0)
    ratio = frame["cases"].to_numpy(dtype=float)[usable] / expected[usable] - 1.0
    categories = frame["category"].astype(str).to_numpy()[usable] if "category" in frame else np.full(len(ratio), "")
    out = {"all": float(np.sqrt(np.mean(ratio**2)))} if len(ratio) else {}
    for category in sorted(set(categories)):
        values = ratio[categories == category]
        if len(values) >= 2:
            out[category] = float(np.sqrt(np.mean(values**2)))
    return {k: min(v, 1.0) for k, v in out.items()}


def _check(calibrated: Calibrated, rules: RuleSet, err: TextIO) -> None:
    """The written file must load on its own and check cleanly in place of the rules' demand sections."""
    text = calibrated.yaml()
    document, findings = parse_yaml(text.encode(), CALIBRATED)
    if document is not None:
        _, problems = build_rule_set([document])  # alone: the company and calendar live in the other files
        findings = [*findings, *(f for f in problems if f.code != SINGLETON_MISSING.code)]
    findings += [f for f in run_checks(calibrated.rules(rules)) if f.severity is Severity.ERROR]
    for finding in findings:
        print(f"{finding.location}: {finding.code} {finding.message}", file=err)
    if findings:
        raise _fail(err, "the calibrated rules do not check (a bug: please report it); nothing written", 2)


def _write(folder: Path, calibrated: Calibrated, backtests: list[Backtest], training: History, request: Request,
           fitted: Fit, refit: Refit | None, err: TextIO) -> list[str]:
    outcome = Outcome(fitted, calibrated, backtests, training, [], refit)

    def write(staging: Path) -> list[str]:
        (staging / CALIBRATED).write_text(calibrated.yaml(), encoding="utf-8")
        written = [CALIBRATED]
        if backtests:
            (staging / BACKTEST).write_text(json.dumps(outcome.as_json(), indent=2, default=str) + "\n",
                                            encoding="utf-8")
            written.append(BACKTEST)
            if plot_worst_series(backtests[0], training.frame, staging / PLOT):
                written.append(PLOT)
        return written

    try:
        return write_folder(folder, write, FILES)
    except (OSError, FileExistsError) as error:
        raise _fail(err, f"cannot write {display_name(folder)}: {error}", 2) from None


def _cell(score: Score) -> str:
    wape = "-" if score.wape is None else f"{score.wape:.3f}"
    bias = "-" if score.bias is None else f"{score.bias:+.1%}"
    return f"{wape:>7} {bias:>8}"


def text_report(outcome: Outcome, request: Request) -> str:
    c, p = outcome.calibrated, outcome.calibrated.provenance
    lines = [(f"calibrated {p.source} ({p.rows:,} training rows, {p.window[0]} .. {p.window[1]}): "
              f"{len(c.seasonality)} seasonality profiles, {len(c.baselines)} baselines, {len(c.response)} "
              f"response profiles")]
    for name in sorted(outcome.fit.intervals, key=lambda n: (n.startswith("holiday."), n))[:30]:  # JSON: all
        i = outcome.fit.intervals[name]
        lines.append(f"  {name:<44} {i.value:8.3f}  se {i.se:6.3f}  95% [{i.low:.3f}, {i.high:.3f}]")
    for number, b in enumerate(outcome.backtests):
        label = "backtest" if len(outcome.backtests) == 1 else f"origin {number + 1}"
        lines.append(f"{label}: {b.weeks} weeks from {b.start}, {b.overall.rows:,} rows"
                     + (f" ({b.unforecast} rows of series without training history left out)" if b.unforecast else ""))
        lines.append(f"  {'':<28} {'WAPE':>7} {'bias':>8}   {'naive':>7} {'bias':>8} {'rows':>7}")
        rows = [("overall", b.overall, b.naive), ("promoted weeks", b.promo, b.naive_promo),
                ("other weeks", b.nonpromo, None)]
        if number == 0:
            rows += [(f"category {k}", m, n) for k, (m, n) in b.by_category.items()]
            rows += [(f"account {k}", m, n) for k, (m, n) in list(b.by_account.items())[:20]]
        for name, model, naive in rows:
            lines.append(f"  {name[:28]:<28} {_cell(model)}   {_cell(naive) if naive else ' ' * 16} {model.rows:>7,}")
    if len(outcome.backtests) > 1:
        wapes = [b.overall.wape for b in outcome.backtests if b.overall.wape is not None]
        lines.append(f"mean WAPE over {len(outcome.backtests)} origins: {np.mean(wapes):.3f}" if wapes else "")
    if outcome.refit is not None:
        lines.extend(refit_lines(outcome.refit))
    for name in outcome.files:
        lines.append(f"wrote {display_name(request.out / name) if request.out else name}")
    return "\n".join(line for line in lines if line)


def refit_lines(refit: Refit) -> list[str]:
    """What the added data changed, before -> after with both 95 % intervals; '*' marks a value outside the old
    interval."""
    lines = [(f"refit: {refit.base} ({refit.base_rows:,} rows) + {' + '.join(refit.added)} "
             f"({refit.added_rows:,} rows in the fitted weeks)")]
    if not refit.added_rows:
        return [*lines, ("  the added weeks are all held out (--holdout): the fit does not include them; "
                        "--holdout 0 folds them in")]
    if not refit.moved:
        return [*lines, f"  none of the {refit.compared} parameters moved (at {MOVED_DIGITS} decimals)"]
    lines.append(f"  {len(refit.moved)} of {refit.compared} parameters moved ('*': outside the earlier 95% interval)")
    lines.append(f"  {'parameter':<40} {'before':>8} 95% interval".ljust(70) + f"{'after':>8} 95% interval")
    for m in refit.moved:
        b, a = m.before, m.after
        lines.append(f"  {m.name:<40} {b.value:8.3f} [{b.low:.3f}, {b.high:.3f}]".ljust(70)
                     + f"{a.value:8.3f} [{a.low:.3f}, {a.high:.3f}]{' *' if m.outside else ''}")
    return lines
