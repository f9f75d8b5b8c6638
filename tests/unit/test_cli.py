"""The instructor's command line: one parser for every stage, help on every option with the
code's defaults, a version, and exit codes that tell a bad command line from a refused input."""
import argparse
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata

import pytest

from kit.__main__ import EXIT_REFUSED, EXIT_USAGE, build_parser, main
from kit.settings import KitGrading


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


# ------------------------------------------------------------------ bad input, every command

def bad_inputs(tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    nowhere = str(tmp_path / "nowhere")
    return {
        "release": ["release", "--course", str(a_file), "--dist", str(tmp_path / "dist")],
        "collect": ["collect", str(tmp_path / "alice.zip"), "--course", nowhere],
        "autograde": ["autograde", "--course", nowhere],
        "feedback": ["feedback", "--course", nowhere],
        "report": ["report", "--course", nowhere],
        "similarity": ["similarity", "--course", nowhere],
        "export": ["export", "--format", "canvas", "--course", nowhere],
        "certificates": ["certificates", "--course", str(a_file)],
        "demo": ["demo", "--course", str(tmp_path / "demo"), "--data", nowhere],
        "hub": ["hub", "--course", nowhere, "--students", "alice", "--instructors", "prof", "--config-only"],
        "hub-env": ["hub-env", str(a_file)],
    }


@pytest.mark.parametrize("command", sorted(subparsers()))
def test_every_command_refuses_bad_input_without_a_traceback(command, tmp_path, capsys, monkeypatch):
    from utils import download_cifar10
    monkeypatch.setattr(download_cifar10, "download_cifar10",
                        lambda *a, **k: pytest.fail("nothing may be downloaded here"))
    monkeypatch.setenv("KIT_TRACEBACK", "1")   # an unexpected error fails the test with its traceback
    argv = bad_inputs(tmp_path)[command]
    assert main(argv) == EXIT_REFUSED, argv
    err = capsys.readouterr().err
    assert err.startswith("error: "), err
    assert "Traceback" not in err


def test_an_unexpected_error_is_one_line_not_a_traceback(monkeypatch, capsys):
    from kit import report
    monkeypatch.delenv("KIT_TRACEBACK", raising=False)
    monkeypatch.setattr(report, "run", lambda **kw: 1 / 0)
    assert main(["report"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ZeroDivisionError: division by zero") and "KIT_TRACEBACK=1" in err
    assert "Traceback" not in err


# ------------------------------------------------------------------ the data folder, the sandbox

@pytest.fixture
def no_download(monkeypatch):
    from utils import download_cifar10
    monkeypatch.setattr(download_cifar10, "download_cifar10",
                        lambda *a, **k: pytest.fail("nothing may be downloaded here"))


def test_a_wrong_cifar10_dir_is_refused_never_replaced_by_a_download(tmp_path, monkeypatch, capsys, no_download):
    wrong = tmp_path / "cifar-typo"
    wrong.mkdir()
    (wrong / "data_batch_2").write_bytes(b"")
    monkeypatch.setenv("CIFAR10_DIR", str(wrong))
    assert main(["demo", "--course", str(tmp_path / "demo")]) == EXIT_REFUSED
    err = " ".join(capsys.readouterr().err.split())
    assert f"in {wrong} (from the CIFAR10_DIR environment variable), got a folder without data_batch_1" in err
    assert "Nothing was downloaded: CIFAR10_DIR names the folder to use" in err
    assert not (tmp_path / "demo").exists()


def test_a_wrong_data_option_is_named_as_such(tmp_path, capsys, no_download):
    assert main(["demo", "--course", str(tmp_path / "demo"), "--data", str(tmp_path / "none")]) == EXIT_REFUSED
    err = " ".join(capsys.readouterr().err.split())
    assert f"in {tmp_path / 'none'} (from --data), got no such folder instead" in err
    assert "cifar10_dir argument" not in err


def test_offline_the_demo_says_how_to_use_data_already_here(tmp_path, monkeypatch, capsys):
    import urllib.error
    from utils import data_utils, download_cifar10

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    monkeypatch.setattr(data_utils, "default_cifar10_dir", lambda: str(tmp_path / "data" / "cifar-10-batches-py"))
    monkeypatch.setattr(download_cifar10, "download_cifar10", offline)
    assert main(["demo", "--course", str(tmp_path / "demo")]) == EXIT_REFUSED
    err = " ".join(capsys.readouterr().err.split())
    assert "could not download CIFAR-10 (URLError" in err
    for way in ("python -m utils.download_cifar10 --archive FILE", "CIFAR10_DIR=FOLDER", "--data FOLDER"):
        assert way in err, way


def test_under_nbgrader_the_isolation_refusal_names_nbgraders_setting(monkeypatch, tmp_path):
    from kit import autograde, sandbox
    from kit.course import KitError
    reason = sandbox.probe.probe(str(tmp_path / "no-bwrap")).reason
    assert reason == f"bubblewrap not found at {tmp_path / 'no-bwrap'}"
    monkeypatch.setattr(sandbox, "isolation_status", lambda: (False, reason))
    with pytest.raises(KitError) as nbgrader_way:
        autograde.task_settings(KitGrading())   # as kit.nbgrader_steps.KitRestoreCells calls it
    text = str(nbgrader_way.value)
    assert "set c.KitGrading.allow_unisolated = True in the course's nbgrader_config.py" in text
    assert "--allow-unisolated" not in text and text.lower().count("install") == 2   # "Install ... apt-get install"
    assert text.count("apt-get install bubblewrap") == 1
    with pytest.raises(KitError, match="or pass --allow-unisolated to grade anyway"):
        autograde.task_settings(KitGrading(), options=autograde.stage.COMMAND_LINE)


# ------------------------------------------------------------------ every entry point: help, version, usage

REPO_ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
ENTRY_POINTS = ["kit", "kit.i18n", "utils.check", "utils.vectorization", "utils.download_cifar10", "bench"]


def run_module(module, *args, cwd=REPO_ROOT):
    import os
    import subprocess
    import sys
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_every_entry_point_has_help_version_and_its_own_usage(module, tmp_path):
    cwd = tmp_path if module.startswith("utils") else REPO_ROOT   # nothing runs: no classifiers/ needed
    name = f"python -m {module}"
    # Three separate commands, started at once (each spends seconds importing nbgrader).
    with ThreadPoolExecutor(max_workers=3) as pool:
        helped, versioned, bad = pool.map(lambda option: run_module(module, option, cwd=cwd),
                                          ["--help", "--version", "--no-such-option"])
    assert helped.returncode == 0 and helped.stdout.startswith(f"usage: {name} "), helped.stdout + helped.stderr
    assert "--version" in helped.stdout
    assert versioned.returncode == 0
    assert versioned.stdout.strip() == f"{name} {metadata.version('linear-classifiers-kit')}"
    assert bad.returncode == EXIT_USAGE and bad.stderr.startswith(f"usage: {name} "), bad.stderr
    # (or, first, what the command lacks: argparse checks required arguments first)
    assert f"{name}: error: " in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("command", sorted(subparsers()))
def test_every_subcommand_has_version_and_refuses_an_unknown_option_with_its_own_usage(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"python -m kit {command} {metadata.version('linear-classifiers-kit')}"
    with pytest.raises(SystemExit) as bad:
        main([command, "--no-such-option"])
    assert bad.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith(f"usage: python -m kit {command} ") and f"python -m kit {command}: error: " in err


def test_the_installed_command_names_itself_kit(monkeypatch, capsys):
    monkeypatch.setattr("sys.argv", ["/usr/local/bin/kit", "autograde", "--version"])
    with pytest.raises(SystemExit):
        main(["autograde", "--version"])
    assert capsys.readouterr().out.startswith("kit autograde ")
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("kit 1")
    with pytest.raises(SystemExit):
        main(["report", "--no-such-option"])
    assert capsys.readouterr().err.startswith("usage: kit report ")


def test_the_student_tools_version_is_the_kits():
    # utils/__init__.py keeps its own copy of the kit's version (pyproject.toml): the
    # student's folder has no installed kit to ask, and utils/ must not import it.
    import utils
    assert utils.__version__ == metadata.version("linear-classifiers-kit")
