"""What ``/proc/cpuinfo`` says about this CPU (Linux; None elsewhere).

Speed depends on the processor: results files name it, and the EM picks its BLAS by it.
"""

from __future__ import annotations

__all__ = ["cpuinfo_field"]


def cpuinfo_field(*prefixes: str) -> str | None:
    """The value of the first ``/proc/cpuinfo`` line starting with one of ``prefixes``."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith(prefixes):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None
