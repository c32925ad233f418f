"""Every measured number in the docs pages is the one in its committed results file.

The tables of the pages are rendered from ``benchmarks/results/*.json`` when the site is built
(``docs/hooks/bayes_mech_docs.py``, ``MARKERS``); this file checks the figures quoted in the prose.
Each test reads a paragraph of a page, parses every figure from the phrase that states it,
compares it with the results file, rounded as the page prints it, and fails on any other number in
the paragraph that it does not know (the design constants it lists are not measurements).
"""

import re
import statistics
import warnings
from collections.abc import Iterable

from conftest import RESULTS, ROOT, calibration_khat, load_bench, numbers, results_json

DOCS = ROOT / "docs"
NUM = r"(\d+(?:\.\d+)?)"  # a figure as printed: 5, 0.13
#: Numbers the pages spell out.
WORDS = {
    w: i for i, w in enumerate("zero one two three four five six seven eight nine ten".split())
}


def _paragraph(page: str, start: str) -> str:
    """The paragraph of ``docs/<page>`` that begins with ``start``, on one line."""
    text = (DOCS / page).read_text(encoding="utf-8")
    begin = text.index(start)
    end = text.find("\n\n", begin)
    return " ".join(text[begin : end if end >= 0 else len(text)].split())


def _figures(paragraph: str, pattern: str) -> tuple[str, ...]:
    found = re.findall(pattern, paragraph)
    assert len(found) == 1, f"{pattern!r} is in the paragraph {len(found)} times:\n{paragraph}"
    return found[0] if isinstance(found[0], tuple) else (found[0],)


def _only(paragraph: str, checked: set[str], constants: Iterable[str] = ()) -> None:
    """No number in the paragraph is left unchecked (a new figure needs a check here)."""

    def plain(text: str) -> str:  # 5,000 -> 5000
        return re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)

    known = {plain(n) for n in checked | set(constants)}
    unchecked = set(numbers(plain(paragraph))) - known
    assert not unchecked, f"numbers with no results-file check: {sorted(unchecked)}\n{paragraph}"


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def _range(values: list[float], digits: int) -> tuple[str, str]:
    return f"{min(values):.{digits}f}", f"{max(values):.{digits}f}"


def test_index_headline_figures_come_from_the_demo_run():
    demo = results_json("demo/results")
    paragraph = _paragraph("index.md", "`bayes-mech demo` reproduces")
    (seeds,) = _figures(paragraph, r"mean ± sd over (\d+) seeds")
    assert int(seeds) == len(demo["config"]["seeds"])
    _only(paragraph, {seeds}, {"1"})  # "Table 1"

    a1 = demo["datasets"]["A.1"]["summary"]["metric"]
    paragraph = _paragraph("index.md", "Mechanism learning removes the confounder's tilt")
    (gain,) = _figures(paragraph, r"gains about (\w+) points where the confounding is gone")
    naive = a1["naive"]["nonconf"]["mean"]
    for method in ("cb", "cwgmm", "ensemble", "gformula"):
        assert round(a1[method]["nonconf"]["mean"] - naive) == WORDS[gain], method
    _only(paragraph, set())


def test_index_a2_figures_come_from_the_results_files():
    demo = results_json("demo/results")["datasets"]
    calibration = results_json("calibration")["summary"]
    paragraph = _paragraph("index.md", "On A.2 the library's default intervention grid")

    (slope,) = _figures(paragraph, rf"has slope ≈ {NUM} \(the estimand of")
    estimands = {f"{r['estimand_slope']:.2f}" for r in calibration if r["setting"] == "A.2-b1.5"}
    assert estimands == {slope}

    (population,) = _figures(paragraph, rf"3/6\.5 = {NUM} by the SCM")
    assert population == f"{3 / 6.5:.3f}"  # the SCM's value; tests/test_datasets.py samples it

    (naive,) = _figures(paragraph, rf"naive training \({NUM}, the mean over the seeds\)")
    slopes = [run["linear"]["naive"]["slope"] for run in demo["A.2"]["per_seed"]]
    assert naive == f"{statistics.mean(slopes):.3f}"

    (mse,) = _figures(paragraph, rf"the Bayesian ensemble reaches MSE {NUM} on the non-confounded")
    (mse_g,) = _figures(paragraph, rf"\(the g-formula ensemble\s+{NUM}\)")
    full = demo["A.2-full-range"]
    assert f"{full['summary']['metric']['ensemble']['nonconf']['mean']:.2f}" == mse
    assert f"{full['summary']['metric']['gformula']['nonconf']['mean']:.2f}" == mse_g

    (ess,) = _figures(paragraph, rf"min ESS/N {NUM} in the committed run")
    assert f"{min(r['weights']['min_ess_fraction'] for r in full['per_seed']):.4f}" == ess

    constants = {"95", "3", "6.5", "0.95"}  # the default grid, 3/6.5, the paper's grid
    _only(paragraph, {slope, population, naive, mse, mse_g, ess}, constants)


