"""Sales history: the documented long table (one row per account x product x week), read from CSV, Parquet or
Excel, checked with located errors, and completed by documented rules (docs/history.md).

Ground floor, beside `planner.rules`: it turns files into checked data and imports nothing above it.
"""

from planner.history.frame import COLUMNS, History, HistoryError, HistoryUnreadable, Problem
from planner.history.holdout import split_holdout
from planner.history.load import load_history
from planner.history.validate import check_against

__all__ = [
    "COLUMNS",
    "History",
    "HistoryError",
    "HistoryUnreadable",
    "Problem",
    "check_against",
    "load_history",
    "split_holdout",
]
