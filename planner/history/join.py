"""Several histories read as one: an older export and the weeks that came after it (a refit's data, e.g. last
year's history and this year's actuals).

Each part is loaded and checked on its own (`load_history`: its own rows, columns and derivations); joining adds
the two checks only the whole can make, located at the later part's row: an account x product x week must not
appear in two parts (which one is right cannot be told), and every part's weeks must fall on the same weekday as
the first part's (a series' weeks are multiples of 7 days apart). The joined history names every part: its
`source` is the parts' names joined by " + ", its `sha256` the SHA-256 of the parts' "name sha256" lines.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pandas as pd

from planner.history.frame import FRAME_ORDER, SERIES, SOURCE_ROW, History, HistoryError, Problem

MAX_SHOWN = 10


def join_histories(parts: Sequence[History]) -> History:
    """One history of all `parts` (at least one), sorted by account, product, week; raises HistoryError when two
    parts share an account x product x week or their weeks fall on different weekdays."""
    if not parts:
        raise ValueError("join at least one history")
    if len(parts) == 1:
        return parts[0]
    problems: list[Problem] = []
    first = parts[0]
    phase = _weekday(first.frame)
    seen = first.frame[[*SERIES, "week", SOURCE_ROW]].assign(part=0)
    for number, part in enumerate(parts[1:], start=1):
        frame = part.frame
        days = _weekday(frame)
        off = np.flatnonzero(days != phase[0]) if len(phase) else np.array([], dtype=np.intp)
        off = off[np.argsort(frame[SOURCE_ROW].to_numpy()[off], kind="stable")]
        for i in off[:MAX_SHOWN]:
            problems.append(Problem(part.source, int(frame[SOURCE_ROW].iloc[i]), "week",
                                    f"week {frame['week'].iloc[i].date()} falls on another weekday than the weeks "
                                    f"of {first.source} ({first.frame['week'].iloc[0].date()})",
                                    "date every week on the same weekday in every file"))
        if len(off) > MAX_SHOWN:
            problems.append(Problem(part.source, int(frame[SOURCE_ROW].iloc[off[MAX_SHOWN]]), "week",
                                    f"... and {len(off) - MAX_SHOWN} more row(s) on another weekday",
                                    "date every week on the same weekday in every file"))
        clash = (frame[[*SERIES, "week", SOURCE_ROW]].merge(seen, on=[*SERIES, "week"], suffixes=("", "_earlier"))
                 .sort_values(SOURCE_ROW, ignore_index=True))
        for row in clash.head(MAX_SHOWN).itertuples(index=False):
            earlier = parts[int(row.part)].source
            problems.append(Problem(part.source, int(getattr(row, SOURCE_ROW)), "week",
                                    f"{row.account} x {row.product} in the week of {row.week.date()} is also in "
                                    f"{earlier} (row {int(getattr(row, SOURCE_ROW + '_earlier'))})",
                                    "keep each week in one file only (export the newer weeks alone)"))
        if len(clash) > MAX_SHOWN:
            problems.append(Problem(part.source, int(clash[SOURCE_ROW].iloc[MAX_SHOWN]), "week",
                                    f"... and {len(clash) - MAX_SHOWN} more row(s) also in an earlier file",
                                    "keep each week in one file only"))
        seen = pd.concat([seen, frame[[*SERIES, "week", SOURCE_ROW]].assign(part=number)], ignore_index=True)
    if problems:
        raise HistoryError(problems)
    frame = pd.concat([part.frame[FRAME_ORDER] for part in parts], ignore_index=True)
    frame = frame.sort_values([*SERIES, "week"], kind="stable", ignore_index=True)
    rules = {part.regular_price_rule for part in parts}
    rule = rules.pop() if len(rules) == 1 else "; ".join(f"{p.source}: {p.regular_price_rule}" for p in parts)
    return History(frame, " + ".join(part.source for part in parts), joined_sha256(parts), rule)


def joined_sha256(parts: Sequence[History]) -> str:
    """The SHA-256 of the lines "<name> <sha256>\\n" of the parts, in order: which data a joined fit read."""
    return hashlib.sha256("".join(f"{p.source} {p.sha256}\n" for p in parts).encode()).hexdigest()


def _weekday(frame: pd.DataFrame) -> np.ndarray:
    """Each row's week as days since 1970-01-01, modulo 7."""
    weeks = frame["week"].to_numpy().astype("datetime64[D]").astype(np.int64)
    return np.asarray(weeks % 7)