def test_diagnostics_ess_figures_come_from_the_accuracy_run():
    accuracy = results_json("accuracy")
    runs = accuracy["A.1"]["records"]
    paragraph = _paragraph("concepts/diagnostics.md", "is the number of equally weighted rows")

    n, seeds = _figures(paragraph, r"\(N = ([\d,]+), (\d+) seeds in `benchmarks/results/accuracy")
    assert _int(n) == accuracy["config"]["n_train"]
    assert int(seeds) == len(runs)

    low, high, rows_low, rows_high, of = _figures(
        paragraph,
        rf"ESS/N between {NUM} and {NUM} for the worse-served class: "
        r"(\d+)–(\d+) effective rows of ([\d,]+)",
    )
    point = [run["weights"]["cwgmm"]["min_ess_fraction"] for run in runs]
    assert (low, high) == _range(point, 3)
    assert _int(of) == accuracy["config"]["n_train"]
    assert (int(rows_low), int(rows_high)) == (
        round(min(point) * _int(n)),
        round(max(point) * _int(n)),
    )

    (worst,) = _figures(paragraph, rf"goes down to ESS/N {NUM}")
    assert worst == f"{min(run['weights']['ensemble']['min_ess_fraction'] for run in runs):.4f}"
    _only(paragraph, {n, seeds, low, high, rows_low, rows_high, of, worst})


def test_diagnostics_warning_example_is_what_the_function_prints():
    import torch

    from bayes_mech.exceptions import FrontDoorWeightWarning
    from bayes_mech.weights import warn_if_degenerate, weight_diagnostics

    paragraph = _paragraph("concepts/diagnostics.md", "`FrontDoorWeightWarning` is raised when")
    heavy, n = _figures(paragraph, r"where (\w+) of ([\d,]+) rows carry all the weight")
    lw = torch.zeros(1, 1, _int(n), dtype=torch.float64)
    lw[0, 0, : WORDS[heavy]] = 20.0  # the docstring's example
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_if_degenerate(weight_diagnostics(lw, interventions=[2.0]))
    (warning,) = [w for w in caught if issubclass(w.category, FrontDoorWeightWarning)]
    message = str(warning.message).splitlines()

    text = (DOCS / "concepts" / "diagnostics.md").read_text(encoding="utf-8")
    block = re.search(r"```text\n(.*?)```", text, flags=re.S).group(1).splitlines()
    assert block[:2] == message[:2]
    assert message[2].startswith(block[2].removesuffix("..."))


