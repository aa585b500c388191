"""Reading a history file in batches: CSV (plain or .gz), Parquet, Excel.

Why pyarrow: it is already a dependency (Parquet needs it), its CSV reader is the fastest the project has
(a multi-threaded C++ tokenizer) and both its CSV and Parquet readers stream, so a file is read one batch at a
time, only the columns the history needs are decoded (column projection), and each batch is checked and typed
before the next is read: memory holds the typed canonical frame, never the raw text of a large export. Polars
would do the same but would be one more dependency for no gain here.

CSV columns are read as text and typed by `planner.history.parse`, which is what lets a mistyped cell be
reported at its row instead of failing a whole block. Excel files are read with openpyxl in read-only mode,
row by row. Rows are numbered as a user sees them: the header is row 1, the first record row 2 (CSV, Excel);
Parquet has no header, so its first record is row 1. Blank CSV lines are counted but skipped; a CSV value
quoted across several lines counts as one row.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from planner.history.frame import HistoryError, HistoryUnreadable, Problem

BATCH_ROWS = 200_000
CSV_BLOCK_BYTES = 8 << 20
SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq", ".xlsx", ".xlsm")


@dataclass(frozen=True)
class Source:
    """An opened history file: its format, header and how its rows and cells are numbered."""

    path: Path
    name: str
    kind: str  # "csv", "parquet" or "excel"
    header: list[str]
    first_row: int  # row number of the first record as a user sees it
    sheet: str = ""
    letters: dict[str, str] = field(default_factory=dict)  # Excel: header name -> column letter

    def cell(self, column: str, row: int) -> str:
        return f"{self.sheet}!{self.letters[column]}{row}" if self.kind == "excel" and column in self.letters else ""


@dataclass(frozen=True)
class Batch:
    """Rows of the file with the wanted columns under their canonical names, values as read (Arrow arrays:
    text for CSV and Excel, the stored type for Parquet), and each record's row number in the file."""

    columns: dict[str, pa.Array]
    rows: np.ndarray


def kind_of(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz", ".txt", ".txt.gz")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".xlsx", ".xlsm")):
        return "excel"
    return None


def _fail(name: str, message: str, fix: str) -> HistoryUnreadable:
    return HistoryUnreadable([Problem(name, 1, "", message, fix)])


def open_source(path: Path, name: str, sheet: str | None = None) -> Source:
    """Read the header of a history file; an unreadable or unknown file raises HistoryUnreadable (row 1)."""
    kind = kind_of(path)
    if kind is None:
        raise _fail(name, f"cannot tell the format of '{path.name}'",
                    "give a .csv, .csv.gz, .parquet or .xlsx file")
    try:
        if kind == "csv":
            with _open_text(path) as handle:
                header = next(csv.reader(handle), [])
            if not header:
                raise _fail(name, "the file is empty: no header row", "export the history with a header row")
            return Source(path, name, kind, header, 2)
        if kind == "parquet":
            return Source(path, name, kind, list(pq.ParquetFile(path).schema_arrow.names), 1)
        return _open_excel(path, name, sheet)
    except HistoryUnreadable:
        raise
    except (OSError, pa.ArrowException, ValueError, KeyError, EOFError, csv.Error) as error:
        raise _fail(name, f"cannot read the file: {str(error).splitlines()[0] if str(error) else error!r}",
                    "check the path, the format and that the file is not truncated") from error


def _open_excel(path: Path, name: str, sheet: str | None) -> Source:
    import openpyxl
    from openpyxl.utils import get_column_letter

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise _fail(name, f"no sheet '{sheet}' (sheets: {', '.join(book.sheetnames)})",
                        "name an existing sheet under 'sheet:' in the column map")
        worksheet = book[sheet] if sheet is not None else book.worksheets[0]
        first = next(worksheet.iter_rows(min_row=1, max_row=1, values_only=True), ())
        header = ["" if value is None else str(value).strip() for value in first]
        letters = {title: get_column_letter(i + 1) for i, title in enumerate(header) if title}
        return Source(path, name, "excel", header, 2, worksheet.title, letters)
    finally:
        book.close()


def batches(source: Source, wanted: dict[str, str]) -> Iterator[Batch]:
    """Stream the file in batches of the `wanted` columns ({canonical: header name}), renamed to canonical."""
    rename = {header: canonical for canonical, header in wanted.items()}
    if source.kind == "csv":
        stream = _csv_batches(source, wanted, rename)
    elif source.kind == "parquet":
        stream = _parquet_batches(source, wanted)
    else:
        stream = _excel_batches(source, wanted)
    try:
        yield from stream
    except (OSError, pa.ArrowException, EOFError, ValueError, zlib.error) as error:  # truncated or corrupt
        text = str(error).splitlines()[0] if str(error) else repr(error)
        raise _fail(source.name, f"cannot read the file to its end: {text}",
                    "export the file again; it looks truncated or corrupt") from error


def _csv_batches(source: Source, wanted: dict[str, str], rename: dict[str, str]) -> Iterator[Batch]:
    columns = sorted(set(wanted.values()))
    malformed: list[str] = []

    def keep_going(row: Any) -> str:
        malformed.append(row.text)
        return "skip"

    reader = pacsv.open_csv(
        source.path,
        read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
        parse_options=pacsv.ParseOptions(ignore_empty_lines=False, invalid_row_handler=keep_going),
        convert_options=pacsv.ConvertOptions(include_columns=columns, column_types=dict.fromkeys(columns, pa.string()),
                                             strings_can_be_null=True),
    )
    first = source.first_row
    for record_batch in reader:
        rows = np.arange(first, first + record_batch.num_rows, dtype=np.int64)
        first += record_batch.num_rows
        if malformed:
            break  # rows are misnumbered after a skipped one: locate them below instead
        yield _renamed(record_batch, rows, wanted)
    if malformed:
        raise HistoryError(_locate_malformed(source, len(source.header)))


def _locate_malformed(source: Source, width: int, most: int = 10) -> list[Problem]:
    """Rows whose field count differs from the header's, found with Python's csv module (error path only)."""
    problems: list[Problem] = []
    with _open_text(source.path) as handle:
        for number, fields in enumerate(csv.reader(handle), start=1):
            if fields and len(fields) != width and len(problems) < most:
                problems.append(Problem(source.name, number, "", f"row has {len(fields)} fields, the header "
                                        f"has {width}: {','.join(fields)[:60]!r}",
                                        "quote values that contain the delimiter, and give every row all columns"))
    return problems or [Problem(source.name, 1, "", "the CSV file has malformed rows",
                                "give every row as many fields as the header")]


def _open_text(path: Path) -> TextIO:
    """A CSV file (gzipped or not) as text for Python's csv module: UTF-8, a byte-order mark skipped."""
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", newline="", encoding="utf-8-sig", errors="replace")
    return path.open(newline="", encoding="utf-8-sig", errors="replace")


def _parquet_batches(source: Source, wanted: dict[str, str]) -> Iterator[Batch]:
    parquet = pq.ParquetFile(source.path)
    first = source.first_row
    for record_batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=sorted(set(wanted.values()))):
        rows = np.arange(first, first + record_batch.num_rows, dtype=np.int64)
        first += record_batch.num_rows
        yield _renamed(record_batch, rows, wanted)


