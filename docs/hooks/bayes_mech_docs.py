"""MkDocs hooks for the bayes-mech site (``hooks:`` in mkdocs.yml).

- The executed notebooks live in ``notebooks/`` and the benchmark reports in
  ``benchmarks/results/``; both are added to the site from there, so nothing is copied by hand and
  the site always shows what is committed (notebooks are rendered, never re-executed).
- ``<!-- cli-help -->`` in a page is replaced by the ``--help`` text of every ``bayes-mech``
  sub-command, taken from the argument parser itself, so the CLI reference cannot drift.
- ``<!-- benchmark-index -->`` is replaced by a list of the benchmark reports found.
- ``<!-- calibration-table -->`` is replaced by the table of ``benchmarks/results/
  calibration.json``, rendered by ``benchmarks/bench_calibration.py`` itself, so the concepts
  page shows the committed measurements and nothing typed by hand.
- ``<!-- selection-table -->`` is replaced by the report of ``benchmarks/results/
  selection.json`` (``benchmarks/bench_selection.py``'s own rendering).
- ``<!-- covariates-table -->`` is replaced by the report of ``benchmarks/results/
  covariates.json``, rendered by ``benchmarks/bench_covariates.py`` itself.
- ``<!-- pooling-table -->`` and ``<!-- pooling-calibration-table -->`` are replaced by the
  reports of ``benchmarks/results/pooling.json`` and ``calibration_pooling.json`` (a
  ``bench_calibration.py --partial-pooling`` run), each rendered by its benchmark.
- ``<!-- demo-table -->`` is replaced by the Table-1 summary of ``benchmarks/results/demo/
  results.json`` (the README's own block, from ``format_readme_summary``).
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
BENCHMARKS = ROOT / "benchmarks" / "results"
LINK = re.compile(r"(!?\[[^\]]*\])\(([^)\s]+)\)")


def _notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb")) if NOTEBOOKS.is_dir() else []


def _notebook_title(path: Path) -> str:
    import json

    for cell in json.loads(path.read_text(encoding="utf-8")).get("cells", []):
        if cell.get("cell_type") == "markdown":
            for line in "".join(cell.get("source", "")).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem.replace("_", " ")


def on_config(config):
    """List every committed notebook under "Notebooks" in the navigation."""
    for section in config["nav"] or []:
        if isinstance(section, dict) and "Notebooks" in section:
            entries = section["Notebooks"]
            listed = {next(iter(e.values())) if isinstance(e, dict) else e for e in entries}
            for path in _notebooks():
                uri = f"notebooks/{path.name}"
                if uri not in listed:
                    entries.append({_notebook_title(path): uri})
    return config


def _notebook_index() -> str:
    notebooks = _notebooks()
    if not notebooks:
        return "No notebook is committed yet.\n"
    return "".join(f"- [{_notebook_title(p)}]({p.name})\n" for p in notebooks)


def _benchmark_reports() -> list[Path]:
    return sorted(BENCHMARKS.glob("*.md")) if BENCHMARKS.is_dir() else []


def _add_tree(files: Files, src_dir: Path, pattern: str, config) -> None:
    """Add the files under ``src_dir`` at the same path relative to the repository root.

    (``src_dir=ROOT`` makes these ordinary files to every plugin, mkdocs-jupyter included.)
    """
    for path in sorted(src_dir.rglob(pattern)):
        if not path.is_file() or any(part.startswith(".") for part in path.parts):
            continue
        rel = path.relative_to(ROOT).as_posix()
        if files.get_file_from_path(rel) is None:
            files.append(
                File(
                    rel,
                    src_dir=str(ROOT),
                    dest_dir=config["site_dir"],
                    use_directory_urls=config["use_directory_urls"],
                )
            )


@event_priority(100)  # before mkdocs-jupyter wraps the notebooks
def on_files(files: Files, config) -> Files:
    if NOTEBOOKS.is_dir():
        _add_tree(files, NOTEBOOKS, "*.ipynb", config)
    if BENCHMARKS.is_dir():
        _add_tree(files, BENCHMARKS, "*", config)
    return files


def _cli_help() -> str:
    from bayes_mech.cli import build_parser

    parser = build_parser()
    blocks = [("bayes-mech", parser.format_help())]
    for action in parser._subparsers._group_actions if parser._subparsers else []:
        for name, sub in getattr(action, "choices", {}).items():
            blocks.append((f"bayes-mech {name}", sub.format_help()))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for title, text in blocks:
            print(f"### `{title}`\n\n```text\n{text.rstrip()}\n```\n")
    return out.getvalue()


def _benchmark_index() -> str:
    reports = _benchmark_reports()
    if not reports:
        return (
            '!!! note "No benchmark report committed yet"\n'
            "    The reports appear here as `benchmarks/results/*.md` are committed.\n"
        )
    lines = []
    for path in reports:
        title = path.stem.replace("_", " ")
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("# "):
                title = line[2:].strip()
                break
        lines.append(
            f"- [{title}](benchmarks/results/{path.name}) (`benchmarks/results/{path.name}`)"
        )
    return "\n".join(lines) + "\n"


def _neutralise_dead_links(markdown: str, page, files: Files) -> str:
    """Benchmark reports are written for GitHub; links to files outside the site become code."""
    base = Path(page.file.src_uri).parent

    def fix(match: re.Match) -> str:
        label, target = match.groups()
        if re.match(r"^[a-z]+:|^#|^/", target):
            return match.group(0)
        path = (base / target.split("#")[0]).as_posix()
        parts = []
        for part in path.split("/"):
            if part == "..":
                if parts:
                    parts.pop()
            elif part not in ("", "."):
                parts.append(part)
        if files.get_file_from_path("/".join(parts)) is not None:
            return match.group(0)
        return f"{label[1:-1] if not label.startswith('!') else label[2:-1]} (`{target}`)"

    return LINK.sub(fix, markdown)


def _rendered(name: str, formatter: str, results_name: str | None = None) -> str:
    """``benchmarks/bench_<name>.py``'s own ``formatter`` applied to ``results/<name>.json``
    (or to ``results/<results_name>.json``, another run of the same benchmark)."""
    import importlib.util
    import json

    results = BENCHMARKS / f"{results_name or name}.json"
    if not results.is_file():
        return f'!!! note "No {name} run committed yet"\n'
    spec = importlib.util.spec_from_file_location(
        f"bench_{name}", ROOT / "benchmarks" / f"bench_{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, formatter)(json.loads(results.read_text(encoding="utf-8")))


def _calibration_table() -> str:
    return _rendered("calibration", "format_table")


def _pooling_calibration_table() -> str:
    return _rendered("calibration", "format_table", "calibration_pooling")


def _pooling_table() -> str:
    return _rendered("pooling", "format_md").split("\n", 2)[-1]


def _selection_table() -> str:
    return _rendered("selection", "format_md").split("\n", 2)[-1]


def _covariates_table() -> str:
    # The report's own title line is dropped: the page has its heading.
    return _rendered("covariates", "format_md").split("\n", 2)[-1]


def _demo_table() -> str:
    import json

    from bayes_mech.experiments._report import format_readme_summary

    results = BENCHMARKS / "demo" / "results.json"
    if not results.is_file():
        return '!!! note "No demo run committed yet"\n'
    return format_readme_summary(json.loads(results.read_text(encoding="utf-8")))


#: Each ``<!-- marker -->`` in a page and the function whose text replaces it.
MARKERS = {
    "<!-- demo-table -->": _demo_table,
    "<!-- selection-table -->": _selection_table,
    "<!-- covariates-table -->": _covariates_table,
    "<!-- calibration-table -->": _calibration_table,
    "<!-- pooling-calibration-table -->": _pooling_calibration_table,
    "<!-- pooling-table -->": _pooling_table,
    "<!-- cli-help -->": _cli_help,
    "<!-- notebook-index -->": _notebook_index,
    "<!-- benchmark-index -->": _benchmark_index,
}


def on_page_markdown(markdown: str, page, config, files: Files) -> str:
    for marker, render in MARKERS.items():
        if marker in markdown:
            markdown = markdown.replace(marker, render())
    if page.file.src_uri.startswith("benchmarks/results/"):
        markdown = _neutralise_dead_links(markdown, page, files)
    return markdown