def test_gformula_figures_come_from_the_calibration_run():
    calibration = results_json("calibration")
    summary = calibration["summary"]

    def band(setting: str, *resamplers: str) -> tuple[str, str]:
        """The range over N of the band coverage of ``resamplers`` on ``setting``."""
        rows = [r for r in summary if r["setting"] == setting and r["resampler"] in resamplers]
        return _range([r["band"] for r in rows], 2)

    paragraph = _paragraph("concepts/gformula.md", "The front-door weights of [eq. (2)]")
    khat = _figures(paragraph, rf"near or above 1 \({NUM}–{NUM} in the calibration runs")
    assert khat == _range(calibration_khat("A.2-b1.5"), 2)
    _only(paragraph, set(khat), {"2", "1", "1.5"})  # eq. (2), "above 1", b = 1.5

    paragraph = _paragraph("concepts/gformula.md", "`benchmarks/bench_calibration.py` fits each")
    (rows,) = _figures(paragraph, r"trained on ([\d,]+) exact interventional rows")
    assert _int(rows) == calibration["config"]["estimand_rows"]
    (points,) = _figures(paragraph, r"the share of (\d+) fixed test points")
    assert int(points) == calibration["config"]["points"]
    bench, _ = load_bench("calibration")
    S = calibration["config"]["S"]
    (nominal,) = _figures(paragraph, rf"Its calibrated value is not 0.90 but about {NUM}")
    size, again = _figures(
        paragraph, rf"quantiles of S = (\d+) members holds it with probability {NUM}"
    )
    assert int(size) == S and nominal == again == f"{bench.band_nominal(S):.2f}"
    # the 5 %–95 % band; 0.90, 0.9 (S − 1) / (S + 1), S + 1 and 1 + 1/S are the formulas' own
    _only(paragraph, {rows, points, nominal, size}, {"5", "95", "0.90", "0.9", "1", "2"})

    paragraph = _paragraph("concepts/gformula.md", "What the measurements say")

    def spread_skill(setting: str, *resamplers: str) -> tuple[str, str]:
        rows = [r for r in summary if r["setting"] == setting and r["resampler"] in resamplers]
        return _range([r["spread_skill"] for r in rows], 2)

    found = {
        ("A.2-b1.5", "gformula"): rf"near its calibrated value \({NUM}–{NUM} over N; spread-skill "
        rf"{NUM}–{NUM}\)",
        ("A.2-b1.5", "bootstrap", "cwgmm"): rf"about half the points \({NUM}–{NUM}; spread-skill "
        rf"{NUM}–{NUM}:",
        ("A.1", "cwgmm"): rf"CW-GMM's band is near its calibrated value \({NUM}–{NUM}; "
        rf"spread-skill {NUM}–{NUM}\)",
        ("A.1", "gformula"): rf"the g-formula's is not \({NUM}–{NUM}; spread-skill {NUM}–{NUM}\)",
    }
    checked = set()
    for (setting, *resamplers), pattern in found.items():
        lo, hi, ss_lo, ss_hi = _figures(paragraph, pattern)
        assert (lo, hi) == band(setting, *resamplers), (setting, resamplers)
        assert (ss_lo, ss_hi) == spread_skill(setting, *resamplers), (setting, resamplers)
        checked |= {lo, hi, ss_lo, ss_hi}
    mc = _figures(paragraph, rf"Monte Carlo share of the members' variance at {NUM}–{NUM}")
    assert mc == _range([r["mc_share"] for r in summary if r["resampler"] == "auto"], 2)
    _only(paragraph, checked | set(mc), {"1.5"})  # b = 1.5


def test_choosing_k_figures():
    from bayes_mech.mixture._covariances import n_parameters

    paragraph = _paragraph("concepts/choosing-k.md", "`covariance_type` fixes the shape")
    d, k, full, spherical = _figures(
        paragraph,
        r"in (\d+) dimensions a (\d+)-component full mixture has ([\d,]+) free parameters, "
        r"a spherical one (\d+)",
    )
    # Arithmetic, not a measurement: the count the identified-K rule uses.
    assert _int(full) == n_parameters("full", int(k), int(d))
    assert _int(spherical) == n_parameters("spherical", int(k), int(d))
    _only(paragraph, {d, k, full, spherical}, {"1"})  # "K > 1"

    paragraph = _paragraph("concepts/choosing-k.md", "`benchmarks/bench_selection.py` fits every")
    sizes = _figures(paragraph, r"synthetic in (\d+) and\s+(\d+) dimensions")
    datasets = results_json("selection")["config"]["datasets"]
    assert {f"synth-{size}" for size in sizes} <= set(datasets)
    assert {"digits-raw", "digits-pca"} <= set(datasets)
    (clusters,) = _figures(paragraph, r"a (\d+)-cluster synthetic")
    report = (RESULTS / "selection.md").read_text(encoding="utf-8")
    assert f"{clusters} clusters per intervention value" in report
    summary = results_json("selection")["summary"]
    (gap,) = _figures(paragraph, rf"The default is at most {NUM} pt below the best fixed grid")
    gaps = [entry["gap_default"] for entry in summary.values()]
    assert len(gaps) == len(datasets) and gap == f"{max(0.0, -100 * min(gaps)):.2f}"
    found, seeds = _figures(paragraph, r"the true K in (\d+) of (\d+) seeds on each synthetic")
    for size in sizes:
        assert f"- synth-{size}, default: {found} of {seeds}" in report
    # "its test keeps the BIC with full covariances" on A.1 and the PCA digits, "switches" on
    # the others: the structures the default's fits report
    for name in datasets:
        kept = {t for pair in summary[name]["settings"]["default"]["structure"] for t in pair}
        assert (kept == {"full"}) == (name in ("A.1", "digits-pca")), (name, kept)
    # "over ten seconds per fit in 64 dimensions"
    assert summary["synth-64"]["settings"]["cv/auto"]["fit_s"] > 10
    _only(paragraph, {*sizes, clusters, gap, found, seeds}, {"8"})  # 8x8 digits


