"""`kit release`: the release holds no solution, hidden test or marker, and still works."""
import ast
import json
import re
import subprocess
import sys
import zipfile

import pytest

from kit import notebook_rules, release
from kit.course import Course, KitError
from kit_helpers import REPO


@pytest.fixture(scope="module")
def course(released_course):
    return released_course


def test_no_solution_line_survives(course):
    source, released = Course(course).source, Course(course).release
    secrets = release.secret_lines(source)
    assert len(secrets) > 50, "the source should hold many solution and hidden-test lines"
    for path in released.rglob("*"):
        for text in release.texts_of(path):
            for line in text.splitlines():
                assert line.strip() not in secrets, f"{path}: {line.strip()}"
            for marker in notebook_rules.MARKER_WORDS:
                assert marker not in text, f"{path}: {marker}"
    assert release.check_release(source, released) == []


def test_stubs_raise_not_implemented_with_the_todo_kept(course):
    released = Course(course).release / "classifiers"
    text = (released / "linear_svm.py").read_text()
    assert "TODO" in text and 'raise NotImplementedError("svm_loss_naive' in text
    probe = ("import numpy as np\nfrom classifiers import svm_loss_naive\n"
             "try:\n    svm_loss_naive(np.zeros((3, 2)), np.zeros((1, 3)), np.zeros(1, int), 0.0)\n"
             "except NotImplementedError as e:\n    print('stub:', e)\n")
    out = subprocess.run([sys.executable, "-c", probe], cwd=Course(course).release,
                         capture_output=True, text=True, check=True).stdout
    assert out.startswith("stub: svm_loss_naive")


def test_zip_holds_the_release_and_nothing_else(course):
    names = zipfile.ZipFile(course.parent / "dist" / "linear_classifiers.zip").namelist()
    assert "linear_classifiers/svm.ipynb" in names and "linear_classifiers/softmax.ipynb" in names
    assert "linear_classifiers/classifiers/softmax.py" in names
    assert "linear_classifiers/utils/download_cifar10.py" in names
    assert not any("data_batch" in n or "__pycache__" in n or "gradebook" in n for n in names)
    # The instructor tooling holds the grader's reference losses: it must never ship.
    top = {n.split("/")[1] for n in names if n.count("/") >= 2}
    assert top == {"classifiers", "utils"}, top
    assert {n.split("/")[1] for n in names if n.count("/") == 1} == {
        "svm.ipynb", "softmax.ipynb", "README.md", "requirements.txt"}


def zipped_text(course, name):
    with zipfile.ZipFile(course.parent / "dist" / "linear_classifiers.zip") as zf:
        return zf.read(f"linear_classifiers/{name}").decode()


# Nothing a student reads may speak of the grader's machinery, its settings or its machines.
NOT_FOR_STUDENTS = [r"\bCI\b", r"subset", r"QUICK", r"nbgrader", r"pytest", r"\bkit\b",
                    r"/work\b", r"shared/data", r"sandbox", r"BEGIN HIDDEN"]


def test_zip_carries_the_students_readme(course):
    text = zipped_text(course, "README.md")
    assert text == (REPO / "student" / "README.md").read_text()
    for step in ("python -m pip install -r requirements.txt", "python -m utils.download_cifar10",
                 "jupyter lab", "python -m utils.check", "svm.ipynb", "softmax.ipynb", "classifiers/"):
        assert step in text, step
    hand_in = text.split("Hand in", 1)[1]
    assert "Zip this whole folder" in hand_in and "data/" in hand_in and "outputs" in hand_in
    for pattern in NOT_FOR_STUDENTS:
        assert not re.search(pattern, text), pattern
    assert len(text.splitlines()) < 100, "a short README"


