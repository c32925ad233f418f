"""Build the notebooks from their sources in ``notebooks/src/`` (jupytext percent format).

    python notebooks/build.py                 # convert and execute every notebook (full mode)
    python notebooks/build.py 01 03           # only the notebooks whose names start so
    python notebooks/build.py --no-execute    # convert only
    python notebooks/build.py --text-only 03  # take new Markdown, keep the committed outputs
                                              # (refused if any code cell changed)

Executed notebooks are committed with their outputs; the documentation renders them without
re-executing. CI runs them again in smoke mode (``BAYES_MECH_SMOKE=1``) through nbmake.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
MAX_BYTES = 2_000_000


def _code(nb) -> list[str]:
    return [c.source.strip("\n") for c in nb.cells if c.cell_type == "code"]


def refresh_text(source: Path) -> Path:
    """Rewrite the Markdown cells from the source, keeping the outputs of the committed run."""
    nb = jupytext.read(source)
    target = HERE / f"{source.stem}.ipynb"
    old = nbformat.read(target, as_version=4)
    if _code(nb) != _code(old):
        sys.exit(f"{source.name}: code cells changed since the last run; execute it instead")
    old_code = iter(c for c in old.cells if c.cell_type == "code")
    for cell in nb.cells:
        if cell.cell_type == "code":
            done = next(old_code)
            cell.outputs, cell.execution_count = done.outputs, done.execution_count
    nb.metadata = old.metadata
    nbformat.write(nb, target)
    print(f"{target.name}: text refreshed")
    return target


def build(source: Path, execute: bool, timeout: int) -> Path:
    nb = jupytext.read(source)
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    target = HERE / f"{source.stem}.ipynb"
    if execute:
        env_smoke = os.environ.pop("BAYES_MECH_SMOKE", None)
        start = time.perf_counter()
        try:
            NotebookClient(
                nb,
                timeout=timeout,
                kernel_name="python3",
                resources={"metadata": {"path": str(HERE)}},
            ).execute()
        finally:
            if env_smoke is not None:
                os.environ["BAYES_MECH_SMOKE"] = env_smoke
        print(f"{source.stem}: executed in {time.perf_counter() - start:.0f} s")
        for cell in nb.cells:
            cell.metadata.pop("execution", None)
    nbformat.write(nb, target)
    size = target.stat().st_size
    print(f"{target.name}: {size / 1e6:.2f} MB")
    if size > MAX_BYTES:
        sys.exit(f"{target.name} is {size / 1e6:.2f} MB, over the 2 MB limit")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="name prefixes, e.g. 01 05")
    parser.add_argument("--no-execute", action="store_true")
    parser.add_argument("--text-only", action="store_true")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    args = parser.parse_args()
    sources = sorted((HERE / "src").glob("*.py"))
    if args.only:
        sources = [s for s in sources if any(s.stem.startswith(p) for p in args.only)]
    for source in sources:
        if args.text_only:
            refresh_text(source)
        else:
            build(source, execute=not args.no_execute, timeout=args.timeout)


if __name__ == "__main__":
    main()
