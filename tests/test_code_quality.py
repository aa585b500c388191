"""The code stays linted and typed: ruff and mypy (strict, pyproject.toml) run as part of the test command, so CI
fails on a new finding instead of it piling up unseen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_finds_nothing() -> None:
    result = run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_finds_nothing_in_the_package_its_tests_and_benchmarks() -> None:
    result = run("mypy", "planner", "tests", "benchmarks")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout


# The package's layers, lowest first: data flows one way (rules -> compile -> economics -> simulate/optimize ->
# report/store -> cli) and a module imports only from lower layers or its own package. `results` is the simulation
# result's data types (what simulate returns), so it sits at the bottom; `execute` is the seam that maps tasks.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"rules", "folders", "execute", "results"}),
    frozenset({"history"}),
    frozenset({"compile"}),
    frozenset({"economics"}),
    frozenset({"check", "changes"}),
    frozenset({"simulate", "validate", "account_plans"}),
    frozenset({"prepare", "frames", "calibrate", "optimize"}),
    frozenset({"sweep", "store", "workbook"}),
    frozenset({"actuals"}),
    frozenset({"review"}),
    frozenset({"report"}),
    frozenset({"api"}),
    frozenset({"cli"}),
    frozenset({"__main__"}),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level planner module) of every import in a file, at module level or inside a function."""
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [(node.lineno, name.split(".")[1]) for name in names
                  if name.startswith("planner.") and len(name.split(".")) > 1]
    return found


def test_every_module_of_the_package_has_a_layer() -> None:
    package = ROOT / "planner"
    modules = {path.stem if path.is_file() else path.name for path in package.iterdir()
               if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").exists()}
    assert modules == set(RANK), f"unplaced: {sorted(modules - set(RANK))}, gone: {sorted(set(RANK) - modules)}"


def test_nothing_lower_imports_anything_higher() -> None:
    package = ROOT / "planner"
    upward = []
    for path in sorted(package.rglob("*.py")):
        own = path.relative_to(package).parts[0].removesuffix(".py")
        if own == "__init__":
            continue
        for line, imported in _imports(path):
            if imported != own and RANK[imported] >= RANK[own]:
                upward.append(f"{path.relative_to(ROOT)}:{line}: {own} (layer {RANK[own]}) imports {imported} "
                              f"(layer {RANK[imported]})")
    assert not upward, "\n".join(upward)