def test_zip_requirements_cover_what_the_release_imports(course):
    """Every third-party module the released code and notebooks import comes from a
    distribution the student's requirements.txt installs; no grader-only tool is in it."""
    from importlib.metadata import packages_distributions
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    lines = [l.strip() for l in zipped_text(course, "requirements.txt").splitlines()]
    wanted = {canonicalize_name(Requirement(l).name) for l in lines if l and not l.startswith("#")}
    assert {"numpy", "matplotlib", "nbformat", "nbclient", "ipykernel"} <= wanted, wanted
    assert wanted & {"jupyterlab", "jupyter", "notebook"}, wanted
    assert not wanted & {"nbgrader", "pytest", "playwright", "dask"}, wanted
    modules = set()
    released = Course(course).release
    for path in released.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level:
                modules.add(node.module.split(".")[0])
    for nb in ("svm.ipynb", "softmax.ipynb"):  # code cells hold IPython magics: not ast
        for cell in json.loads((released / nb).read_text())["cells"]:
            if cell["cell_type"] == "code":
                modules |= set(re.findall(r"^\s*(?:from|import)\s+(\w+)", "".join(cell["source"]), re.MULTILINE))
    third_party = {m for m in modules - set(sys.stdlib_module_names) - {"classifiers", "utils", "__future__"}}
    assert {"numpy", "matplotlib", "nbformat", "nbclient", "tqdm"} <= third_party, third_party
    where = packages_distributions()
    for module in sorted(third_party):
        assert module in where, f"{module}: imported by the release but installed by no distribution here"
        assert {canonicalize_name(d) for d in where[module]} & wanted, \
            f"{module} (from {where[module]}) is imported by the release but not in its requirements.txt"


def test_no_released_function_computes_what_students_write(course):
    """Every student function of the release raises NotImplementedError: no loss ships by mistake."""
    probe = """
import numpy as np
from classifiers import svm_loss_naive, svm_loss_vectorized, softmax_loss_naive, softmax_loss_vectorized
from classifiers import LinearSVM, Softmax
W, X, y = np.zeros((3, 2)), np.ones((4, 3)), np.zeros(4, int)
calls = [lambda f=f: f(W, X, y, 0.1) for f in (svm_loss_naive, svm_loss_vectorized,
                                              softmax_loss_naive, softmax_loss_vectorized)]
calls += [lambda: LinearSVM().train(X, y, num_iters=1, batch_size=2),
          lambda: Softmax().train(X, y, num_iters=1, batch_size=2)]
clf = LinearSVM(); clf.W = W
calls.append(lambda: clf.predict(X))
for call in calls:
    try:
        call()
        print("computed")
    except NotImplementedError:
        print("stub")
"""
    out = subprocess.run([sys.executable, "-c", probe], cwd=Course(course).release,
                         capture_output=True, text=True)
    assert out.stdout.split() == ["stub"] * 7, out.stdout + out.stderr


def test_released_notebooks_have_no_hidden_tests_or_model_answers(course):
    for name in ("svm.ipynb", "softmax.ipynb"):
        nb = json.loads((Course(course).release / name).read_text())
        text = "".join("".join(c["source"]) for c in nb["cells"])
        assert "HIDDEN" not in text and "BEGIN SOLUTION" not in text


def test_cut_solutions_keeps_named_functions_and_reports_bad_markers():
    text = (REPO / "classifiers" / "linear_svm.py").read_text()
    partial = release.cut_solutions(text, keep=("svm_loss_naive",))
    assert partial.count("raise NotImplementedError") == 1
    assert "dW[:, y[i]] -= X[i]" in partial
    begin = notebook_rules.BEGIN_SOLUTION
    with pytest.raises(KitError, match="never closed"):
        release.cut_solutions(f"def f():\n    ### {begin}\n    return 1\n", "x.py")


def test_release_refuses_a_leaking_source(tmp_path):
    """A solution line copied outside its region (e.g. into a comment) is caught."""
    source, released = tmp_path / "source", tmp_path / "release"
    for folder in (source, released):
        folder.mkdir()
    solution = "    loss = np.sum(np.maximum(0, margins))  # the answer\n"
    (source / "m.py").write_text(f"def f():\n    ### {notebook_rules.BEGIN_SOLUTION}\n{solution}"
                                 f"    ### {notebook_rules.END_SOLUTION}\n")
    (released / "m.py").write_text(release.cut_solutions((source / "m.py").read_text())
                                   + "# hint:" + solution)
    # The line itself, not only the hint comment, must match for it to count:
    (released / "n.py").write_text(solution)
    problems = release.check_release(source, released)
    assert any("n.py" in p for p in problems)


# ------------------------------------------------------------------ re-releasing a course

