"""Writing a bootstrapped repository all-or-nothing.

The files are written into a temporary folder beside DIR, checked (their schema here; a caller such as the
command line adds `planner validate` through `check`), and only then moved into place. DIR must be absent or
empty, or hold exactly an earlier `planner init`'s files, unedited: `.planner-init.json` records each file's
SHA-256, so a file someone edited (or added) makes the command refuse instead of overwriting work.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import yaml

from planner.folders import move_into_place
from planner.history.bootstrap import RuleFile
from planner.rules.load import build_rule_set, display_name
from planner.rules.source import parse_yaml

MARKER = ".planner-init.json"


class CannotWrite(Exception):
    """DIR cannot be (re)written: it holds files that are not an unedited earlier init, or a check failed."""


def render(rule_file: RuleFile) -> str:
    """YAML text of one file: the comment, then the data (leaf mappings in flow style, one item a line)."""
    comment = "".join(f"# {line}\n" for line in rule_file.comment.splitlines())
    body = yaml.safe_dump(rule_file.data, sort_keys=False, allow_unicode=True, width=110, default_flow_style=None)
    return comment + body


def schema_problems(texts: dict[str, str]) -> list[str]:
    """Findings of loading the rule files (schema and merge only), as text; empty when they load cleanly."""
    documents = []
    problems: list[str] = []
    for path, text in texts.items():
        if not path.startswith("rules/"):
            continue
        document, findings = parse_yaml(text.encode(), path)
        problems.extend(f"{f.location}: {f.message}" for f in findings)
        if document is not None:
            documents.append(document)
    _, findings = build_rule_set(documents)
    problems.extend(f"{f.location}: {f.message}" for f in findings)
    return problems


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def refuse_reason(out_dir: Path) -> str | None:
    """Why DIR may not be written, or None: absent, empty, or only an unedited earlier init."""
    if not out_dir.exists():
        return None
    if not out_dir.is_dir():
        return f"{display_name(out_dir)} is a file, not a folder"
    present = {p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*") if p.is_file()}
    if not present:
        return None
    marker = out_dir / MARKER
    if not marker.is_file():
        return f"{display_name(out_dir)} is not empty and holds no earlier `planner init` ({MARKER} is missing)"
    try:
        recorded: dict[str, str] = json.loads(marker.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return f"{display_name(marker)} is not a `planner init` record"
    for path in sorted(present - {MARKER}):
        if path not in recorded:
            return f"{display_name(out_dir / path)} was not written by `planner init`"
        if _sha((out_dir / path).read_bytes()) != recorded[path]:
            return f"{display_name(out_dir / path)} was edited since `planner init` wrote it"
    return None


def write_repository(files: list[RuleFile], out_dir: Path, *, source: str, sha256: str,
                     check: Callable[[Path], list[str]] | None = None) -> list[Path]:
    """Write `files` under `out_dir` all-or-nothing; returns the paths written (marker excluded).

    Raises CannotWrite, leaving `out_dir` as it was, when it holds other work or a check fails."""
    reason = refuse_reason(out_dir)
    if reason is not None:
        raise CannotWrite(f"{reason}; choose an empty folder (or delete it) and run again")
    texts = {f.path: render(f) for f in files}
    problems = schema_problems(texts)
    if problems:
        raise CannotWrite("the bootstrapped rules do not load (a bug, please report it):\n  " + "\n  ".join(problems))
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.init-", dir=out_dir.parent))
    try:
        for path, text in texts.items():
            target = staging / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        record = {"source": source, "sha256": sha256,
                  "files": {path: _sha(text.encode("utf-8")) for path, text in texts.items()}}
        (staging / MARKER).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        found = check(staging) if check is not None else []
        if found:
            raise CannotWrite("the bootstrapped rules do not validate (a bug, please report it):\n  "
                              + "\n  ".join(found))
        move_into_place(staging, out_dir)  # an earlier init (checked unedited) is replaced
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return [out_dir / path for path in texts]
