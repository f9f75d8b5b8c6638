"""`utils.check` (students) and `kit demo` (the README's main command), run as a user runs them."""
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from kit_helpers import REPO

pytestmark = pytest.mark.slow


def kit(*args, cwd, cifar10_dir, timeout=900):
    return python_m("kit", *args, cwd=cwd, cifar10_dir=cifar10_dir, timeout=timeout)


def check(*args, cwd, cifar10_dir, timeout=900):
    return python_m("utils.check", *args, cwd=cwd, cifar10_dir=cifar10_dir, timeout=timeout)


def python_m(module, *args, cwd, cifar10_dir, timeout):
    env = {**os.environ, "CIFAR10_DIR": cifar10_dir}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def student_folder(tmp_path_factory, released_course):
    """The student zip, unpacked as a student would."""
    root = tmp_path_factory.mktemp("check")
    with zipfile.ZipFile(released_course.parent / "dist" / "linear_classifiers.zip") as zf:
        zf.extractall(root / "student")
    return root / "student" / "linear_classifiers"


def test_check_fails_on_the_untouched_release(student_folder, cifar10_dir):
    proc = check("--no-validate", cwd=student_folder, cifar10_dir=cifar10_dir)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAILED" in proc.stdout and "NotImplementedError" in proc.stdout
    assert "0 of 13 visible test cells pass" in proc.stdout


def test_check_passes_with_working_code_and_reveals_no_hidden_test(student_folder, cifar10_dir, tmp_path):
    solved = tmp_path / "solved"
    shutil.copytree(student_folder, solved)
    for path in (REPO / "classifiers").glob("*.py"):
        shutil.copy(path, solved / "classifiers" / path.name)
    proc = check("--no-validate", cwd=solved, cifar10_dir=cifar10_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "13 of 13 visible test cells pass" in proc.stdout
    assert "HIDDEN" not in proc.stdout


def test_check_outside_an_assignment_folder_says_how_to_use_it(student_folder, tmp_path, cifar10_dir):
    proc = check(str(tmp_path), cwd=student_folder, cifar10_dir=cifar10_dir)
    assert proc.returncode == 2 and "inside your assignment folder" in proc.stderr


def test_demo_grades_the_three_examples_as_expected(tmp_path, cifar10_dir):
    proc = kit("demo", "--course", str(tmp_path / "course"), "--dist", str(tmp_path / "dist"),
               "--tests-only", "--jobs", "2", cwd=REPO, cifar10_dir=cifar10_dir)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for student in ("demo_reference", "demo_untouched", "demo_partial"):
        line = next(l for l in proc.stdout.splitlines() if l.strip().startswith(student) and "expected" in l)
        assert line.rstrip().endswith(": ok"), line
    assert (tmp_path / "course" / "grades.csv").is_file()
    for student in ("demo_reference", "demo_untouched", "demo_partial"):
        assert (tmp_path / "course" / "feedback" / student / "linear_classifiers" / "svm.html").is_file()
