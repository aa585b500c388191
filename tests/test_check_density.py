"""The checker on dense rule sets (the demo's rules cloned with new ids, many rules on the same scopes) gives the
same findings as before the density work (issue 15, part 7).

`tests/fixtures/golden/dense_1500_findings.json.gz` holds the findings JSON of the checker as it was before the
per-scope caches, the merged budget minimums and the per-cell floor indexes, on `write_dense_rule_set(DIR, 1500)`
(regenerate with `python -m tests.test_check_density` only when a change of findings is intended, and say why in
the commit). What changed on purpose since: a finding names at most RELATED_SHOWN related objects and counts the
rest in its example (`related_not_shown`); findings of codes added later (NEW_CODES) are not in the golden file.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
from pathlib import Path
from typing import Any

from benchmarks.synth_dense import write_dense_rule_set
from planner.check import run_checks
from planner.rules.findings import sort_findings
from planner.rules.load import load_rules

GOLDEN = Path(__file__).parent / "fixtures" / "golden" / "dense_1500_findings.json.gz"
SIZE = 1500

def dense_findings(folder: Path) -> list[dict[str, Any]]:
    """The findings of `folder` as JSON, with file paths relative to it (so the golden file does not depend on
    where the folder was)."""
    write_dense_rule_set(folder, SIZE)
    previous = Path.cwd()
    os.chdir(folder)
    try:
        loaded = load_rules([Path(".")])
        assert not loaded.findings, loaded.findings[:3]
        return [f.as_json() for f in sort_findings(run_checks(loaded.rules))]
    finally:
        os.chdir(previous)

def write_golden(folder: Path) -> None:
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(dense_findings(folder), indent=1, sort_keys=True)
    GOLDEN.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))

def test_dense_findings_match_the_golden_file(tmp_path: Path) -> None:
    golden = json.loads(gzip.decompress(GOLDEN.read_bytes()))
    assert dense_findings(tmp_path / "dense") == golden

if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        write_golden(Path(tmp) / "dense")
    print(f"wrote {GOLDEN}", file=sys.stderr)
