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

__all__ = ["one_thread", "thread_pools"]


@functools.cache
def thread_pools() -> threadpoolctl.ThreadpoolController:
    """The BLAS and OpenMP libraries loaded in this process, found once (threadpoolctl)."""
    return threadpoolctl.ThreadpoolController()


@contextlib.contextmanager
def one_thread(enabled: bool = True, *, user_api: str | None = None):
    """Run the block with torch's intra-op pool and the native pools (``user_api``: ``"blas"``,
    ``"openmp"`` or ``None`` for both) at one thread; restore every count afterwards. With
    ``enabled=False`` the block runs unchanged."""
    if not enabled:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with thread_pools().limit(limits=1, user_api=user_api):
            yield
    finally:
        torch.set_num_threads(before)