CUSTOM_SETTINGS = {
    "c.KitGrading.duedate": "c.KitGrading.duedate = '2026-12-01 17:00:00 Europe/Paris'\n",
    "c.KitGrading.cell_timeout": "c.KitGrading.cell_timeout = 120.0  # our machines are slow\n",
    "c.KitLatePenalty.penalty_method": 'c.KitLatePenalty.penalty_method = "per_day"\n',
}
OWN_LINES = "# The exchange lives on the shared disk.\nc.Exchange.root = '/srv/nbgrader/exchange'\n"


def customise(config_path):
    """The instructor's edits: three of the kit's settings changed and an own line added."""
    text = config_path.read_text()
    for key, line in CUSTOM_SETTINGS.items():
        old = next(l for l in text.splitlines(keepends=True) if l.startswith(key + " "))
        text = text.replace(old, line)
    config_path.write_text(text + OWN_LINES)
    return text + OWN_LINES


def test_a_second_release_keeps_the_instructors_configuration(course, tmp_path, capsys):
    """Release again on a course whose nbgrader_config.py the instructor edited (and that has
    moved, so the kit's generated root must change): the edits stay, the root is updated,
    and the file replaced is kept as a backup."""
    import shutil
    moved = tmp_path / "course"
    shutil.copytree(course, moved)
    config = moved / "nbgrader_config.py"
    edited = customise(config)
    release.run(kit_root=REPO, course=moved, dist=tmp_path / "dist")
    text = config.read_text()
    for line in CUSTOM_SETTINGS.values():
        assert line in text, line
    assert OWN_LINES in text
    settings = Course(moved).config
    assert settings.KitGrading.cell_timeout == 120.0
    assert settings.KitGrading.duedate == "2026-12-01 17:00:00 Europe/Paris"
    assert settings.Exchange.root == "/srv/nbgrader/exchange"
    assert settings.CourseDirectory.root == str(moved.resolve())   # generated: follows the course
    backups = list(moved.glob("nbgrader_config.py.*.bak"))
    assert [b.read_text() for b in backups] == [edited]
    out = capsys.readouterr().out
    assert "Kept your settings" in out and "c.CourseDirectory.root" in out and backups[0].name in out


def test_an_old_configuration_gets_the_settings_it_lacks_and_keeps_its_own():
    """A configuration from an older kit (or nbgrader's quickstart) lacks settings: they are
    added with the kit's defaults after everything the file had, which stays as it was."""
    from kit import config_file
    from kit.course import nbgrader_config_text
    fresh = nbgrader_config_text(REPO / "course", ["classifiers/linear_svm.py"])
    old = ("c = get_config()\nc.CourseDirectory.root = '/old/place'\n"
           "c.KitGrading.cell_timeout = 120  # slow machines\n"
           "c.GenerateFeedback.preprocessors = [\n    'x.Y',\n]\nc.Exchange.root = '/srv/x'\n")
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "nbgrader_config.py").write_text(old)
        planned = config_file.plan(tmp, fresh)
    assert planned.text.startswith("c = get_config()\nc.CourseDirectory.root = ")
    assert "c.KitGrading.cell_timeout = 120  # slow machines\n" in planned.text
    assert "c.Exchange.root = '/srv/x'\n" in planned.text and "'x.Y'" not in planned.text
    assert planned.updated == ["c.CourseDirectory.root", "c.GenerateFeedback.preprocessors"]
    assert "c.KitGrading.duedate" in planned.added and "c.KitGrading.cell_timeout" not in planned.added
    from traitlets.config import Config
    config = Config()
    exec(compile(planned.text, "merged", "exec"), {"get_config": lambda: config})   # valid Python
    assert config.KitGrading.cell_timeout == 120 and config.Exchange.root == "/srv/x"


def test_a_configuration_that_cannot_be_merged_is_refused_before_anything_changes(tmp_path, capsys):
    from kit.__main__ import EXIT_REFUSED, main
    course = tmp_path / "course"
    course.mkdir()
    broken = "c = get_config()\nc.KitGrading.cell_timeout = = 120\n"
    (course / "nbgrader_config.py").write_text(broken)
    assert main(["release", "--course", str(course), "--dist", str(tmp_path / "dist")]) == EXIT_REFUSED
    err = capsys.readouterr().err
    assert "syntax error on line 2" in err and "kit release" in err
    assert sorted(p.name for p in course.iterdir()) == ["nbgrader_config.py"]
    assert (course / "nbgrader_config.py").read_text() == broken and not (tmp_path / "dist").exists()