def _excel_batches(source: Source, wanted: dict[str, str]) -> Iterator[Batch]:
    """Excel cells come as text (dates in ISO form, whole numbers without '.0'), so one parser serves CSV and
    Excel; a workbook holds at most a million rows, so row-by-row reading is fast enough."""
    import openpyxl

    book = openpyxl.load_workbook(source.path, read_only=True, data_only=True)
    try:
        headers = sorted(set(wanted.values()))
        positions = [source.header.index(header) for header in headers]
        records: list[list[str | None]] = [[] for _ in headers]
        numbers: list[int] = []
        for number, values in enumerate(book[source.sheet].iter_rows(min_row=2, values_only=True), start=2):
            cells = [_cell_text(values[i]) if i < len(values) else None for i in positions]
            if all(cell is None for cell in cells):
                continue
            for column, cell in zip(records, cells, strict=True):
                column.append(cell)
            numbers.append(number)
            if len(numbers) >= BATCH_ROWS:
                yield _excel_batch(headers, records, numbers, wanted)
                records, numbers = [[] for _ in headers], []
        if numbers:
            yield _excel_batch(headers, records, numbers, wanted)
    finally:
        book.close()


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _excel_batch(headers: list[str], records: list[list[str | None]], numbers: list[int],
                 wanted: dict[str, str]) -> Batch:
    table = pa.record_batch([pa.array(column, pa.string()) for column in records], names=headers)
    return _renamed(table, np.asarray(numbers, dtype=np.int64), wanted)


def _renamed(record_batch: pa.RecordBatch, rows: np.ndarray, wanted: dict[str, str]) -> Batch:
    """One array per canonical name (two canonical names may share one file column), blank records dropped."""
    columns = {canonical: record_batch.column(header) for canonical, header in wanted.items()}
    blank = None
    for array in columns.values():
        null = pc.is_null(array)
        blank = null if blank is None else pc.and_(blank, null)
    if blank is not None and pc.any(blank).as_py():  # blank lines and empty spreadsheet rows are not records
        keep = pc.invert(blank)
        columns = {name: pc.filter(array, keep) for name, array in columns.items()}
        rows = rows[np.asarray(keep, dtype=bool)]
    return Batch(columns, rows)
