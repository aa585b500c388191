"""Typing one batch of raw values into the canonical dtypes, reporting every cell that does not parse.

Values arrive as text (CSV, Excel) or typed (Parquet). Each kind of column has one parser with a fast path
(one Arrow cast for the whole column) and, only when that cast fails, a cell-by-cell path that finds and
locates the cells at fault ("cases: '12 cs' is not a number"). An empty cell in a required column is a problem
too. Flags accept 0/1, a share of the week in [0, 1], true/false, yes/no and y/n.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from planner.history.frame import BY_NAME, REQUIRED, SOURCE_ROW, Problem, Problems
from planner.history.read import Batch, Source

WORDS = {"true": 1.0, "false": 0.0, "yes": 1.0, "no": 0.0, "y": 1.0, "n": 0.0}
WHAT = {"date": "a date (YYYY-MM-DD)", "number": "a number", "flag": "a flag (0/1 or a share of the week)"}
FIX = {
    "date": "write the week as an ISO date such as 2027-01-04",
    "number": "write a plain number such as 12.5 (no units, no thousands separators)",
    "flag": "write 0 or 1 (or a share of the week between 0 and 1)",
}


def parse(batch: Batch, source: Source, wanted: dict[str, str], problems: Problems) -> pd.DataFrame:
    """The batch as a frame with every column in its canonical dtype; bad and missing cells go to `problems`."""
    out: dict[str, Any] = {}
    for name, raw in batch.columns.items():
        kind = BY_NAME[name].kind
        header = wanted[name]
        if kind in ("id", "text"):
            values: np.ndarray = _text(raw)
            parsed = np.array([value is not None for value in values], dtype=bool) if name in REQUIRED else None
        else:
            values = _dates(raw) if kind == "date" else _numbers(raw, flags=kind == "flag")
            parsed = ~np.isnat(values) if kind == "date" else ~np.isnan(values)
            present = np.asarray(pc.is_valid(raw), dtype=bool)
            _report(problems, batch, source, name, header, "unparsable", np.flatnonzero(present & ~parsed),
                    lambda i, raw=raw, name=name: f"{name}: {_show(raw[i].as_py())} is not {WHAT[BY_NAME[name].kind]}",
                    FIX[kind])
        if name in REQUIRED and parsed is not None:
            present = np.asarray(pc.is_valid(raw), dtype=bool)
            _report(problems, batch, source, name, header, "empty", np.flatnonzero(~present),
                    lambda i, name=name: f"{name} is empty; every row needs one",
                    "fill the cell, or delete the row (a missing row is a missing observation)")
        out[name] = pd.Series(values, dtype=object) if kind in ("id", "text") else values
    out[SOURCE_ROW] = batch.rows
    return pd.DataFrame(out)


def _report(problems: Problems, batch: Batch, source: Source, name: str, header: str, kind: str,
            positions: np.ndarray, message: Any, fix: str) -> None:
    def build(i: int) -> Problem:
        row = int(batch.rows[i])
        shown = "" if header == name else f" (column '{header}')"
        return Problem(source.name, row, name, message(i) + shown, fix, source.cell(header, row))

    problems.add_rows(name, kind, positions.tolist(), build)


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _text(raw: pa.Array) -> np.ndarray:
    """Ids and names as Python str, None where empty; whole numbers (an id stored as a number) without '.0'."""
    if pa.types.is_floating(raw.type):
        values = raw.to_numpy(zero_copy_only=False)
        whole = np.isfinite(values) & (values == np.round(values))
        if whole[~np.isnan(values)].all():
            raw = pc.cast(raw, pa.int64())
    if not (pa.types.is_string(raw.type) or pa.types.is_large_string(raw.type)):
        raw = pc.cast(raw, pa.string())
    trimmed = pc.utf8_trim_whitespace(raw)
    trimmed = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)
    encoded = pc.dictionary_encode(trimmed)  # one Python str per distinct id, shared by its rows
    words = np.array([*encoded.dictionary.to_pylist(), None], dtype=object)
    indices = pc.fill_null(encoded.indices, len(words) - 1).to_numpy(zero_copy_only=False)
    text: np.ndarray = words[indices]
    return text


def _dates(raw: pa.Array) -> np.ndarray:
    """Dates at midnight (a time of day is dropped); NaT where a cell is not a date."""
    if pa.types.is_string(raw.type) or pa.types.is_large_string(raw.type):
        trimmed = pc.utf8_trim_whitespace(raw)
        try:
            raw = pc.cast(trimmed, pa.timestamp("s"))
        except pa.ArrowInvalid:  # some cell is not ISO: find which, cell by cell
            parsed = pd.to_datetime(pd.Series(trimmed.to_numpy(zero_copy_only=False), dtype=object),
                                    errors="coerce", format="ISO8601")
            raw = pa.array(parsed.dt.tz_localize(None) if parsed.dt.tz is not None else parsed,
                           type=pa.timestamp("ns"), from_pandas=True)
    elif pa.types.is_timestamp(raw.type) and raw.type.tz is not None:
        raw = pc.local_timestamp(raw)
    elif not (pa.types.is_timestamp(raw.type) or pa.types.is_date(raw.type)):
        return np.full(len(raw), np.datetime64("NaT"), dtype="datetime64[ns]")
    days = pc.floor_temporal(pc.cast(raw, pa.timestamp("ns")), unit="day")
    dates: np.ndarray = days.to_numpy(zero_copy_only=False).astype("datetime64[ns]")
    return dates


def _numbers(raw: pa.Array, *, flags: bool) -> np.ndarray:
    """float64, NaN where a cell is empty or not a number."""
    if pa.types.is_string(raw.type) or pa.types.is_large_string(raw.type):
        trimmed = pc.utf8_trim_whitespace(raw)
        try:
            raw = pc.cast(trimmed, pa.float64())
        except pa.ArrowInvalid:  # some cell is not a number: parse cell by cell, words for flags
            cells = pd.Series(trimmed.to_numpy(zero_copy_only=False), dtype=object)
            if flags:
                cells = cells.map(lambda v: WORDS.get(v.lower(), v) if isinstance(v, str) else v)
            return np.asarray(pd.to_numeric(cells, errors="coerce"), dtype="float64")
    elif not (pa.types.is_integer(raw.type) or pa.types.is_floating(raw.type) or pa.types.is_boolean(raw.type)
              or pa.types.is_decimal(raw.type)):
        return np.full(len(raw), np.nan)
    numbers: np.ndarray = np.asarray(pc.cast(raw, pa.float64()).to_numpy(zero_copy_only=False), dtype="float64")
    return numbers
