"""The README's quick start runs, and every value it prints in a comment is what it gives."""

import ast
import re
import warnings
from pathlib import Path

import pytest
from conftest import RESULTS, calibration_khat, load_bench, numbers, results_json

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks(language: str, after: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(after) :]
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.S)


def _literal(comment: str):
    """The value a ``# value`` comment states, or None when the comment is prose."""
    try:
        return ast.literal_eval(comment.strip())
    except (ValueError, SyntaxError):
        return None


@pytest.fixture(scope="module")
def quick_start():
    code = _blocks("python", "## Quick start")[0]
    namespace: dict = {}
    checks = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the block itself says it warns
        for line in code.splitlines():
            statement, _, comment = line.partition("  # ")
            if not statement.strip() or statement.startswith("print("):
                continue
            expected = _literal(comment) if comment else None
            if expected is None:
                exec(statement, namespace)
            else:
                checks.append((statement, eval(statement, namespace), expected))
    return namespace, checks


def test_quick_start_values_are_what_it_prints(quick_start):
    _, checks = quick_start
    assert len(checks) >= 3
    for statement, got, expected in checks:
        assert got == expected, f"README: {statement} -> {expected!r}, but it gives {got!r}"


def test_quick_start_summary_lines(quick_start):
    namespace, _ = quick_start
    quoted = _blocks("text", "## Quick start")[0].rstrip("\n").splitlines()
    summary = namespace["learner"].summary().splitlines()
    assert summary[: len(quoted)] == quoted


def test_calibration_table_is_rendered_from_the_results_file():
    bench, result = load_bench("calibration")
    text = README.read_text(encoding="utf-8")
    block = text[text.index(bench.README_START) : text.index(bench.README_END)]
    assert block.strip() == (bench.README_START + "\n" + bench.readme_table(result)).strip()


def test_demo_table_is_rendered_from_the_committed_run():
    from bayes_mech.experiments._report import format_readme_summary

    results = results_json("demo/results")
    text = README.read_text(encoding="utf-8")
    block = text[text.index("<!-- demo:start -->") : text.index("<!-- demo:end -->")]
    assert block.strip() == ("<!-- demo:start -->\n" + format_readme_summary(results)).strip()


def test_bad_input_counts_match_the_catalogue():
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    import test_bad_inputs

    text = README.read_text(encoding="utf-8")
    found = re.search(
        r"checks (\d+) such cases across the Python API and (\d+) in the command", text
    )
    assert found is not None
    assert int(found.group(1)) == len(test_bad_inputs.CASES)
    assert int(found.group(2)) == len(test_bad_inputs.CLI_CASES)


def test_mixture_table_is_rendered_from_the_results_file():
    bench, saved = load_bench("mixture")
    text = README.read_text(encoding="utf-8")
    block = text[text.index(bench.README_START) : text.index(bench.README_END)]
    assert block.strip() == (bench.README_START + "\n" + bench.readme_summary(saved)).strip()


def _section(start: str, end: str) -> str:
    text = README.read_text(encoding="utf-8")
    return text[text.index(start) : text.index(end)]


def test_benchmark_figures_appear_in_their_results_files():
    """Every number in a Benchmarks bullet occurs in the results file(s) that bullet names."""
    section = _section("## Benchmarks", "## Limits and guarantees")
    start, end = section.index("<!-- mixture:start -->"), section.index("<!-- mixture:end -->")
    section = section[:start] + section[end:]  # rendered from its results file, tested below
    checked = 0
    for bullet in re.split(r"\n- ", section):
        files = re.findall(r"benchmarks/results/([\w/]+\.md)", bullet)
        if not files:
            continue
        blob = ""
        for name in files:
            blob += (RESULTS / name).read_text(encoding="utf-8")
            if (RESULTS / name).with_suffix(".json").exists():
                blob += (RESULTS / name).with_suffix(".json").read_text(encoding="utf-8")
        missing = [n for n in numbers(bullet) if n not in blob]
        assert not missing, f"{files}: {missing} are not in the results file"
        checked += len(numbers(bullet))
    assert checked > 20
    scale = _section("### Measured at scale", "## Development")
    blob = (RESULTS / "scale.md").read_text() + (RESULTS / "scale.json").read_text()
    assert [n for n in numbers(scale) if n not in blob] == []


def test_about_a2_figures_come_from_the_results_files():
    paragraph = _section("**About A.2.**", "With `b = 0.4` every sampler")
    a2 = results_json("demo/results")["datasets"]["A.2"]["summary"]["metric"]
    found = re.search(r"scores (\d\.\d+) against naive (\d\.\d+)", paragraph)
    assert found, paragraph
    assert found.groups() == tuple(f"{a2[m]['nonconf']['mean']:.3f}" for m in ("gformula", "naive"))
    khat = calibration_khat("A.2-b1.5")
    assert f"{min(khat):.2f}–{max(khat):.2f}" in paragraph
    table = (RESULTS / "calibration.md").read_text(encoding="utf-8")
    assert all(f"/ {v}" in table for v in ("0.126", "0.127"))


def test_known_limits_pooling_claim_holds_in_the_pooled_selection_run():
    """'with partial_pooling=True ... within 0.3 pt of the best fixed setting on every data set
    of the benchmark, and so do the defaults': the target's own constant and every data set's
    gap in the results, of the pooled pairing and of the default."""
    section = _section("### Known limits", "## Development")
    (gap,) = re.findall(r"`partial_pooling=True`.*?within (\d+(?:\.\d+)?) pt", section, re.S)
    bench, _ = load_bench("selection")
    assert float(gap) == 100 * bench.TARGET_GAP
    pooled = results_json("selection_pooling")
    assert pooled["config"]["partial_pooling"]
    assert set(pooled["summary"]) == set(bench.DATASETS)  # every data set of the benchmark
    for name, entry in pooled["summary"].items():
        assert entry["gap_bic_eff/auto"] >= -bench.TARGET_GAP, name
    assert "and so do the defaults" in section
    selection = results_json("selection")["summary"]
    assert set(selection) == set(bench.DATASETS)
    for name, entry in selection.items():
        assert entry["gap_default"] >= -bench.TARGET_GAP, name
