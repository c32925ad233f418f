"""Provenance and saving: package versions, git state, machine and CPU time, model cards.

:func:`save_model` writes a fitted learner with ``bm.load``-compatible files plus a
``model_card.json``; ``_card`` builds the demo's card for one Table-1 row.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
from pathlib import Path

import numpy as np

from bayes_mech._cpuinfo import cpuinfo_field
from bayes_mech._version import __version__
from bayes_mech.experiments._config import DemoConfig, Task


def versions() -> dict:
    """Versions of the packages that decide the numbers.

    Examples
    --------
    >>> sorted(versions())
    ['bayes_mech', 'numpy', 'pyro', 'python', 'scikit-learn', 'torch']
    """
    import pyro
    import sklearn
    import torch

    return {
        "bayes_mech": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "pyro": pyro.__version__,
        "scikit-learn": sklearn.__version__,
    }


def _git_state() -> dict | None:
    """Commit and dirtiness of the source tree, when it is a git checkout (else None)."""
    import subprocess

    root = Path(__file__).resolve().parents[2]  # the checkout holding bayes_mech/
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "bayes_mech"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if head.returncode != 0:
        return None
    return {"commit": head.stdout.strip(), "uncommitted_changes": bool(status.stdout.strip())}


def _cpu_seconds() -> float:
    import resource

    own, children = (
        resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux), else the platform's processor string.

    Speed ratios hold for the CPU they ran on, so every results file names it.
    """
    return cpuinfo_field("model name") or platform.processor() or platform.machine()


#: The instruction-set extensions that decide BLAS and torch kernels' speed on x86 and ARM.
SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "amx_tile",
              "neon", "asimd", "sve")  # fmt: skip


def _cpu_flags() -> list[str]:
    """The CPU's SIMD extensions among :data:`SIMD_FLAGS` (``/proc/cpuinfo``; empty elsewhere)."""
    present = set((cpuinfo_field("flags", "Features") or "").split())
    return [flag for flag in SIMD_FLAGS if flag in present]


def _blas() -> list[dict]:
    """The BLAS/OpenMP libraries loaded in this process, their versions and thread counts."""
    from threadpoolctl import threadpool_info

    keys = ("user_api", "internal_api", "version", "num_threads", "architecture")
    return [{k: lib.get(k) for k in keys if lib.get(k) is not None} for lib in threadpool_info()]


def _machine() -> dict:
    import torch

    cores = os.cpu_count()
    info = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_model": _cpu_model(),
        "cpu_flags": _cpu_flags(),
        "cpu_count": cores,
        # Ratios against numpy/scikit-learn depend on the BLAS they ran on and its threads.
        "blas": _blas(),
        "thread_env": {
            k: os.environ.get(k)
            for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
        },
        "torch_threads": torch.get_num_threads(),
        # Wall times are only comparable between runs on an equally quiet machine.
        "load_average": [round(x, 2) for x in os.getloadavg()]
        if hasattr(os, "getloadavg")
        else None,
    }
    info["summary"] = (
        f"{info['cpu_model']} ({platform.machine()}), {cores} cores, "
        f"{info['torch_threads']} torch threads"
    )
    return info


def use_threads(n_threads: int) -> None:
    """Give torch, OpenMP and the BLAS libraries ``n_threads`` threads (benchmarks: the thread
    count is part of what a timing means, and the results file records it)."""
    import torch

    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n_threads)
    torch.set_num_threads(n_threads)


def run_record(config: dict, argv: list[str]) -> dict:
    """The head of a benchmark's results file: command, date, machine, versions, config."""
    import sys

    return {
        "command": " ".join([Path(sys.executable).name, *argv]),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": _machine(),
        "versions": versions(),
        "config": config,
        "records": [],
    }


def write_results(result: dict, text: str, out: Path) -> None:
    """A benchmark's report ``out`` (Markdown ``text``) and its JSON beside it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    out.write_text(text)
    print(f"wrote {out} (.json)")


def save_model(learner, path, card: dict) -> Path:
    """Save a fitted learner with ``bm.load``-compatible files plus ``model_card.json``.

    ``bayes_mech.io.load`` checksums only its own files and ignores the card, so the card can be
    read (and edited) without invalidating the model.

    Parameters
    ----------
    learner : MechanismLearner
        Fitted.
    path : path-like
        Model directory (created if needed).
    card : dict
        JSON-ready description: name, data, columns, parameters, metrics. ``format``,
        ``card_version``, ``created`` and ``versions`` are added.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> save_model(learner, "models/mine", {"name": "mine"})  # doctest: +SKIP
    PosixPath('models/mine')
    """
    path = learner.save(path)
    full = {
        "format": "bayes-mech/model-card",
        "card_version": 1,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "versions": versions(),
        **card,
    }
    (Path(path) / "model_card.json").write_text(json.dumps(full, indent=2, default=_json_default))
    return Path(path)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return repr(value)


def _card(task: Task, cfg: DemoConfig, seed: int, fitted: dict, record: dict) -> dict:
    learner = fitted["ensemble"]
    d = fitted["train"].X.shape[1]
    effect = [f"x{i + 1}" for i in range(d)]
    params = {
        k: v
        for k, v in learner.get_params(deep=False).items()
        if k not in ("estimator", "feature_map")
    }
    return {
        "name": f"{task.key} {task.title} ensemble",
        "description": f"MechanismLearner ({task.estimator()!r}) trained on confounded "
        f"front-door data ({task.data_note}) by `bayes-mech demo`.",
        "data": {
            "source": task.data_note,
            "n_train": int(fitted["train"].X.shape[0]),
            "confounded": True,
            "random_state": seed,
            "n_test": cfg.n_test,
        },
        "columns": {"cause": "y", "mechanism": ["z"], "effect": effect},
        "task": task.kind,
        "estimator": repr(task.estimator()),
        "feature_map": None if learner.feature_map is None else repr(learner.feature_map),
        "parameters": params,
        "metrics": {
            task.metric: record["metric"]["ensemble"],
            "naive_" + task.metric: record["metric"]["naive"],
            "uncertainty": record["uncertainty"],
            "weights": record["weights"],
        },
    }
