"""Static checks of the committed notebooks (CI executes them in smoke mode through nbmake).

The notebooks are built from ``notebooks/src/*.py`` (jupytext percent format) by
``notebooks/build.py`` and committed with the outputs of a full run. These tests make sure the
committed outputs belong to the committed source, that the full run finished without an error,
that each notebook stays under 2 MB, and that each one has a smoke mode and checks its result.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SOURCES = sorted((NOTEBOOKS / "src").glob("*.py"))
MAX_BYTES = 2_000_000
MARKER = re.compile(r"^# %%(.*)$")


def _code_cells_of_source(path: Path) -> list[str]:
    """Code cells of a percent-format script, as jupytext writes them (outer blank lines cut)."""
    cells, kind, lines = [], None, []
    for line in [*path.read_text(encoding="utf-8").splitlines(), "# %% end"]:
        match = MARKER.match(line)
        if match is None:
            lines.append(line)
            continue
        if kind == "code":
            text = "\n".join(lines).strip("\n")
            if text.strip():
                cells.append(text)
        kind = "markdown" if "[markdown]" in match.group(1) else "code"
        lines = []
    return cells


def _notebook(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def test_there_are_notebooks():
    assert SOURCES, "no notebook sources in notebooks/src"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_notebook_matches_its_source(source):
    target = NOTEBOOKS / f"{source.stem}.ipynb"
    assert target.is_file(), f"{target.name} missing: run python notebooks/build.py {source.stem}"
    built = ["".join(c["source"]).strip("\n") for c in _code_cells(_notebook(target))]
    assert built == _code_cells_of_source(source), (
        f"{target.name} is out of date with notebooks/src/{source.name}; rebuild it with "
        f"python notebooks/build.py {source.stem[:2]}"
    )


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_notebook_committed_executed_and_small(source):
    target = NOTEBOOKS / f"{source.stem}.ipynb"
    assert target.stat().st_size < MAX_BYTES, f"{target.name}: {target.stat().st_size} bytes"
    cells = _code_cells(_notebook(target))
    counts = [c.get("execution_count") for c in cells]
    assert all(isinstance(n, int) for n in counts), f"{target.name}: unexecuted cells {counts}"
    assert counts == sorted(counts), f"{target.name}: cells executed out of order {counts}"
    errors = [o for c in cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{target.name}: committed with an error output: {errors[0].get('ename')}"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_notebook_has_smoke_mode_and_checks_its_result(source):
    code = "\n".join(_code_cells_of_source(source))
    assert 'os.environ.get("BAYES_MECH_SMOKE") == "1"' in code, f"{source.name}: no smoke mode"
    assert re.search(r"^assert ", code, re.MULTILINE) or re.search(
        r"^\s+assert ", code, re.MULTILINE
    ), f"{source.name}: no assert on its key result"
