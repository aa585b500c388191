"""The promotion-allocation MILP in Pyomo: one binary per option, rows added by constraint families.

Symbols (docs/optimizer.md):

    x_o            1 when option o (mechanic m, line l = account x product group, week t) runs
    promoted_lt    sum of x_o over the mechanics of line l in week t (0 or 1: the `choice` family)
    w_a,S          1 when account a buys vividness package S (binary; exactly one per account)
    v_o,T          1 when option o runs while, of the investments that matter to it, T are bought (binary); such an
                   option has no x of its own: x_o = sum_T v_o,T is substituted everywhere (`terms`,
                   constraints/vividness.py)
    y_c            the variable of column c: x_o for an option, v_o,T for a variant, w_a,S for a package
    value_c[k]     column c's change of measure k (gross profit, volume, revenue, net sales, gross sales, trade
                   spend, budget spend), rebates excluded: measured by the economics core (options.py)
    base[k]        measure k of the no-promotion plan with no investment bought
    rebate_r,a,q   rebate r of account a in period q: exact tier binaries (constraints/rebates.py)

    maximise   sum_c value_c[gross_profit] y_c - sum rebate        (objective `profit`; `volume` and
                                                                     `revenue` keep a profit floor)

Every family is a small module in planner/optimize/constraints with its math in the docstring; each adds its
rows through `Model.row`, which labels them in the user's terms (rule id, account, week) so an infeasible model
can say which rules conflict (diagnose.py relaxes the rows elastically), and writes each row as arrays into
`Model.matrix` (matrix.py), what HiGHS receives.

`Model` is the interface the families write through, and its matrix-only back end: a column is a number, an
expression an `Affine` of arrays, and no Pyomo object is made (what `planner optimize` runs). `PyomoModel`
(readable.py) is the other back end: the same calls also build the readable, labelled Pyomo model, which tests
compare with the matrix row for row. The families only add, subtract and scale expressions and call the methods
below, so they run unchanged on either.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from planner.compile.model import Compiled
from planner.optimize.matrix import Affine, Matrix, Terms, value_of
from planner.optimize.options import Options
from planner.optimize.split import Memo
from planner.rules.schema import RuleSet

Expression = Any
"""A linear expression of the back end: an `Affine` (matrix-only) or a Pyomo expression (readable.py)."""
Variable = Any
"""A variable the model adds (`Model.new_var`): an `Affine` of one column, or a Pyomo variable."""


@dataclass(frozen=True)
class RowLabel:
    """What a constraint row means, in the user's terms."""

    family: str
    rule: str
    account: str = ""
    detail: str = ""


