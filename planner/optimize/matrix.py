"""The promotion MILP as HiGHS takes it, written straight from the option arrays.

    maximise (or minimise)  c x + offset
    subject to              row_lower <= A x <= row_upper,   column_lower <= x <= column_upper,
                            x_j integer for the binaries

The constraint families (planner/optimize/constraints) write every row through one interface, `Model`
(model.py), which has two back ends. `planner optimize` uses the matrix-only one: a column is a number, an
expression is an `Affine` (columns, coefficients, constant: arrays), and each row goes into this `Matrix` as
those arrays; no Pyomo object is made at all. The readable back end (readable.py, `build(..., pyomo=True)`)
builds the same calls into a labelled Pyomo model as well, and records its matrix from the Pyomo expressions;
tests/test_optimize_matrix.py checks, row for row on small worlds and the demo, that the Pyomo rows read back by
Pyomo are that matrix and that the matrix-only back end writes exactly the same one.

Why not let Pyomo compile the model: the Pyomo model has one expression object per coefficient, and any compiler
(Pyomo's persistent HiGHS interface, its LP writer) walks them all again, in Python, after the builder already had
every row as arrays; and the objects themselves were most of the build's time and memory (benchmarks/README.md,
"Build"). A bound changed later (a what-if on a budget, the frontier's points) goes through `Model.set_bounds`;
`Matrix.problem` is the matrix as bare arrays, which another process can solve.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import highspy
import numpy as np

Terms = tuple[np.ndarray, np.ndarray, float]
"""(columns, coefficients, constant) of a linear expression: sum_k coefficients_k x_columns_k + constant."""


@dataclass(frozen=True, eq=False)
class Affine:
    """sum_k values_k y_columns_k + constant over the matrix's columns: an expression of the matrix-only back
    end. +, - and multiplication by a number, as the constraint families write them on Pyomo expressions; a column
    named twice is summed when the row is stored (`Matrix.rows`). The arrays are never written to (`values` may
    be a view of `Matrix.ones`)."""

    columns: np.ndarray
    values: np.ndarray
    constant: float = 0.0

    @property
    def terms(self) -> Terms:
        return self.columns, self.values, self.constant

    def __add__(self, other: Affine | float) -> Affine:
        if isinstance(other, Affine):
            return Affine(np.concatenate([self.columns, other.columns]), np.concatenate([self.values, other.values]),
                          self.constant + other.constant)
        return Affine(self.columns, self.values, self.constant + float(other))

    __radd__ = __add__

    def __neg__(self) -> Affine:
        return Affine(self.columns, -self.values, -self.constant)

    def __sub__(self, other: Affine | float) -> Affine:
        return self + (-other)

    def __rsub__(self, other: float) -> Affine:
        return -self + other

    def __mul__(self, factor: float) -> Affine:
        return Affine(self.columns, self.values * factor, self.constant * factor)

    __rmul__ = __mul__


def value_of(terms: Terms, values: np.ndarray) -> float:
    """The expression's value at the column values `values`: its constant, then each term added in turn (the
    order Pyomo evaluates a linear expression in, so the readable model gives the same number to the last bit)."""
    columns, coefficients, constant = terms
    return float(sum((coefficients * values[columns]).tolist(), start=constant))


@dataclass
class Matrix:
    column_lower: list[float] = field(default_factory=list)
    column_upper: list[float] = field(default_factory=list)
    integer: list[bool] = field(default_factory=list)
    row_columns: list[np.ndarray] = field(default_factory=list)
    row_values: list[np.ndarray] = field(default_factory=list)
    row_lower: list[float] = field(default_factory=list)
    """The row's lower bound less the expression's constant (-inf when it has none)."""
    row_upper: list[float] = field(default_factory=list)
    row_constant: list[float] = field(default_factory=list)
    written: list[tuple[float | None, float | None]] = field(default_factory=list)
    """The row's bounds as the family wrote them (None: none), the constant not taken off."""
    objective: Terms = (np.zeros(0, dtype=np.intp), np.zeros(0), 0.0)
    maximise: bool = True
    _ones: np.ndarray = field(default_factory=lambda: np.ones(0))

    @property
    def columns(self) -> int:
        return len(self.column_lower)

    def ones(self, count: int) -> np.ndarray:
        """Coefficients 1 for a sum of `count` variables: a view of one shared array (never written to), as most
        rows are a handful of binaries and a fresh array per row cost more than the row."""
        if count > len(self._ones):
            self._ones = np.ones(max(count, 2 * len(self._ones), 64))
        return self._ones[:count]

    def add_columns(self, count: int, lower: float | None, upper: float | None, integer: bool) -> int:
        """`count` new columns with these bounds; the number of the first."""
        first = self.columns
        self.column_lower.extend([-np.inf if lower is None else float(lower)] * count)
        self.column_upper.extend([np.inf if upper is None else float(upper)] * count)
        self.integer.extend([integer] * count)
        return first

    def add_row(self, terms: Terms, lower: float | None, upper: float | None) -> None:
        columns, values, constant = terms
        self.row_columns.append(columns)
        self.row_values.append(values)
        self.row_lower.append(-np.inf if lower is None else float(lower) - constant)
        self.row_upper.append(np.inf if upper is None else float(upper) - constant)
        self.row_constant.append(constant)
        self.written.append((lower, upper))

    def set_bounds(self, row: int, lower: float | None, upper: float | None) -> None:
        constant = self.row_constant[row]
        self.row_lower[row] = -np.inf if lower is None else float(lower) - constant
        self.row_upper[row] = np.inf if upper is None else float(upper) - constant
        self.written[row] = (lower, upper)

    def activity(self, row: int, values: np.ndarray) -> float:
        """The value of row number `row`'s expression (constant included) at the column values `values`."""
        return float(self.row_values[row] @ values[self.row_columns[row]] + self.row_constant[row])

    def rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A in compressed row form (starts, column index, value): a column named twice in a row is summed, and
        zero coefficients are left out (HiGHS refuses the first and warns about the second)."""
        index = np.concatenate(self.row_columns).astype(np.int64) if self.row_columns else np.zeros(0, np.int64)
        value = np.concatenate(self.row_values).astype(float) if self.row_values else np.zeros(0)
        lengths = np.fromiter((len(c) for c in self.row_columns), dtype=np.int64, count=len(self.row_columns))
        width = max(1, self.columns)
        key = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths) * width + index
        unique, inverse = np.unique(key, return_inverse=True)
        if len(unique) < len(key):
            key, value = unique, np.bincount(inverse, weights=value, minlength=len(unique))
        keep = value != 0
        if not keep.all():
            key, value = key[keep], value[keep]
        row_of, index = np.divmod(key, width)
        starts = np.zeros(len(lengths), dtype=np.int32)
        np.cumsum(np.bincount(row_of, minlength=len(lengths))[:-1], out=starts[1:])
        return starts, index.astype(np.int32), value

    def problem(self) -> Problem:
        """The model as HiGHS takes it (`Problem.relaxed`: its LP relaxation)."""
        n = self.columns
        columns, values, offset = self.objective
        cost = np.bincount(columns, weights=values, minlength=n).astype(float) if n else np.zeros(0)
        starts, index, value = self.rows()
        return Problem(cost, float(offset), self.maximise, np.array(self.column_lower), np.array(self.column_upper),
                       np.array(self.row_lower), np.array(self.row_upper), starts, index, value,
                       np.array(self.integer, dtype=np.int32))

    def pass_to(self, highs: highspy.Highs) -> None:
        """Hand the whole model to `highs`, replacing what it held."""
        self.problem().pass_to(highs)


@dataclass(frozen=True)
class Problem:
    """Everything HiGHS is given, as arrays and nothing else: it pickles, so a copy of the model with other row
    bounds (a point of the budget frontier) can be solved in another process (frontier.py)."""

    cost: np.ndarray
    offset: float
    maximise: bool
    column_lower: np.ndarray
    column_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    starts: np.ndarray
    index: np.ndarray
    value: np.ndarray
    integrality: np.ndarray

    def row_of(self) -> np.ndarray:
        """The row of each entry of A (`index`, `value`)."""
        ends = np.append(self.starts, len(self.index))
        return np.repeat(np.arange(len(self.row_lower), dtype=np.intp), np.diff(ends))

    def relaxed(self) -> Problem:
        """The LP relaxation: every integer column continuous within its bounds."""
        return dataclasses.replace(self, integrality=np.zeros_like(self.integrality))

    def with_row_bounds(self, row_lower: list[float], row_upper: list[float]) -> Problem:
        return dataclasses.replace(self, row_lower=np.array(row_lower), row_upper=np.array(row_upper))

    def pass_to(self, highs: highspy.Highs) -> None:
        status = highs.passModel(len(self.cost), len(self.row_lower), len(self.value), 2,
                                 -1 if self.maximise else 1, self.offset, self.cost, self.column_lower,
                                 self.column_upper, self.row_lower, self.row_upper, self.starts, self.index,
                                 self.value, self.integrality)
        if status == highspy.HighsStatus.kError:
            raise ValueError("HiGHS refused the model (see its log)")
