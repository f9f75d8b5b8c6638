"""The instructor's command line: one parser for every stage, help on every option with the
code's defaults, a version, and exit codes that tell a bad command line from a refused input."""
import argparse
from importlib import metadata

import pytest

from kit.__main__ import EXIT_REFUSED, EXIT_USAGE, build_parser, main
from kit.nbgrader_hooks import KitGrading


def subparsers():
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


def test_version_is_the_installed_one(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.split()[-1] == metadata.version("linear-classifiers-kit")


@pytest.mark.parametrize("command", sorted(subparsers()))
def test_every_option_has_help_and_the_exit_codes_are_documented(command):
    parser = subparsers()[command]
    for action in parser._actions:
        assert action.help, f"{command}: {action.option_strings or action.dest} has no help"
    text = parser.format_help()
    assert "exit codes:" in text and f"{EXIT_REFUSED}    the input was refused" in text


def test_defaults_in_the_help_are_the_codes_own():
    text = subparsers()["autograde"].format_help()
    flat = " ".join(text.split())
    assert f"{KitGrading.cell_timeout.default_value:g} unless set" in flat
    assert f"{KitGrading.submission_timeout.default_value:g} unless set" in flat


def test_a_bad_command_line_and_a_refused_input_exit_differently(tmp_path, capsys):
    with pytest.raises(SystemExit) as usage:
        main(["autograde", "--jobs", "0"])
    assert usage.value.code == EXIT_USAGE
    assert "expected a whole number of at least 1, got '0' instead" in capsys.readouterr().err
    # A course that was never released: refused, with what to do.
    assert main(["autograde", "--course", str(tmp_path / "nowhere")]) == EXIT_REFUSED
    assert "kit release" in capsys.readouterr().err


def test_stages_parse_nothing_themselves():
    from kit import collect, export, similarity
    for module in (collect, export, similarity):
        assert not hasattr(module, "add_arguments") and not hasattr(module, "main"), module.__name__