@dataclass
class Model:
    rules: RuleSet
    compiled: Compiled
    options: Options
    objective: str = "profit"
    min_profit: float | None = None
    elastic: bool = False
    """Diagnosis mode: every labelled row gets a penalised slack instead of being hard."""
    labels: list[RowLabel] = field(default_factory=list)
    slacks: list[tuple[RowLabel, Variable, float]] = field(default_factory=list)
    """(row label, slack variable, the row's scale) of every elastic slack."""
    rebates: dict[int, list[Variable]] = field(default_factory=dict)
    """Account position -> rebate variables (money) of that account: subtracted from its gross profit."""
    rebate_margins: dict[int, list[Variable]] = field(default_factory=dict)
    """Account position -> how much more than `rebates` the simulator can pay (its rebates on actual revenue, the
    model's on volume at the no-promotion price): added to the rebates in the rows that must hold when simulated."""
    budget_rows: list[int] = field(default_factory=list)
    """Rows of the overall annual budget(s): their duals are the marginal profit of budget."""
    profit: Expression = None
    """The plan's gross profit, rebates included (set by solve.build): the objective, or the profit floor."""

    matrix: Matrix = field(default_factory=Matrix)
    """The same model as arrays, what HiGHS receives (matrix.py): written by the calls below."""
    memo: Memo = field(default_factory=dict)
    """The account split's block runs (split.py), kept so that a re-solve of this model (a frontier point, a
    what-if on a budget) solves again only the accounts whose own problem changed."""

    def __post_init__(self) -> None:
        options = self.options
        self._add_decisions()
        self.variants_of: dict[int, list[int]] = {}
        """Option -> its variants' columns: x_o = sum_T v_o,T is substituted, so the option has no x of its own."""
        for column, o in zip(options.variants.tolist(), options.column_option[options.variants].tolist()):
            self.variants_of.setdefault(o, []).append(column)
        # the options of each line and week, grouped once: slots in the order their first option comes
        key = options.line * (int(options.week.max(initial=0)) + 1) + options.week
        self._slot_order = np.argsort(key, kind="stable")
        ordered = key[self._slot_order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if len(key) else np.zeros(0, np.intp)
        self._slot_bounds = np.r_[starts, len(key)]
        firsts = self._slot_order[starts]
        self._slots = dict(zip(zip(options.line[firsts].tolist(), options.week[firsts].tolist()),
                               range(len(starts))))
        """(line, week) -> slot number, in the order of the slots' first options."""
        self._slot_sequence = np.argsort(firsts, kind="stable")
        self._account_order = np.argsort(self.account_of, kind="stable")
        self._account_starts = np.searchsorted(self.account_of[self._account_order],
                                               np.arange(len(self.compiled.index.accounts) + 1))

    def _add_decisions(self) -> None:
        """The binary of every column of Options (options, variants, packages): the matrix's first columns."""
        self.matrix.add_columns(self.options.columns, 0.0, 1.0, integer=True)

    def options_at(self, line: int, week: int) -> list[int]:
        """The options of line `line` in (0-based) week `week`, in option order."""
        slot = self._slots.get((line, week))
        return [] if slot is None else self._slot(slot)

    def _slot(self, slot: int) -> list[int]:
        return self._slot_order[self._slot_bounds[slot]:self._slot_bounds[slot + 1]].tolist()  # type: ignore[no-any-return]

    def slots(self) -> Iterator[tuple[int, int, list[int]]]:
        """(line, week, its options) of every line and week with an option, in the order of their first options."""
        options = self.options
        for slot in self._slot_sequence.tolist():
            chosen = self._slot(slot)
            yield int(options.line[chosen[0]]), int(options.week[chosen[0]]), chosen

    @property
    def account_of(self) -> np.ndarray:
        """Account position of each column."""
        return self.options.column_account

    def account_columns(self, account: int) -> np.ndarray:
        """The columns of one account (position), in column order: grouped once, so that a family writing a row
        per account does not scan every column for each."""
        return self._account_order[self._account_starts[account]:self._account_starts[account + 1]]

    def columns_in(self, members: np.ndarray) -> np.ndarray:
        """The columns of the accounts in the (A,) mask `members`, in column order."""
        positions = np.flatnonzero(members)
        if len(positions) == 1:
            return self.account_columns(int(positions[0]))
        return np.flatnonzero(members[self.account_of])

    def _expand(self, columns: list[int] | np.ndarray,
                coefficients: list[float] | np.ndarray | None) -> tuple[list[int] | np.ndarray, np.ndarray | None]:
        """Column numbers and coefficients of sum_c coefficient_c y_c, an option with variants replaced by them
        (x_o = sum_T v_o,T, substituted). Coefficients None: all 1."""
        values = None if coefficients is None else np.asarray(coefficients, dtype=float)
        if not self.variants_of:
            return columns, values
        numbers = columns.tolist() if isinstance(columns, np.ndarray) else list(columns)
        if not any(c in self.variants_of for c in numbers):
            return numbers, values
        out: list[int] = []
        repeat: list[int] = []
        for c in numbers:
            expanded = self.variants_of.get(c)
            out.extend([c] if expanded is None else expanded)
            repeat.append(1 if expanded is None else len(expanded))
        return out, None if values is None else np.repeat(values, repeat)

    def linear(self, columns: list[int] | np.ndarray, coefficients: list[float] | np.ndarray | None = None,
               constant: float = 0.0) -> Expression:
        """sum_c coefficient_c y_c + constant over columns. An option number is its own column: x_o, or the sum
        of its variants when it has some (x_o = sum_T v_o,T, substituted)."""
        numbers, values = self._expand(columns, coefficients)
        return self._flat(numbers, values, float(constant))

    def _flat(self, columns: list[int] | np.ndarray, values: np.ndarray | None, constant: float) -> Expression:
        """sum_k values_k y_columns_k + constant over the matrix's columns (values None: coefficients 1)."""
        numbers = np.asarray(columns, dtype=np.intp)
        return Affine(numbers, self.matrix.ones(len(numbers)) if values is None else values, constant)

    def expression(self, coefs: list[float], variables: list[Variable], constant: float = 0.0) -> Expression:
        """sum_k coefs_k variables_k + constant, over variables made by `new_var` (or `Model.rebates`)."""
        return self._flat([self.column(variable) for variable in variables], np.asarray(coefs, dtype=float),
                          float(constant))

    def new_var(self, lower: float | None = None, upper: float | None = None, binary: bool = False) -> Variable:
        column = self.matrix.add_columns(1, 0.0 if binary else lower, 1.0 if binary else upper, integer=binary)
        return Affine(np.array([column], dtype=np.intp), self.matrix.ones(1))

    def column(self, variable: Variable) -> int:
        """The matrix column of a variable made by `new_var`."""
        return int(variable.columns[0])

    def terms_of(self, expression: Expression) -> Terms:
        """The expression as (columns, coefficients, constant)."""
        return expression.terms  # type: ignore[no-any-return]

    def value(self, expression: Expression, values: np.ndarray) -> float:
        """The expression's value at the column values `values` (a run's)."""
        return value_of(self.terms_of(expression), values)

    def runs(self, values: np.ndarray) -> np.ndarray:
        """How much each option runs at the column values `values`: x_o, or the sum of its variants."""
        out = np.array(values[:len(self.options)], dtype=float)
        for o, variants in self.variants_of.items():
            out[o] = float(sum(values[variants].tolist()))
        return out

    def row(self, label: RowLabel, expression: Expression, lower: float | None = None, upper: float | None = None,
            hard: bool = False) -> None:
        """lower <= expression <= upper, labelled. `hard` rows (definitions, not business rules) never relax."""
        columns, values, constant = self.terms_of(expression)
        if self.elastic and not hard:
            scale = max(1.0, abs(lower or 0.0), abs(upper or 0.0))
            slacks, signs = [], []
            if lower is not None:
                slack = self.new_var(0.0, None)
                self.slacks.append((label, slack, scale))
                expression = expression + slack
                slacks.append(self.column(slack))
                signs.append(1.0)
            if upper is not None:
                slack_up = self.new_var(0.0, None)
                self.slacks.append((label, slack_up, scale))
                expression = expression - slack_up
                slacks.append(self.column(slack_up))
                signs.append(-1.0)
            columns = np.concatenate([columns, np.array(slacks, dtype=np.intp)])
            values = np.concatenate([values, signs])
        self._constrain(expression, lower, upper)
        self.matrix.add_row((columns, values, constant), lower, upper)
        self.labels.append(label)

    def _constrain(self, expression: Expression, lower: float | None, upper: float | None) -> None:
        """The readable back end writes the row into its Pyomo model here; the matrix needs nothing more."""

    def set_bounds(self, row: int, lower: float | None, upper: float | None) -> None:
        """Change the bounds of row number `row` (a what-if, e.g. a budget's max); a persistent solver
        (solve.highs) sends HiGHS only this change."""
        self.matrix.set_bounds(row, lower, upper)

    def set_profit(self, expression: Expression) -> None:
        self.profit = expression

    def set_objective(self, expression: Expression, maximise: bool = True) -> None:
        self.matrix.objective = self.terms_of(expression)
        self.matrix.maximise = maximise

    def total(self, measure: str, options: np.ndarray | None = None, base: float | None = None,
              less: list[Variable] | None = None) -> Expression:
        """A measure of the whole plan (or of some columns) as an expression, rebates excluded; the variables
        `less` (the rebates) are subtracted."""
        chosen = np.arange(self.options.columns) if options is None else np.asarray(options, dtype=np.intp)
        chosen = chosen[self.options.value[measure][chosen] != 0]
        constant = float(getattr(self.options.base, measure).sum()) if base is None else base
        if measure in ("gross_profit", "net_sales"):
            constant += float(self.options.base.rebates.sum()) if base is None else 0.0
        if measure == "trade_spend" and base is None:
            constant -= float(self.options.base.rebates.sum())
        values = np.asarray(self.options.value[measure][chosen], dtype=float)
        if less:
            chosen = np.concatenate([chosen, np.array([self.column(v) for v in less], dtype=np.intp)])
            values = np.concatenate([values, -np.ones(len(less))])
        return self._flat(chosen, values, float(constant))
