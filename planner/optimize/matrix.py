"""The promotion MILP as HiGHS takes it, recorded while the Pyomo model is built.

    maximise (or minimise)  c x + offset
    subject to              row_lower <= A x <= row_upper,   column_lower <= x <= column_upper,
                            x_j integer for the binaries

Why record it instead of letting Pyomo compile the model at hand-over: the Pyomo model has one expression object
per coefficient, and any compiler (Pyomo's persistent HiGHS interface, its LP writer, its standard-form compiler)
walks them all again, in Python, after the model builder already had every row as arrays. At 1,000 accounts
(260,000 binaries, 1 million coefficients) that walk took Pyomo's HiGHS interface 10 s against a build of 5 s
(benchmarks/README.md). So `Model.linear` and `Model.expression` remember the arrays they build each expression
from, keyed by the expression object, and `Model.row` stores a row from them without looking inside the
expression; only a row written with Pyomo arithmetic on top (`paid - payout`, `measure * rate`, the elastic
slacks) is read back through `pyomo.repn.generate_standard_repn`, which is exact for any linear expression.

The Pyomo model stays the readable, labelled view (tests and the diagnosis read its rows); this matrix is what
HiGHS receives. The two are built by the same calls, and tests/test_optimize_matrix.py checks that they agree row
for row. A bound changed later (a what-if on a budget, the frontier's points) goes through `Model.set_bounds`,
which changes both; `Matrix.problem` is the matrix as bare arrays, which another process can solve.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np
from pyomo.repn import generate_standard_repn

Terms = tuple[np.ndarray, np.ndarray, float]
"""(columns, coefficients, constant) of a linear expression: sum_k coefficients_k x_columns_k + constant."""


@dataclass
class Matrix:
    variables: list[Any] = field(default_factory=list)
    """The Pyomo variable of each column, in column order."""
    column_lower: list[float] = field(default_factory=list)
    column_upper: list[float] = field(default_factory=list)
    integer: list[bool] = field(default_factory=list)
    row_columns: list[np.ndarray] = field(default_factory=list)
    row_values: list[np.ndarray] = field(default_factory=list)
    row_lower: list[float] = field(default_factory=list)
    """The row's lower bound less the expression's constant (-inf when it has none)."""
    row_upper: list[float] = field(default_factory=list)
    row_constant: list[float] = field(default_factory=list)
    objective: Terms = (np.zeros(0, dtype=np.intp), np.zeros(0), 0.0)
    maximise: bool = True
    _column_of: dict[int, int] = field(default_factory=dict)
    _remembered: dict[int, tuple[Any, Terms]] = field(default_factory=dict)
    _ones: np.ndarray = field(default_factory=lambda: np.ones(0))

    def ones(self, count: int) -> np.ndarray:
        """Coefficients 1 for a sum of `count` variables: a view of one shared array (never written to), as most
        rows are a handful of binaries and a fresh array per row cost more than the row."""
        if count > len(self._ones):
            self._ones = np.ones(max(count, 2 * len(self._ones), 64))
        return self._ones[:count]

    def add_columns(self, variables: list[Any], lower: float | None, upper: float | None, integer: bool) -> None:
        first = len(self.variables)
        self.variables.extend(variables)
        self._column_of.update(zip(map(id, variables), range(first, first + len(variables))))
        self.column_lower.extend([-np.inf if lower is None else float(lower)] * len(variables))
        self.column_upper.extend([np.inf if upper is None else float(upper)] * len(variables))
        self.integer.extend([integer] * len(variables))

    def columns_of(self, variables: list[Any]) -> np.ndarray:
        try:
            return np.array([self._column_of[id(variable)] for variable in variables], dtype=np.intp)
        except KeyError:
            raise ValueError("a variable of the expression was not made by Model.new_var or Model.x") from None

    def remember(self, expression: Any, columns: np.ndarray, values: np.ndarray, constant: float) -> Any:
        """Note what `expression` is as arrays, so that `terms` need not walk it."""
        self._remembered[id(expression)] = (expression, (columns, values, constant))
        return expression

    def terms(self, expression: Any) -> Terms:
        """The expression as (columns, coefficients, constant): remembered, or read back from the expression."""
        known = self._remembered.get(id(expression))
        if known is not None and known[0] is expression:
            return known[1]
        repn = generate_standard_repn(expression, compute_values=True, quadratic=False)
        if repn.nonlinear_expr is not None:
            raise ValueError(f"the promotion MILP is linear; got {expression}")
        return (self.columns_of(list(repn.linear_vars)), np.array(repn.linear_coefs, dtype=float),
                float(repn.constant))

    def add_row(self, terms: Terms, lower: float | None, upper: float | None) -> None:
        columns, values, constant = terms
        self.row_columns.append(columns)
        self.row_values.append(values)
        self.row_lower.append(-np.inf if lower is None else float(lower) - constant)
        self.row_upper.append(np.inf if upper is None else float(upper) - constant)
        self.row_constant.append(constant)

    def set_bounds(self, row: int, lower: float | None, upper: float | None) -> None:
        constant = self.row_constant[row]
        self.row_lower[row] = -np.inf if lower is None else float(lower) - constant
        self.row_upper[row] = np.inf if upper is None else float(upper) - constant

    def activity(self, row: int, values: np.ndarray) -> float:
        """The value of row number `row`'s expression (constant included) at the column values `values`."""
        return float(self.row_values[row] @ values[self.row_columns[row]] + self.row_constant[row])

    def rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A in compressed row form (starts, column index, value): a column named twice in a row is summed, and
        zero coefficients are left out (HiGHS refuses the first and warns about the second)."""
        index = np.concatenate(self.row_columns).astype(np.int64) if self.row_columns else np.zeros(0, np.int64)
        value = np.concatenate(self.row_values).astype(float) if self.row_values else np.zeros(0)
        lengths = np.fromiter((len(c) for c in self.row_columns), dtype=np.int64, count=len(self.row_columns))
        width = max(1, len(self.variables))
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
        n = len(self.variables)
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