def test_user_guide_member_ranges_are_the_exchangeable_coverages():
    # Arithmetic and the harness's simulated value, not measurements of a fit.
    bench, _ = load_bench("calibration")
    paragraph = _paragraph("user-guide.md", "A range read off the members")
    (size,) = _figures(paragraph, r"quantiles of S = (\d+) members")
    S = int(size)
    (pct,) = _figures(paragraph, rf"hold it {NUM} % of the time, not 90 %")
    assert int(pct) == round(100 * bench.band_nominal(S))
    inner, inner_p = _figures(paragraph, rf"with probability (\d+)/{S + 1} = {NUM}")
    outer, outer_p = _figures(paragraph, rf"the smallest and largest (\d+)/{S + 1} = {NUM}")
    assert int(inner) == S - 3 and inner_p == f"{(S - 3) / (S + 1):.2f}"
    assert int(outer) == S - 1 and outer_p == f"{(S - 1) / (S + 1):.2f}"
    _only(
        paragraph,
        {size, pct, inner, inner_p, outer, outer_p, str(S + 1)},
        {"5", "95", "0.05", "0.95", "90", "1", "2"},
    )


def test_auto_rule_docstring_figures_come_from_the_calibration_run():
    import bayes_mech.resamplers.auto as auto

    calibration = results_json("calibration")
    text = " ".join(auto.__doc__.split())
    lo, hi = _figures(text, rf"b = 0.4`` \(k-hat {NUM}-{NUM} over the calibration runs\)")
    assert (lo, hi) == _range(calibration_khat("A.2-b0.4"), 2)
    rows = {
        (r["resampler"], r["N"]): r["spread_skill"]
        for r in calibration["summary"]
        if r["setting"] == "A.2-b0.4"
    }
    cw = _figures(text, rf"the CW-GMM's spread-skill was {NUM}-{NUM} at N >= 2000")
    assert cw == _range([v for (name, n), v in rows.items() if name == "cwgmm" and n >= 2000], 2)
    gf = _figures(text, rf"where the g-formula's was {NUM}-{NUM}")
    assert gf == _range([v for (name, _), v in rows.items() if name == "gformula"], 2)


def _bic_eff_auto_synthetic(paragraph: str, gaps: str, result: dict, name: str, sign=-1):
    """``"bic_eff"``/``"auto"``'s gaps in 32 and 64 dimensions (the pattern ``gaps``) and its
    true-K count as the paragraph states them, checked against ``result`` (results file
    ``name``) and its report. ``sign``: -1 where the paragraph states how far below the best
    fixed setting, +1 where how far above."""
    gap32, gap64 = _figures(paragraph, gaps)
    summary = result["summary"]
    assert (gap32, gap64) == tuple(
        f"{sign * 100 * summary[f'synth-{d}']['gap_bic_eff/auto']:.2f}" for d in (32, 64)
    )
    found, seeds = _figures(paragraph, r"true K in (\d+) of (\d+) seeds")
    report = (RESULTS / f"{name}.md").read_text(encoding="utf-8")
    for d in (32, 64):
        assert f"- synth-{d}, bic_eff/auto: {found} of {seeds}" in report
    return gap32, gap64, found, seeds, report


