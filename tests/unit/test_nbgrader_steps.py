"""nbgrader's own autograde runs the kit as small steps of its own pipeline (kit/nbgrader_steps.py),
followed by nbgrader's AssignLatePenalties, and the kit's nbgrader modules hold no copy of
nbgrader's internal rules: no rule for which submissions it converts, no private attribute,
no walk up `parent` chains to find the converter or the course (issue 27, item 6)."""
import ast
import tempfile
from pathlib import Path

import nbformat
from traitlets.config import Config

from kit import config_file, nbgrader_steps
from kit.autograde import GradingResult, NotebookResult
from kit.course import Course, nbgrader_config_text

REPO = Path(__file__).resolve().parents[2]
KIT = REPO / "kit"
STEPS = ["kit.nbgrader_steps.KitRestoreCells", "kit.nbgrader_steps.KitSandboxedExecute",
         "kit.nbgrader_steps.KitTrustedChecks", "kit.nbgrader_steps.KitSaveGrades",
         "nbgrader.preprocessors.AssignLatePenalties"]
# What nbgrader's converters use to decide which submissions they convert (init_destination)
# and to find their input folders: none of it is the kit's to read or to copy.
CONVERTER_RULES = {"init_destination", "get_existing_timestamp", "student_id_exclude", "assignments",
                   "submitted_directory", "autograded_directory", "force", "coursedir"}


def config_of(text):
    config = Config()
    exec(compile(text, "nbgrader_config.py", "exec"), {"get_config": lambda: config})
    return config


def test_the_course_config_lists_the_kits_steps_then_nbgraders_late_penalties():
    config = config_of(nbgrader_config_text(REPO / "course", ["classifiers/linear_svm.py"]))
    assert list(config.Autograde.autograde_preprocessors) == STEPS
    assert config.Autograde.sanitize_preprocessors == []
    for name in STEPS[:4]:   # each names a preprocessor that exists
        assert isinstance(getattr(nbgrader_steps, name.rsplit(".", 1)[1])(), nbgrader_steps.NbGraderPreprocessor)


def test_a_rerelease_rewrites_an_older_courses_pipeline():
    """A course released by an older kit (one KitAutograde preprocessor) gets the steps."""
    fresh = nbgrader_config_text(REPO / "course", ["classifiers/linear_svm.py"])
    old = ("c = get_config()\nc.Autograde.autograde_preprocessors = [\"kit.nbgrader_hooks.KitAutograde\",\n"
           "    \"nbgrader.preprocessors.AssignLatePenalties\"]\nc.KitGrading.cell_timeout = 120\n")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "nbgrader_config.py").write_text(old)
        planned = config_file.plan(tmp, fresh)
    assert "c.Autograde.autograde_preprocessors" in planned.updated
    config = config_of(planned.text)
    assert list(config.Autograde.autograde_preprocessors) == STEPS and config.KitGrading.cell_timeout == 120


def nbgrader_modules():
    """The kit's modules for nbgrader's commands: named so, or defining its preprocessors."""
    return [path for path in sorted(KIT.rglob("*.py"))
            if path.name.startswith("nbgrader") or "NbGraderPreprocessor" in path.read_text()]


def test_the_kits_nbgrader_modules_copy_no_nbgrader_rule():
    modules = nbgrader_modules()
    assert KIT / "nbgrader_steps.py" in modules and KIT / "nbgrader_hooks.py" in modules
    found = copied_rules(modules)
    assert not found, found


def copied_rules(modules):
    """Where `modules` walk `parent`, read a private attribute or nbgrader's converter rules."""
    found = []
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text())):
            name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
            if name is None:
                continue
            where = f"{path.relative_to(REPO)} line {node.lineno}: {name}"
            if name == "parent":
                found.append(where + " (a walk up the configurable tree)")
            elif name.startswith("_") and not name.startswith("__") and isinstance(node, ast.Attribute):
                found.append(where + " (a private attribute)")
            elif name in CONVERTER_RULES:
                found.append(where + " (nbgrader's converter rules)")
    return found


def test_the_course_comes_from_nbgraders_own_course_directory(tmp_path):
    step = nbgrader_steps.KitRestoreCells(config=Config({"CourseDirectory": {"root": str(tmp_path)}}))
    assert nbgrader_steps.course_of(step) == Course(tmp_path)


def test_a_step_out_of_order_says_how_to_fix_the_configuration():
    import pytest
    with pytest.raises(nbgrader_steps.GraderFailed, match="KitRestoreCells before KitTrustedChecks"):
        nbgrader_steps.KitTrustedChecks().preprocess(None, {"nbgrader": {}})


def test_notebook_part_is_one_notebook_with_the_submissions_problems():
    graded = nbformat.writes(nbformat.v4.new_notebook())
    whole = GradingResult(student="alice", notebooks={
        "svm.ipynb": NotebookResult(graded=graded, scores={}), "softmax.ipynb": NotebookResult(graded=graded, scores={})})
    part = nbgrader_steps.notebook_part(whole, "svm.ipynb")
    assert list(part.notebooks) == ["svm.ipynb"] and part.student == "alice" and part.problems == whole.problems


def test_a_submission_is_graded_once_for_its_notebooks_and_afresh_when_asked_again(tmp_path, monkeypatch):
    """nbgrader asks notebook by notebook: the first grades the whole submission, the others
    are served from it; the first notebook asked again (a second run, a failed grading, a
    changed submission) is graded afresh."""
    from kit.autograde import GradingTask
    from kit.course import ASSIGNMENT
    files = {"svm.ipynb": b"1"}
    monkeypatch.setattr(nbgrader_steps.autograde, "task_settings", lambda settings: {})
    monkeypatch.setattr(nbgrader_steps.autograde, "make_task", lambda course, student, **kw: GradingTask(
        student=student, files=dict(files), master_files={}, source_notebooks={}, release_notebooks={}))
    monkeypatch.setattr(nbgrader_steps.steps, "restore", lambda task: {})
    monkeypatch.setattr(nbgrader_steps, "batch_resources", lambda course, settings, task: task)
    step = nbgrader_steps.KitRestoreCells(config=Config({"CourseDirectory": {"root": str(tmp_path)}}))

    def ask(student, notebook):
        info = {"assignment": ASSIGNMENT, "student": student, "notebook": notebook}
        return nbgrader_steps.current_submission(step, {"nbgrader": info})
    first = ask("alice", "softmax")
    assert ask("alice", "softmax") is not first          # nothing handed over yet: a failed grading
    first = ask("alice", "softmax")
    first.served.add("softmax.ipynb")
    assert ask("alice", "svm") is first                  # the same submission's other notebook
    assert ask("alice", "softmax") is not first          # asked again: a new run
    second = ask("alice", "softmax")
    second.served.add("softmax.ipynb")
    files["svm.ipynb"] = b"2"
    assert ask("alice", "svm") is not second             # changed meanwhile
    third = ask("bob", "softmax")
    third.served.add("softmax.ipynb")
    assert ask("alice", "svm").task.student == "alice"  # one slot: alice's took bob's place
    assert ask("bob", "svm") is not third
