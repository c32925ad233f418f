"""The demo's driver, :func:`run_demo`: every Table-1 row over every seed, then the files.

Writes ``results.json``, ``table.md``, the figures and each row's saved ensemble with its model
card; ``bayes-mech demo`` calls it.
"""

from __future__ import annotations

import datetime
import json
import os
import time
from dataclasses import asdict
from pathlib import Path

from tqdm.auto import tqdm

from bayes_mech.experiments._config import (
    METHODS,
    MODEL_NAMES,
    PAPER_TABLE1,
    DemoConfig,
    _tasks,
    demo_config,
)
from bayes_mech.experiments._provenance import (
    _card,
    _cpu_seconds,
    _git_state,
    _json_default,
    _machine,
    save_model,
    versions,
)
from bayes_mech.experiments._report import _fmt, _summarise, format_table
from bayes_mech.experiments._run import run_task


def run_demo(
    out_dir="results",
    *,
    config: DemoConfig | None = None,
    mnist_dir=None,
    models_dir="models",
    progress: bool = True,
    figures: bool = True,
    log=print,
) -> dict:
    """Reproduce Table 1 and write ``table.md``, ``results.json``, figures and models.

    Parameters
    ----------
    out_dir : path-like, default="results"
    config : DemoConfig, optional
        Default :func:`demo_config` ``()`` (the full run).
    mnist_dir : path-like, optional
        Folder with MNIST's training IDX files; A.3 then uses MNIST instead of the 8x8 digits.
    models_dir : path-like or None, default="models"
        Where each dataset's fitted ensemble (seed ``config.seeds[0]``) is saved with a model
        card; ``None`` saves nothing.
    progress : bool, default=True
    figures : bool, default=True
    log : callable, default=print
        Receives one line per finished dataset.

    Returns
    -------
    dict
        What ``results.json`` holds.

    Examples
    --------
    >>> import tempfile
    >>> res = run_demo(tempfile.mkdtemp(), config=demo_config(quick=True),
    ...                models_dir=None, progress=False)  # doctest: +SKIP
    >>> sorted(res["datasets"])  # doctest: +SKIP
    ['A.1', 'A.2', 'A.3']
    """
    cfg = demo_config() if config is None else config
    out = Path(os.fspath(out_dir))
    tasks = {k: v for k, v in _tasks(cfg, mnist_dir).items() if k in cfg.tasks}
    out.mkdir(parents=True, exist_ok=True)
    start, cpu_start = time.perf_counter(), _cpu_seconds()
    results = {
        "title": "Mao & Little (2024) Table 1, reproduced by bayes-mech",
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "versions": versions(),
        "git": _git_state(),
        "config": asdict(cfg),
        "paper_table1": PAPER_TABLE1,
        "datasets": {},
        "models": {},
        "figures": [],
        "timings_s": {},
    }
    total = len(tasks) * len(cfg.seeds) * len(METHODS)
    bar = tqdm(total=total, desc="bayes-mech demo", disable=not progress)
    first_fits = {}
    try:
        for key, task in tasks.items():
            t0 = time.perf_counter()
            records, k = [], None
            for seed in cfg.seeds:
                record, fitted = run_task(task, cfg, seed, bar, n_components=k)
                k = fitted["n_components"]  # chosen once (first seed), then fixed
                records.append(record)
                if seed == cfg.seeds[0]:
                    first_fits[key] = (fitted, record)
            results["datasets"][key] = {
                "title": task.title,
                "kind": task.kind,
                "metric": task.metric,
                "data": task.data_note,
                "estimator": repr(task.estimator()),
                "per_seed": records,
                "summary": _summarise(records),
                "paper": PAPER_TABLE1.get(key) or None,
                "n_components": k,
                **task.extra,
            }
            results["timings_s"][key] = time.perf_counter() - t0
            s = results["datasets"][key]["summary"]["metric"]
            log(
                f"{key} {task.title}: "
                + ", ".join(
                    f"{METHODS[m]} {_fmt(s[m]['nonconf'], task.kind)} / "
                    f"{_fmt(s[m]['conf'], task.kind)}"
                    for m in METHODS
                )
            )
    finally:
        bar.close()
    if models_dir is not None:
        for key, (fitted, record) in first_fits.items():
            if key not in MODEL_NAMES:
                continue  # a variant row: its model would repeat its base row's
            task, seed = tasks[key], cfg.seeds[0]
            path = save_model(
                fitted["ensemble"],
                Path(os.fspath(models_dir)) / MODEL_NAMES[key],
                _card(task, cfg, seed, fitted, record),
            )
            results["models"][key] = str(path)
    if figures:
        from bayes_mech import _demo_figures

        results["figures"] = [
            str(p) for p in _demo_figures.make_figures(out, first_fits, cfg.seeds[0])
        ]
    results["timings_s"]["total"] = time.perf_counter() - start
    if cfg.n_jobs not in (None, 1):
        # Stop joblib's worker processes so that their CPU time is counted (RUSAGE_CHILDREN only
        # sees children that have exited); the next Parallel call starts new ones.
        from joblib.externals.loky import get_reusable_executor

        get_reusable_executor().shutdown(wait=True)
    # CPU seconds of this process and its finished workers: unlike wall time, not inflated when
    # other jobs share the machine, so it bounds the wall time on an idle machine of >= 1 core.
    results["timings_s"]["cpu"] = _cpu_seconds() - cpu_start
    (out / "results.json").write_text(json.dumps(results, indent=2, default=_json_default))
    (out / "table.md").write_text(format_table(results))
    return results
