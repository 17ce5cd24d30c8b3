"""The code base stays ruff-clean (configuration in pyproject.toml)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_check_is_clean():
    # No skip: ruff comes with the 'test' extra, and it runs as a module of this
    # interpreter, so a missing ruff fails here ("No module named ruff").
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "wormsk", "tests", "examples",
         "benchmarks"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
