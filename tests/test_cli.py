"""The command line: --version, --help and the honest demo placeholder."""

import subprocess
import sys

import pytest

from bayes_mech import __version__
from bayes_mech.cli import main


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"bayes-mech {__version__}"


def test_help_lists_demo(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "usage: bayes-mech" in out and "demo" in out


def test_demo_placeholder_says_nothing_was_computed(capsys):
    assert main(["demo"]) == 0
    assert "Nothing was computed" in capsys.readouterr().out


def test_unknown_command_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_python_dash_m_entry_point():
    result = subprocess.run(
        [sys.executable, "-m", "bayes_mech", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == f"bayes-mech {__version__}"
