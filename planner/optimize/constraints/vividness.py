"""Vividness packages: each account buys exactly one package of its investments, and each option runs in the
variant that matches it (planner/optimize/investments.py, options.py).

    sum_S w_a,S = 1                                              for each account a with investments
    sum_{o in options(l, t)} v_o,T  <=  sum_{S : S & R = T} w_a,S    for each line l, week t and T within R
    x_o = sum_T v_o,T                                            substituted: such an option has no x

Symbols:

    w_a,S     1 when account a buys package S (a set of its investments, as slot bits; S = 0 buys none)
    v_o,T     1 when option o runs while, of the investments R that matter to it, exactly T are bought (binary)
    x_o       1 when option o runs: every other family reads sum_T v_o,T for it (Model.terms)
    R         the slots that matter to line l in week t (the same for every mechanic: Options.column_matters)

A locked shelf target, display or cooler is no investment: it stays as the rules write it (investments.py).
With w integral one package is bought, so exactly one T has a right side of 1 in each line-week: every other
variant is 0, and the option runs (if at all) as v_o,T, earning what the economics core measured under that
package. The last row sums the line-week's mechanics (at most one runs: `choice`), which is both fewer rows and
a tighter relaxation than one row per option. Substituting x_o (instead of a row x_o = sum_T v_o,T) leaves the
LP relaxation as it is and drops a column and a row per such option; the v are then the binaries. All rows are
definitions (hard).
"""

from __future__ import annotations

from collections import defaultdict

from planner.optimize.model import Model, RowLabel


def add(model: Model) -> None:
    options, accounts = model.options, model.compiled.index.accounts
    packages: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for column in options.packages.tolist():
        packages[int(options.column_account[column])].append((column, int(options.column_bought[column])))
    for a, offered in packages.items():
        label = RowLabel("vividness", "one-package", accounts[a].id, "one vividness package")
        model.row(label, model.linear([c for c, _ in offered]), 1.0, 1.0, hard=True)
    line_week: dict[tuple[int, int, int], list[int]] = defaultdict(list)
    for column in options.variants.tolist():
        o = int(options.column_option[column])
        line_week[(int(options.line[o]), int(options.week[o]), int(options.column_bought[column]))].append(column)
    for (line, week, bought), variants in line_week.items():
        account, group = options.lines[line]
        matters = int(options.column_matters[variants[0]])
        matching = [c for c, package in packages[account] if package & matters == bought]
        label = RowLabel("vividness", "package", accounts[account].id, f"{group} week {week + 1}")
        model.row(label, model.linear([*variants, *matching], [1.0] * len(variants) + [-1.0] * len(matching)),
                  upper=0.0, hard=True)
