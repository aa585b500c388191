"""The readable back end of `Model`: the same rows as a labelled Pyomo model, for tests and for reading.

`PyomoModel` runs the constraint families' calls unchanged (model.py) and builds, beside the matrix, a Pyomo
`ConcreteModel` ("promotion_plan"): x_o, v_o,T and w_a,S as indexed binaries (the first columns, in Options'
order), the families' own variables in `aux` (continuous) and `binaries`, every row in the ConstraintList `rows`
(row r of the matrix is `rows[r + 1]`, labelled `Model.labels[r]`), the plan's gross profit as the Expression
`profit`, and the objective. An expression is a Pyomo `LinearExpression`, built flat from arrays; the matrix row
is taken from the arrays the expression was built from (remembered by expression), and a row written with Pyomo
arithmetic on top (`paid - payout`, `measure * rate`, the elastic slacks) is read back through
`pyomo.repn.generate_standard_repn`, which is exact for any linear expression. So the matrix this back end records
comes from Pyomo's own reading of its expressions, and tests/test_optimize_matrix.py checks that it equals the
matrix-only back end's, entry for entry.

`planner optimize` does not use it (it builds the matrix only); `solve.build(..., pyomo=True)` does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression
from pyomo.repn import generate_standard_repn

from planner.optimize.matrix import Terms
from planner.optimize.model import Expression, Model, Variable


class PyomoModel(Model):
    """`Model` with the readable Pyomo model built beside the matrix (`pyomo`, `variables`)."""

    def _add_decisions(self) -> None:
        options = self.options
        m = pyo.ConcreteModel("promotion_plan")
        m.x = pyo.Var(range(len(options)), domain=pyo.Binary)
        m.v = pyo.Var(range(len(options.variants)), domain=pyo.Binary)
        m.w = pyo.Var(range(len(options.packages)), domain=pyo.Binary)
        m.rows = pyo.ConstraintList()
        m.aux = pyo.VarList(domain=pyo.Reals)
        m.binaries = pyo.VarList(domain=pyo.Binary)
        self.pyomo: Any = m
        self.variables: list[Any] = []
        """The Pyomo variable of each column, in column order."""
        self._column_of: dict[int, int] = {}
        self._remembered: dict[int, tuple[Any, Terms]] = {}
        self._register([*m.x.values(), *m.v.values(), *m.w.values()])
        super()._add_decisions()

    def _register(self, variables: list[Any]) -> None:
        first = len(self.variables)
        self.variables.extend(variables)
        self._column_of.update(zip(map(id, variables), range(first, first + len(variables))))

    @property
    def x(self) -> Any:
        return self.pyomo.x

    def column(self, variable: Variable) -> int:
        try:
            return self._column_of[id(variable)]
        except KeyError:
            raise ValueError("a variable of the expression was not made by Model.new_var") from None

    def _flat(self, columns: list[int] | np.ndarray, values: np.ndarray | None, constant: float) -> Expression:
        """A LinearExpression over the columns' variables, remembered with its arrays. A sum of plain variables
        (values None) holds the variables themselves, not one product object per term."""
        numbers = columns.tolist() if isinstance(columns, np.ndarray) else list(columns)
        chosen = [self.variables[c] for c in numbers]
        if values is None:
            expression = LinearExpression([constant, *chosen] if constant else chosen)
            values = self.matrix.ones(len(chosen))
        else:
            expression = LinearExpression(constant=constant, linear_coefs=values.tolist(), linear_vars=chosen)
        self._remembered[id(expression)] = (expression, (np.array(numbers, dtype=np.intp), values, constant))
        return expression

    def new_var(self, lower: float | None = None, upper: float | None = None, binary: bool = False) -> Variable:
        var = self.pyomo.binaries.add() if binary else self.pyomo.aux.add()
        if not binary:
            var.setlb(lower)
            var.setub(upper)
        self._register([var])
        self.matrix.add_columns(1, 0.0 if binary else lower, 1.0 if binary else upper, integer=binary)
        return var

    def terms_of(self, expression: Expression) -> Terms:
        """Remembered, or read back from the expression by Pyomo."""
        known = self._remembered.get(id(expression))
        if known is not None and known[0] is expression:
            return known[1]
        repn = generate_standard_repn(expression, compute_values=True, quadratic=False)
        if repn.nonlinear_expr is not None:
            raise ValueError(f"the promotion MILP is linear; got {expression}")
        return (np.array([self.column(v) for v in repn.linear_vars], dtype=np.intp),
                np.array(repn.linear_coefs, dtype=float), float(repn.constant))

    def _constrain(self, expression: Expression, lower: float | None, upper: float | None) -> None:
        self.pyomo.rows.add(pyo.inequality(lower, expression, upper) if lower is not None and upper is not None
                            else (expression >= lower if lower is not None else expression <= upper))

    def set_bounds(self, row: int, lower: float | None, upper: float | None) -> None:
        constraint = self.pyomo.rows[row + 1]  # a ConstraintList counts from 1
        constraint.set_value((lower, constraint.body, upper))
        super().set_bounds(row, lower, upper)

    def set_profit(self, expression: Expression) -> None:
        self.pyomo.profit = pyo.Expression(expr=expression)
        super().set_profit(expression)

    def set_objective(self, expression: Expression, maximise: bool = True) -> None:
        self.pyomo.objective = pyo.Objective(expr=expression, sense=pyo.maximize if maximise else pyo.minimize)
        super().set_objective(expression, maximise)

    def load(self, values: np.ndarray) -> None:
        """Give every Pyomo variable its column's value (a run's), to read the model with `pyo.value`."""
        for variable, value in zip(self.variables, values.tolist()):
            variable.set_value(value, skip_validation=True)
