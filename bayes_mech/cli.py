"""The ``bayes-mech`` command.

``bayes-mech demo`` will reproduce the paper's Table 1 (issue 8); until the learner lands it says so
and exits 0 without pretending to have run anything.
"""

from __future__ import annotations

import argparse
import sys

from bayes_mech._version import __version__

DEMO_PLAN = """\
bayes-mech demo: not implemented yet in this version ({version}).

When complete it will reproduce Table 1 of Mao & Little (arXiv 2410.20057) on the paper's
Appendix-A generators and background digits: naive, causal bootstrap, CW-GMM (point) and the
Bayesian ensemble, on non-confounded and confounded test sets, and write results/ and models/.
Nothing was computed by this run.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bayes-mech",
        description="Bayesian mechanism learning: deconfounded predictors with uncertainty.",
    )
    parser.add_argument("--version", action="version", version=f"bayes-mech {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("demo", help="reproduce the paper's Table 1 (not implemented yet)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "demo":
        sys.stdout.write(DEMO_PLAN.format(version=__version__))
        return 0
    parser.error(f"unknown command {args.command!r}")  # argparse exits with status 2
    return 2