def test_choosing_k_six_seed_synthetic_figures():
    paragraph = _paragraph("concepts/choosing-k.md", "Over six seeds")
    result = results_json("selection_synth")
    summary = result["summary"]
    seeds_run = {r["seed"] for r in result["records"] if not r.get("true_k_only")}
    assert seeds_run == set(range(WORDS["six"]))
    eff32, eff64, found, seeds, report = _bic_eff_auto_synthetic(
        paragraph, rf"are {NUM} pt in 32 dimensions and {NUM} pt in 64", result, "selection_synth"
    )
    for d in (32, 64):
        assert f"- synth-{d}, bic/full: 0 of {seeds}" in report
    def32, def64 = _figures(paragraph, rf"the BIC's with full covariances are {NUM} and {NUM} pt")
    assert (def32, def64) == tuple(
        f"{-100 * summary[f'synth-{d}']['gap_bic/full']:.2f}" for d in (32, 64)
    )
    k1 = (
        summary["synth-32"]["settings"]["bic/full"]["k"]
        + summary["synth-64"]["settings"]["bic/full"]["k"]
    )
    assert {k for pair in k1 for k in pair} == {1}  # "K = 1 in every seed"
    diag4, tied4, diag8 = _figures(
        paragraph,
        rf"four diagonal components \(the generating structure\) train a classifier to {NUM} %, "
        rf"four tied ones to {NUM} % and eight diagonal ones to {NUM} %",
    )
    settings = summary["synth-64"]["settings"]
    assert summary["synth-64"]["best_fixed"] == "K=4/tied"
    assert (diag4, tied4, diag8) == tuple(
        f"{100 * settings[key]['accuracy']:.2f}" for key in ("K=4/diag", "K=4/tied", "K=8/diag")
    )
    _only(paragraph, {eff32, eff64, found, seeds, def32, def64, diag4, tied4, diag8, "1"},
          {"32", "64"})  # fmt: skip


def test_user_guide_auto_rule_thresholds_are_the_code_s():
    from bayes_mech.resamplers.auto import FINITE_VARIANCE_KHAT
    from bayes_mech.weights import MAX_KHAT

    paragraph = _paragraph("user-guide.md", "- `resampler`: how deconfounded rows are drawn.")
    finite, usable = re.findall(rf"k-hat at most {NUM}", paragraph)
    assert (float(finite), float(usable)) == (FINITE_VARIANCE_KHAT, MAX_KHAT)


def test_cwgmm_pooling_figures_come_from_the_pooling_run():
    result = results_json("pooling")
    row = result["summary"]["64"]
    paragraph = _paragraph("concepts/cwgmm.md", "Each value's CW-GMM estimates")
    assert len(result["config"]["seeds"]) == WORDS["three"]
    exact, fitted, unmoved, props, variances = _figures(
        paragraph,
        rf"scores {NUM} %, from the fitted mixtures {NUM} %, and from the true model with only the "
        rf"fitted means of the 62 unmoved features swapped in {NUM} %; the fitted proportions "
        rf"\({NUM} %\) and variances \({NUM} %\)",
    )
    keys = ("exact", "fitted mixture", "fitted means, unmoved features", "fitted proportions",
            "fitted variances")  # fmt: skip
    assert (exact, fitted, unmoved, props, variances) == tuple(f"{100 * row[k]:.2f}" for k in keys)
    _only(paragraph, {exact, fitted, unmoved, props, variances}, {"64", "4", "62"})
    paragraph = _paragraph("concepts/cwgmm.md", "On the same data the learner")
    own, pooled = _figures(paragraph, rf"scores {NUM} % without pooling and {NUM} % with it")
    assert (own, pooled) == tuple(
        f"{100 * row[k]:.2f}" for k in ("learner", "learner, partial pooling")
    )
    _only(paragraph, {own, pooled}, {"1", "2"})  # A.1; tau_j^2


