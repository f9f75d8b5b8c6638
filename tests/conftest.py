"""Shared test setup: import paths, a headless matplotlib, the real CIFAR-10 subset."""

import os
import shutil
import sys
import tempfile
from pathlib import Path

# The kit keeps the reference solution's cell timings under XDG_CACHE_HOME
# (kit/autograde/reference_times.py). The suite gets a cache of its own, empty at the start:
# a run here costs what it costs on a fresh machine, and the user's own cache is left alone.
# Set before anything reads it (matplotlib's font cache lives there too).
TEST_CACHE = tempfile.mkdtemp(prefix="kit-tests-cache-")
os.environ["XDG_CACHE_HOME"] = TEST_CACHE

import matplotlib  # noqa: E402
import pytest  # noqa: E402

matplotlib.use("Agg")  # no display in CI

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

# `KIT_STUDENT_DIR=/path/to/their/folder python -m pytest tests/unit/test_classifiers.py` runs
# the solution tests on a student's classifiers/ instead of the reference.
STUDENT_DIR = os.environ.get("KIT_STUDENT_DIR")
if STUDENT_DIR:
    STUDENT_DIR = os.path.abspath(STUDENT_DIR)
    if not os.path.isfile(os.path.join(STUDENT_DIR, "classifiers", "__init__.py")):
        raise pytest.UsageError("KIT_STUDENT_DIR: expected a folder holding classifiers/__init__.py, "
                                "got %s instead" % STUDENT_DIR)
    sys.path.insert(0, STUDENT_DIR)


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(TEST_CACHE, ignore_errors=True)


def pytest_report_header(config):
    import classifiers
    return "classifiers under test: %s" % os.path.dirname(classifiers.__file__)


@pytest.fixture(scope="session")
def cifar10_dir():
    """The real CIFAR-10 subset: env CIFAR10_DIR, else ../shared/data/cifar10-subset."""
    folder = os.environ.get("CIFAR10_DIR") or os.path.join(
        REPO_ROOT, os.pardir, "shared", "data", "cifar10-subset", "cifar-10-batches-py")
    folder = os.path.abspath(folder)
    if not os.path.isfile(os.path.join(folder, "data_batch_1")):
        reason = "real CIFAR-10 subset not found in %s (set CIFAR10_DIR)" % folder
        print(reason)
        pytest.skip(reason)
    return folder


@pytest.fixture(scope="session")
def released_course(tmp_path_factory):
    """One release of the kit in a temporary nbgrader course, shared by the grading tests
    (each test module uses its own student ids)."""
    from kit_helpers import make_course
    return make_course(tmp_path_factory.mktemp("released"))


@pytest.fixture(scope="session")
def korean_released_course(tmp_path_factory):
    """One release of the Korean edition (`--lang ko`): root/course, its zip in root/dist."""
    from kit import release
    root = tmp_path_factory.mktemp("korean")
    release.run(kit_root=Path(REPO_ROOT), course=root / "course", dist=root / "dist", lang="ko")
    return root / "course"


@pytest.fixture(scope="session")
def reference_graded_in_full(released_course, cifar10_dir, tmp_path_factory):
    """The reference submission (student id "reference") graded with its notebooks run in full
    in the sandbox, once per session: tests/e2e/test_autograde.py checks its grades and
    tests/e2e/test_notebooks.py what its notebooks show, read through a measurement cell
    appended to each (tests/notebook_measurements.py). No limits from a timing of the
    reference (that would be a second whole run of it): the default ceiling."""
    from kit_helpers import collect_all, grade, reference_submission
    from notebook_measurements import add_measurement_cells
    folder = add_measurement_cells(reference_submission(released_course,
                                                        tmp_path_factory.mktemp("full") / "reference"))
    collect_all(released_course, [folder])
    return grade(released_course, ["reference"], cifar10_dir, run_notebooks=True,
                 reference_limits=False)["reference"]
