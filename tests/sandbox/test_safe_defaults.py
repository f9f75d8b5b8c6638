"""Safe by default, and the environment is not the student's fault.

- Without working isolation, grading refuses (saying how to install bubblewrap);
  `allow_unisolated` grades anyway, warning once.
- A data folder reached through a symbolic link works inside the sandbox.
- Data the sandbox cannot read is the grader's problem: the submission is reported as a
  grader error, its previous results stay untouched, the command exits non-zero, and the
  demo fails naming the cause.
"""
import os
import shutil
import warnings

import pytest

from kit import autograde, sandbox
from kit.__main__ import main
from kit.course import Course, KitError
from kit_helpers import collect_all, grade, reference_submission, total, tree_hashes

ISOLATED, WHY_NOT = sandbox.isolation_status()
needs_sandbox = pytest.mark.skipif(not ISOLATED, reason=f"no working sandbox here: {WHY_NOT}")
pytestmark = pytest.mark.slow


@pytest.fixture
def no_bubblewrap(monkeypatch, tmp_path):
    """This process sees no usable bubblewrap (a path where there is none)."""
    missing = str(tmp_path / "no-bwrap-here")
    monkeypatch.setattr(sandbox.probe, "find_bwrap", lambda: missing)
    return missing


def test_grading_refuses_without_isolation(released_course, tmp_path, cifar10_dir, no_bubblewrap):
    collect_all(released_course, [reference_submission(released_course, tmp_path / "safe_plain")])
    with pytest.raises(KitError, match="apt-get install bubblewrap.*--allow-unisolated"):
        autograde.run(course=released_course, students=["safe_plain"], data_dir=cifar10_dir,
                      run_notebooks=False, progress=False)
    assert not Course(released_course).autograded("safe_plain").exists()
    code = main(["autograde", "--course", str(released_course), "--tests-only",
                 "--data", cifar10_dir, "safe_plain"])
    assert code == 3  # refused input (kit/__main__.py EXIT_REFUSED)


def test_allow_unisolated_grades_and_warns_once(released_course, tmp_path, cifar10_dir,
                                                no_bubblewrap, capfd):
    collect_all(released_course, [reference_submission(released_course, tmp_path / "safe_loose")])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = autograde.run(course=released_course, students=["safe_loose"], jobs=1,
                                data_dir=cifar10_dir, run_notebooks=False, progress=False,
                                allow_unisolated=True, cell_timeout=60)
    got, most = total(results[0])
    assert most > 0 and got == most, results[0].problems
    banner = capfd.readouterr().err
    assert banner.count("run WITHOUT isolation") == 1, banner
    assert sum(issubclass(w.category, sandbox.SandboxWarning) for w in caught) == 1


@needs_sandbox
def test_a_symlinked_data_folder_works_in_the_sandbox(released_course, tmp_path, cifar10_dir):
    link = tmp_path / "linked-cifar"
    link.symlink_to(cifar10_dir, target_is_directory=True)
    collect_all(released_course, [reference_submission(released_course, tmp_path / "safe_link")])
    # The test cells load CIFAR-10 from the linked folder (through the sandbox's probe of it and
    # the hidden tests' data): the notebooks' full run reads it the same way and is not what is
    # tested here, nor is the reference's timing run.
    result = grade(released_course, ["safe_link"], str(link), jobs=1, run_notebooks=False,
                   reference_limits=False)["safe_link"]
    assert result.status == "ok", [p.message for p in result.all_problems()]
    got, most = total(result)
    assert most > 0 and got == most, result.problems


@pytest.fixture
def unreadable_data(tmp_path, cifar10_dir):
    """A copy of CIFAR-10 the grader can read but the sandbox's user cannot."""
    if os.geteuid() != 0:
        pytest.skip(print("needs root: the sandbox runs as another uid only when graded as root") or
                    "needs root")
    copy = tmp_path / "private-cifar"
    shutil.copytree(cifar10_dir, copy)
    for path in copy.iterdir():
        path.chmod(0o600)
    return str(copy)


@needs_sandbox
def test_data_the_sandbox_cannot_read_is_a_grader_error(released_course, tmp_path, cifar10_dir,
                                                        unreadable_data):
    course = released_course
    collect_all(course, [reference_submission(course, tmp_path / "safe_env")])
    first = grade(course, ["safe_env"], cifar10_dir, jobs=1, run_notebooks=False)["safe_env"]
    got, most = total(first)
    assert most > 0 and got == most, first.problems
    before = tree_hashes(Course(course).autograded("safe_env"))
    rows = (course / "grades.csv").read_text()
    code = main(["autograde", "--course", str(course), "--tests-only", "--data", unreadable_data,
                 "safe_env"])
    assert code == 1
    assert tree_hashes(Course(course).autograded("safe_env")) == before, "a good result was replaced"
    assert [r for r in (course / "grades.csv").read_text().splitlines() if r.startswith("safe_env,")] == \
        [r for r in rows.splitlines() if r.startswith("safe_env,")]
    result = grade(course, ["safe_env"], unreadable_data, jobs=1, run_notebooks=False)["safe_env"]
    assert result.status == autograde.GRADER_ERROR
    assert "cannot see the CIFAR-10 folder" in result.problems[0].message


@needs_sandbox
def test_the_demo_fails_naming_unreadable_data(tmp_path, unreadable_data, capsys):
    code = main(["demo", "--course", str(tmp_path / "demo-course"), "--dist", str(tmp_path / "dist"),
                 "--data", unreadable_data, "--tests-only"])
    err = capsys.readouterr().err
    assert code != 0
    assert "cannot see the CIFAR-10 folder" in err