def test_choosing_k_pooling_figures_come_from_the_pooled_selection_run():
    pooled = results_json("selection_pooling")
    summary = pooled["summary"]
    paragraph = _paragraph("concepts/choosing-k.md", "With `partial_pooling=True` the same runs")
    parts = {p["datasets"][0]: p["seeds"] for p in pooled["config"]["parts"]}
    assert parts == {"synth-32": WORDS["six"], "A.1": WORDS["two"]}
    gap32, gap64, found, seeds, _ = _bic_eff_auto_synthetic(
        paragraph,
        rf"{NUM} pt\s+below the best fixed grid point in 32 dimensions and {NUM} pt below it in 64",
        pooled,
        "selection_pooling",
    )
    (a1,) = _figures(paragraph, rf"{NUM} pt below it on A.1")
    assert a1 == f"{-100 * summary['A.1']['gap_bic_eff/auto']:.2f}"
    assert all(summary[d]["gap_bic_eff/auto"] == 0 for d in ("digits-raw", "digits-pca"))
    (best,) = _figures(paragraph, rf"four diagonal components,\s+at {NUM} %")
    assert summary["synth-64"]["best_fixed"] == "K=4/diag"
    assert best == f"{100 * summary['synth-64']['settings']['K=4/diag']['accuracy']:.2f}"
    timed = results_json("selection_s32")
    assert timed["config"]["S"] == 32 and timed["config"]["seeds"] == WORDS["three"]
    a1_eff, a1_default, eff_s, default_s = _figures(
        paragraph,
        rf"took {NUM} s per fit against the BIC's {NUM}\s+s on A.1, and {NUM} s against {NUM} s "
        rf"on the raw digits",
    )
    for name, (eff, default) in (("digits-raw", (eff_s, default_s)), ("A.1", (a1_eff, a1_default))):
        settings = timed["summary"][name]["settings"]
        assert (eff, default) == tuple(
            f"{settings[k]['fit_s']:.1f}" for k in ("bic_eff/auto", "bic/full")
        )
    calibrated = results_json("calibration_selection")
    assert calibrated["config"]["partial_pooling"] and calibrated["config"]["reps"] == 20
    assert (calibrated["config"]["n_components"], calibrated["config"]["covariance_type"]) == (
        "bic_eff",
        "auto",
    )
    *bands, n1, n2, n3 = _figures(
        paragraph,
        rf"estimand at {NUM}, {NUM} and {NUM} of the test points at N = (\d+), (\d+) and (\d+)",
    )
    rows = {r["N"]: r for r in calibrated["summary"] if r["setting"] == "A.1"}
    assert tuple(bands) == tuple(f"{rows[int(n)]['band']:.2f}" for n in (n1, n2, n3))
    (mc,) = _figures(paragraph, rf"and {NUM} of their\s+variance at N = 5000 is Monte Carlo")
    assert mc == f"{rows[5000]['mc_share']:.2f}"
    with_p, without = _figures(paragraph, rf"{NUM} % with pooling, {NUM} % without")
    unpooled = results_json("selection_synth")["summary"]["synth-64"]["settings"]["bic/full"]
    assert with_p == f"{100 * summary['synth-64']['settings']['bic/full']['accuracy']:.2f}"
    assert without == f"{100 * unpooled['accuracy']:.2f}"
    assert {k for pair in unpooled["k"] for k in pair} == {1}  # "one full component"
    stated = {gap32, gap64, found, seeds, a1, best, eff_s, default_s, a1_eff, a1_default, with_p,
              without, *bands, n1, n2, n3, mc}  # fmt: skip
    _only(paragraph, stated, {"32", "64", "20", "90", "1"})  # 32 draws; "K > 1"


