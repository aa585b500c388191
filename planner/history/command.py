"""`planner init DIR --from-history FILE` without the command-line framework: load, estimate, write.

Exit codes follow `planner validate`: 0 written, 1 the history has problems (each printed, located),
2 the command cannot run (DIR holds other work, a file is unreadable, a bug). The command line module only
parses arguments and passes `check` (a full `planner validate` of the staged folder, which lives above this
package).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from planner.history.bootstrap import rule_files
from planner.history.frame import History, HistoryError, HistoryUnreadable
from planner.history.load import load_history
from planner.history.write import CannotWrite, refuse_reason, write_repository
from planner.rules.load import display_name

Check = Callable[[Path], list[str]]
"""Checks a staged repository folder; returns problems as text (empty when it is valid)."""


def init_from_history(history: History, out_dir: Path, *, company: str | None = None, currency: str = "CNY",
                      check: Check | None = None) -> list[Path]:
    """Write a rules repository estimated from `history` to `out_dir` (rules/*.yaml, scenarios/base.yaml),
    all-or-nothing. Raises CannotWrite when `out_dir` holds other work or the result does not check."""
    return write_repository(rule_files(history, company=company, currency=currency), Path(out_dir),
                            source=history.source, sha256=history.sha256, check=check)


def run_init(out_dir: Path, history_file: Path, columns: Path | None = None, *, currency: str = "CNY",
             check: Check | None = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """The command: 0 written, 1 history problems, 2 cannot run."""
    reason = refuse_reason(Path(out_dir))
    if reason is not None:  # before the (possibly long) load
        print(f"planner init: {reason}; choose an empty folder (or delete it) and run again", file=err)
        return 2
    try:
        history = load_history(Path(history_file), columns)
    except HistoryError as error:
        for problem in error.problems:
            print(str(problem), file=err)
        print(f"planner init: {len(error.problems)} problem(s) in the history; nothing written", file=err)
        return 2 if isinstance(error, HistoryUnreadable) else 1
    try:
        written = init_from_history(history, Path(out_dir), currency=currency, check=check)
    except (CannotWrite, OSError) as error:
        print(f"planner init: {error}", file=err)
        return 2
    frame = history.frame
    print(f"{display_name(Path(out_dir))}: {len(written)} files from {history.source} "
          f"({frame['account'].nunique()} accounts, {frame['product'].nunique()} products, "
          f"{frame['week'].nunique()} weeks; regular price: {history.regular_price_rule})", file=out)
    for path in written:
        print(f"  {display_name(path)}", file=out)
    rules, scenarios = Path(out_dir) / "rules", Path(out_dir) / "scenarios"
    print(f"next: planner validate {display_name(rules)} {display_name(scenarios)}", file=out)
    return 0
