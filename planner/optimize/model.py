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
can say which rules conflict (diagnose.py relaxes the rows elastically), and records each row as arrays in
`Model.matrix` (matrix.py): that matrix, not a compilation of the Pyomo expressions, is what HiGHS receives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from planner.compile.model import Compiled
from planner.optimize.matrix import Matrix
from planner.optimize.options import Options
from planner.optimize.split import Memo
from planner.rules.schema import RuleSet


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
    pyomo: Any = field(default=None)
    labels: list[RowLabel] = field(default_factory=list)
    slacks: list[Any] = field(default_factory=list)
    rebates: dict[int, list[Any]] = field(default_factory=dict)
    """Account position -> rebate variables (money) of that account: subtracted from its gross profit."""
    rebate_margins: dict[int, list[Any]] = field(default_factory=dict)
    """Account position -> how much more than `rebates` the simulator can pay (its rebates on actual revenue, the
    model's on volume at the no-promotion price): added to the rebates in the rows that must hold when simulated."""
    budget_rows: list[int] = field(default_factory=list)
    """Rows of the overall annual budget(s): their duals are the marginal profit of budget."""

    matrix: Matrix = field(default_factory=Matrix)
    """The same model as arrays, what HiGHS receives (matrix.py): recorded by the calls below, not compiled."""
    memo: Memo = field(default_factory=dict)
    """The account split's block runs (split.py), kept so that a re-solve of this model (a frontier point, a
    what-if on a budget) solves again only the accounts whose own problem changed."""

    def __post_init__(self) -> None:
        options = self.options
        m = pyo.ConcreteModel("promotion_plan")
        m.x = pyo.Var(range(len(options)), domain=pyo.Binary)
        m.v = pyo.Var(range(len(options.variants)), domain=pyo.Binary)
        m.w = pyo.Var(range(len(options.packages)), domain=pyo.Binary)
        m.rows = pyo.ConstraintList()
        m.aux = pyo.VarList(domain=pyo.Reals)
        m.binaries = pyo.VarList(domain=pyo.Binary)
        self.pyomo = m
        self.columns = [*m.x.values(), *m.v.values(), *m.w.values()]
        """The variable of each column (Options: options, variants, packages): the matrix's first columns."""
        self.matrix.add_columns(self.columns, 0.0, 1.0, integer=True)
        self.variants_of: dict[int, list[int]] = {}
        """Option -> its variants' columns: x_o = sum_T v_o,T is substituted, so the option has no x of its own."""
        for column, o in zip(options.variants.tolist(), options.column_option[options.variants].tolist()):
            self.variants_of.setdefault(o, []).append(column)
        self._by_line_week: dict[tuple[int, int], list[int]] = {}
        for o, (line, week) in enumerate(zip(self.options.line.tolist(), self.options.week.tolist())):
            self._by_line_week.setdefault((line, week), []).append(o)

    @property
    def x(self) -> Any:
        return self.pyomo.x

    def options_at(self, line: int, week: int) -> list[int]:
        return self._by_line_week.get((line, week), [])

    @property
    def account_of(self) -> np.ndarray:
        """Account position of each column."""
        return self.options.column_account

    def _expand(self, columns: list[int] | np.ndarray,
                coefficients: list[float] | np.ndarray | None) -> tuple[list[int], np.ndarray | None]:
        """Column numbers and coefficients of sum_c coefficient_c y_c, an option with variants replaced by them
        (x_o = sum_T v_o,T, substituted). Coefficients None: all 1."""
        numbers = columns.tolist() if isinstance(columns, np.ndarray) else list(columns)
        values = None if coefficients is None else np.asarray(coefficients, dtype=float)
        if not self.variants_of or not any(c in self.variants_of for c in numbers):
            return numbers, values
        out: list[int] = []
        repeat: list[int] = []
        for c in numbers:
            expanded = self.variants_of.get(c)
            out.extend([c] if expanded is None else expanded)
            repeat.append(1 if expanded is None else len(expanded))
        return out, None if values is None else np.repeat(values, repeat)

    def terms(self, columns: list[int] | np.ndarray,
              coefficients: list[float] | np.ndarray | None = None) -> tuple[list[float], list[Any]]:
        """(coefficients, variables) of sum_c coefficient_c y_c. An option number is its own column: x_o, or the sum
        of its variants when it has some (x_o = sum_T v_o,T, substituted)."""
        numbers, values = self._expand(columns, coefficients)
        variables = self.matrix.variables
        return ([1.0] * len(numbers) if values is None else values.tolist()), [variables[c] for c in numbers]

    def linear(self, columns: list[int] | np.ndarray, coefficients: list[float] | np.ndarray | None = None,
               constant: float = 0.0) -> LinearExpression:
        """sum_c coefficient_c y_c + constant over columns (`terms`), built flat (Pyomo's fastest path for big
        sums) and remembered by the matrix."""
        numbers, values = self._expand(columns, coefficients)
        return self._flat(numbers, values, float(constant))

    def runs(self, o: int) -> float:
        """How much option o runs in the loaded solution (x_o, or the sum of its variants)."""
        variables = self.matrix.variables
        return float(sum(pyo.value(variables[c], exception=False) or 0.0 for c in self.variants_of.get(o, [o])))

    def expression(self, coefs: list[float], variables: list[Any], constant: float = 0.0) -> LinearExpression:
        variables = list(variables)
        return self._flat(self.matrix.columns_of(variables).tolist(), np.asarray(coefs, dtype=float),
                          float(constant))

    def _flat(self, columns: list[int], values: np.ndarray | None, constant: float) -> LinearExpression:
        """sum_k values_k v_columns_k + constant over the matrix's columns, remembered by the matrix. A sum of
        plain variables (values None: coefficients 1) holds the variables themselves, not one product object per
        term, which is most of the cost of a Pyomo expression."""
        variables = self.matrix.variables
        chosen = [variables[c] for c in columns]
        if values is None:
            expression = LinearExpression([constant, *chosen] if constant else chosen)
            values = self.matrix.ones(len(chosen))
        else:
            expression = LinearExpression(constant=constant, linear_coefs=values.tolist(), linear_vars=chosen)
        return self.matrix.remember(expression, np.array(columns, dtype=np.intp), values, constant)

    def new_var(self, lower: float | None = None, upper: float | None = None, binary: bool = False) -> Any:
        var = self.pyomo.binaries.add() if binary else self.pyomo.aux.add()
        if not binary:
            var.setlb(lower)
            var.setub(upper)
        self.matrix.add_columns([var], 0.0 if binary else lower, 1.0 if binary else upper, integer=binary)
        return var

    def row(self, label: RowLabel, expression: Any, lower: float | None = None, upper: float | None = None,
            hard: bool = False) -> None:
        """lower <= expression <= upper, labelled. `hard` rows (definitions, not business rules) never relax."""
        columns, values, constant = self.matrix.terms(expression)
        if self.elastic and not hard:
            scale = max(1.0, abs(lower or 0.0), abs(upper or 0.0))
            slacks, signs = [], []
            if lower is not None:
                slack = self.new_var(0.0, None)
                self.slacks.append((label, slack, scale))
                expression = expression + slack
                slacks.append(slack)
                signs.append(1.0)
            if upper is not None:
                slack_up = self.new_var(0.0, None)
                self.slacks.append((label, slack_up, scale))
                expression = expression - slack_up
                slacks.append(slack_up)
                signs.append(-1.0)
            columns = np.concatenate([columns, self.matrix.columns_of(slacks)])
            values = np.concatenate([values, signs])
        self.pyomo.rows.add(pyo.inequality(lower, expression, upper) if lower is not None and upper is not None
                            else (expression >= lower if lower is not None else expression <= upper))
        self.matrix.add_row((columns, values, constant), lower, upper)
        self.labels.append(label)

    def set_bounds(self, row: int, lower: float | None, upper: float | None) -> None:
        """Change the bounds of row number `row` (a what-if, e.g. a budget's max) in the Pyomo model and in
        the matrix alike; a persistent solver (solve.highs) sends HiGHS only this change."""
        constraint = self.pyomo.rows[row + 1]  # a ConstraintList counts from 1
        constraint.set_value((lower, constraint.body, upper))
        self.matrix.set_bounds(row, lower, upper)

    def set_objective(self, expression: Any, maximise: bool = True) -> None:
        self.pyomo.objective = pyo.Objective(expr=expression, sense=pyo.maximize if maximise else pyo.minimize)
        self.matrix.objective = self.matrix.terms(expression)
        self.matrix.maximise = maximise

    def total(self, measure: str, options: np.ndarray | None = None, base: float | None = None,
              less: list[Any] | None = None) -> LinearExpression:
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
            chosen = np.concatenate([chosen, self.matrix.columns_of(less)])
            values = np.concatenate([values, -np.ones(len(less))])
        return self._flat(chosen.tolist(), values, float(constant))