def test_cwgmm_pooling_calibration_figures():
    pooled, default = results_json("calibration_pooling"), results_json("calibration")

    def row(result, n):
        (found,) = [
            r for r in result["summary"]
            if r["setting"] == "A.1" and r["N"] == n and r["resampler"] == "auto"
        ]  # fmt: skip
        return found

    def ratio(result):
        (found,) = [
            c for c in result["contraction"] if c["setting"] == "A.1" and c["resampler"] == "auto"
        ]
        return f"{found['ratio']:.2f}"

    paragraph = _paragraph("concepts/cwgmm.md", "The band covers the estimand more often")
    *with_p, n1, n2, n3 = _figures(paragraph, rf"often than without pooling, {NUM}, {NUM} and "
                                   rf"{NUM} at N = (\d+),\s*(\d+) and (\d+)")  # fmt: skip
    sizes = (int(n1), int(n2), int(n3))
    without = _figures(paragraph, rf"against {NUM}, {NUM} and {NUM}, but")
    assert tuple(with_p) == tuple(f"{row(pooled, n)['band']:.2f}" for n in sizes)
    assert without == tuple(f"{row(default, n)['band']:.2f}" for n in sizes)
    mc_without, mc_with = _figures(paragraph, rf"variance rises from {NUM} to {NUM}")
    assert mc_without == f"{row(default, 5000)['mc_share']:.2f}"
    assert mc_with == f"{row(pooled, 5000)['mc_share']:.2f}"
    c_with, c_without = _figures(paragraph, rf"contracts {NUM}x from N = 1000 to 5000\s+"
                                 rf"against {NUM}x")  # fmt: skip
    assert (c_with, c_without) == (ratio(pooled), ratio(default))
    # Constant below: the "1" that numbers() reads off "1.79x".
    _only(paragraph, {*with_p, *without, n1, n2, n3, mc_without, mc_with, c_with, c_without,
                      "5000", "1000"}, {"2", "1"})  # fmt: skip


def test_choosing_k_rule_figures_come_from_the_rule_check():
    result = results_json("selection_rule")
    summary = result["summary"]
    paragraph = _paragraph("concepts/choosing-k.md", "A choice of structures (a list")
    cfg = result["config"]
    assert cfg["partial_pooling"] and cfg["S"] == 32 and cfg["seeds"] == WORDS["three"]
    (later,) = _figures(paragraph, r"of the (\d+) later\s+draws per data set")
    assert {e["later"] for e in summary.values()} == {int(later)}
    low, low_set, high, high_set = _figures(
        paragraph, r"between (\d+) \(([^)]+)\) and (\d+) \(([^)]+)\) would have chosen"
    )
    names = {"A.1": "A.1", "digits-raw": "the raw digits", "digits-pca": "the PCA digits",
             "synth-32": "32 dimensions", "synth-64": "64 dimensions"}  # fmt: skip
    counts = {name: e["outside"] for name, e in summary.items()}
    assert (int(low), int(high)) == (min(counts.values()), max(counts.values()))
    assert low_set == " and ".join(names[n] for n, c in counts.items() if c == int(low))
    assert high_set == " and ".join(names[n] for n, c in counts.items() if c == int(high))
    (acc,) = _figures(paragraph, rf"differ by at most {NUM} pt on any data set")
    worst = max(abs(e["accuracy_full"] - e["accuracy_rule"]) for e in summary.values())
    assert acc == f"{100 * worst:.2f}"
    named = set(numbers(f"{low_set} {high_set}"))  # "64 dimensions" names a data set
    _only(paragraph, {later, low, high, acc, *named}, {"32", "1"})  # 32 draws; K > 1


def test_choosing_k_time_ratio_figures_come_from_the_interleaved_run():
    result = results_json("time_ratio")
    paragraph = _paragraph("concepts/choosing-k.md", "Against the default before this choice")
    (rev,) = _figures(paragraph, r"revision ([0-9a-f]{7}), one K")
    assert result["config"]["baseline_desc"].startswith(rev)
    (seeds,) = _figures(paragraph, r"in fresh processes, (\d+) seeds")
    assert int(seeds) == result["config"]["seeds"] and result["config"]["n_draws"] == 32
    assert result["config"]["threads"] == 1
    a1, digits = _figures(paragraph, rf"takes {NUM} times as long on A.1 and {NUM} times")
    ratios = {n: e["default"]["median_ratio"] for n, e in result["summary"].items()}
    assert (a1, digits) == (f"{ratios['A.1']:.1f}", f"{ratios['digits-raw']:.1f}")
    # "the target of at most twice is met on A.1 and missed on the raw digits"
    assert "met on A.1 and missed on the raw digits" in paragraph
    assert ratios["A.1"] <= 2 < ratios["digits-raw"]
    # 32 draws; "K = 1"; the raw 8x8 digits' 64 pixels
    _only(paragraph, {rev, seeds, a1, digits}, {"32", "1", "64"})
