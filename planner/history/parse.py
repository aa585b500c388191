"""Typing one batch of raw values into the canonical dtypes, reporting every cell that does not parse.

Values arrive as text (CSV), as native types (Parquet, Excel) or as a mix. Each kind of column has one parser;
a cell that is present but does not parse is a located problem ("cases: '12 cs' is not a number"), an empty cell
in a required column is another. Flags accept 0/1, a share of the week in [0, 1], true/false, yes/no and y/n.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from planner.history.frame import BY_NAME, REQUIRED, Problem, Problems
from planner.history.read import Batch, Source

WORDS = {"true": 1.0, "false": 0.0, "yes": 1.0, "no": 0.0, "y": 1.0, "n": 0.0, "x": 1.0}
WHAT = {"date": "a date (YYYY-MM-DD)", "number": "a number", "flag": "a flag (0/1 or a share of the week)"}
FIX = {
    "date": "write the week as an ISO date such as 2027-01-04",
    "number": "write a plain number such as 12.5 (no units, no thousands separators)",
    "flag": "write 0 or 1 (or a share of the week between 0 and 1)",
}


def parse(batch: Batch, source: Source, wanted: dict[str, str], problems: Problems) -> pd.DataFrame:
    """The batch with every column in its canonical dtype; unparsable and missing cells go to `problems`."""
    out: dict[str, Any] = {}
    for name in batch.frame.columns:
        raw = batch.frame[name]
        kind = BY_NAME[name].kind
        if kind in ("id", "text"):
            values = _text(raw)
        elif kind == "date":
            values = _dates(raw)
        else:
            values = _numbers(raw, flags=kind == "flag")
        present = raw.notna().to_numpy()
        parsed = pd.notna(values) if kind in ("id", "text") else ~np.isnan(_as_float(values, kind))
        bad = np.flatnonzero(present & ~parsed) if kind not in ("id", "text") else np.array([], dtype=int)
        header = wanted[name]

        def unparsable(i: int, name: str = name, header: str = header, raw: pd.Series = raw) -> Problem:
            row = int(batch.rows[i])
            shown = "" if header == name else f" (column '{header}')"
            return Problem(source.name, row, name, f"{name}{shown}: {_show(raw.iloc[i])} is not "
                           f"{WHAT[BY_NAME[name].kind]}", FIX[BY_NAME[name].kind], source.cell(header, row))

        problems.add_rows(name, "unparsable", bad.tolist(), unparsable)
        if name in REQUIRED:
            empty = np.flatnonzero(~present | (~parsed if kind in ("id", "text") else np.zeros(len(raw), bool)))

            def missing(i: int, name: str = name, header: str = header) -> Problem:
                row = int(batch.rows[i])
                return Problem(source.name, row, name, f"{name} is empty; every row needs one",
                               "fill the cell, or delete the row (a missing row is a missing observation)",
                               source.cell(header, row))

            problems.add_rows(name, "empty", empty.tolist(), missing)
        out[name] = values
    frame = pd.DataFrame(out)
    frame["source_row"] = batch.rows.astype("int64")
    return frame


def _as_float(values: Any, kind: str) -> Any:
    if kind == "date":
        return np.where(pd.isna(values), np.nan, 0.0)
    return np.asarray(values, dtype="float64")


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _text(raw: pd.Series) -> np.ndarray:
    """Ids and names as str, None where empty; whole numbers lose a trailing '.0' (an id read as a float)."""
    values = raw.to_numpy(dtype=object)
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            out[i] = None
        elif isinstance(value, float) and value.is_integer():
            out[i] = str(int(value))
        else:
            text = str(value).strip()
            out[i] = text or None
    return out


def _dates(raw: pd.Series) -> np.ndarray:
    """Dates at midnight (times of day dropped); NaT where not a date."""
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        parsed = pd.to_datetime(raw)
    else:
        texts = raw.astype(object).where(raw.notna(), None)
        as_text = texts.map(lambda v: v.isoformat() if hasattr(v, "isoformat") else v, na_action="ignore")
        parsed = pd.to_datetime(as_text.astype(object).str.strip(), errors="coerce", format="ISO8601")
    parsed = parsed.dt.tz_localize(None) if getattr(parsed.dt, "tz", None) is not None else parsed
    dates: np.ndarray = parsed.dt.normalize().astype("datetime64[ns]").to_numpy()
    return dates


def _numbers(raw: pd.Series, *, flags: bool) -> np.ndarray:
    if pd.api.types.is_bool_dtype(raw.dtype) or pd.api.types.is_numeric_dtype(raw.dtype):
        numbers: np.ndarray = raw.astype("float64").to_numpy()
        return numbers
    values = raw.astype(object).map(lambda v: v.strip() if isinstance(v, str) else v)
    if flags:
        values = values.map(lambda v: WORDS.get(v.lower(), v) if isinstance(v, str) else v)
    values = values.map(lambda v: float(v) if isinstance(v, bool) else v)
    parsed: np.ndarray = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
    return parsed
