"""Thread pools for the library's many short operations.

torch's OpenMP threads, OpenBLAS's threads and scikit-learn's OpenMP threads each spin for a
while after an operation, waiting for the next one. When an operation is short and its pool
needs a core that another pool's spinning thread (or another program) holds, it waits for a
scheduler time slice, which can be longer than the operation. The learner's weights, mixtures
and small ensembles are made of such operations, so they run on one thread per pool unless the
work is large; ``n_jobs`` is the way to use more cores.
"""

from __future__ import annotations

import contextlib
import functools

import threadpoolctl
import torch

from bayes_mech._validation import check_positive_int

__all__ = ["native_threads", "one_thread", "thread_pools", "torch_threads"]


@functools.cache
def thread_pools() -> threadpoolctl.ThreadpoolController:
    """The BLAS and OpenMP libraries loaded in this process, found once (threadpoolctl)."""
    return threadpoolctl.ThreadpoolController()


@contextlib.contextmanager
def torch_threads(n_threads):
    """Run the block with ``n_threads`` torch intra-op threads (None: unchanged), then restore."""
    if n_threads is None:
        yield
        return
    n_threads = check_positive_int(n_threads, "num_threads")
    before = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def native_threads(n_threads, user_api: str | None = None):
    """The native pools (``user_api``: ``"blas"``, ``"openmp"`` or ``None`` for both) at
    ``n_threads`` for the block (None: unchanged), restored afterwards."""
    if n_threads is None:
        return contextlib.nullcontext()
    return thread_pools().limit(limits=n_threads, user_api=user_api)


@contextlib.contextmanager
def one_thread(enabled: bool = True, *, user_api: str | None = None):
    """Run the block with torch's intra-op pool and the native pools of ``user_api`` at one
    thread; restore every count afterwards. With ``enabled=False`` the block runs unchanged."""
    n_threads = 1 if enabled else None
    with torch_threads(n_threads), native_threads(n_threads, user_api):
        yield
