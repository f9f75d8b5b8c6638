"""The notebook rules (kit/notebook_rules.py) and the settings (kit/settings.py): one place
each, the students' utils/check.py copy agreeing with them, a course's own delimiters used."""
import nbformat
from traitlets.config import Config

from kit import course, notebook_rules, release, settings
from kit.notebook_rules import Markers, markers
from utils import check


def test_the_students_check_agrees_with_the_kit():
    """utils/check.py ships without the kit and nbgrader: its copies must say the same."""
    assert check.NOTEBOOKS == notebook_rules.NOTEBOOKS
    defaults = notebook_rules.DEFAULT_MARKERS
    assert (check.BEGIN_HIDDEN, check.END_HIDDEN) == (defaults.begin_hidden, defaults.end_hidden)
    source = ("a = 1\n# check\n### BEGIN HIDDEN TESTS\nassert secret\n### END HIDDEN TESTS\n"
              "b = 2\n### BEGIN HIDDEN TESTS\nc\n### END HIDDEN TESTS\n")
    lines = source.splitlines(keepends=True)
    kept = "".join(line for line, hidden in zip(lines, notebook_rules.hidden_flags(lines)) if not hidden)
    assert check.visible_source(source) == kept == "a = 1\n# check\nb = 2\n"
    assert notebook_rules.is_test is check.is_test   # one rule, the students' copy


def test_markers_are_the_courses_own():
    config = Config()
    config.ClearSolutions.begin_solution_delimeter = "START ANSWER"
    config.ClearSolutions.end_solution_delimeter = "STOP ANSWER"
    config.ClearHiddenTests.begin_test_delimeter = "START SECRET"
    marks = markers(config)
    assert marks == Markers("START ANSWER", "STOP ANSWER", "START SECRET", "END HIDDEN TESTS")
    assert markers() == notebook_rules.DEFAULT_MARKERS
    text = "def f():\n    # START ANSWER\n    return 42\n    # STOP ANSWER\n"
    cut = release.cut_solutions(text, keep=(), marks=marks)
    assert "return 42" not in cut and "NotImplementedError" in cut
    assert release.cut_solutions(text) == text   # nbgrader's default markers: nothing to cut


def test_markers_come_from_the_course_configuration(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()\nc.ClearSolutions.begin_solution_delimeter = 'START ANSWER'\n")
    assert markers(course.Course(tmp_path).config).begin_solution == "START ANSWER"


def test_notebook_id_and_file_name():
    for name in notebook_rules.NOTEBOOKS:
        assert notebook_rules.notebook_file(notebook_rules.notebook_id(name)) == name
    assert notebook_rules.notebook_id("svm.ipynb") == "svm"
    assert notebook_rules.notebook_id("notes.ipynb.txt") == "notes.ipynb.txt"


def test_one_rule_for_auto_and_manual_cells():
    test = nbformat.v4.new_code_cell("assert True", metadata={"nbgrader": {"grade": True, "solution": False}})
    answer = nbformat.v4.new_markdown_cell("x", metadata={"nbgrader": {"grade": True, "solution": True}})
    code_answer = nbformat.v4.new_code_cell("x", metadata={"nbgrader": {"grade": True, "solution": True}})
    assert [notebook_rules.grading_kind(c) for c in (test, answer, code_answer)] == ["auto", "manual", "manual"]


def test_the_written_configuration_holds_the_traits_defaults(tmp_path):
    """Each setting is written once, as a trait: the configuration file a release writes,
    read back, gives every trait its default (no literal restated in the template)."""
    (tmp_path / "nbgrader_config.py").write_text(course.nbgrader_config_text(tmp_path, []))
    config = course.Course(tmp_path).config
    for cls in (settings.KitGrading, settings.KitLatePenalty):
        for name, trait in cls.class_traits(config=True).items():
            assert name in config[cls.__name__], f"c.{cls.__name__}.{name} is not written"
            assert config[cls.__name__][name] == trait.default_value, name


def test_command_line_values_override_the_course():
    grading = settings.KitGrading()
    settings.override(grading, cell_timeout=12.0, tests_only=None, data_dir="/data")
    assert (grading.cell_timeout, grading.tests_only, grading.data_dir) == (12.0, False, "/data")
    assert {o.setting for o in settings.OPTIONS} <= set(settings.KitGrading.class_traits(config=True))


def test_the_course_configuration_runs_once_per_text(tmp_path):
    """Every stage reads the settings; the file (Python) runs once for each text it has."""
    counter = tmp_path / "runs"
    counter.write_text("")
    config = tmp_path / "nbgrader_config.py"
    config.write_text(f"c = get_config()\nopen({str(counter)!r}, 'a').write('x')\nc.KitGrading.cell_timeout = 5.0\n")
    first = course.Course(tmp_path).config
    first.KitGrading.cell_timeout = 99.0          # a caller's change stays its own
    assert course.Course(tmp_path).config.KitGrading.cell_timeout == 5.0
    assert settings.KitGrading(config=course.Course(tmp_path).config).cell_timeout == 5.0
    assert counter.read_text() == "x"
    config.write_text(config.read_text().replace("5.0", "6.0"))   # a new text runs again
    assert course.Course(tmp_path).config.KitGrading.cell_timeout == 6.0
    assert counter.read_text() == "xx"


def test_the_kind_rule_agrees_with_the_students_test_cell_rule():
    """kind_of (the grader's and the gradebook's) says "auto" exactly for utils/check's test cells."""
    graded = [cell for name in notebook_rules.NOTEBOOKS
              for cell in nbformat.read(str(course.KIT_ROOT / "notebooks" / name), as_version=4).cells
              if notebook_rules.is_graded(cell)]
    assert graded
    for cell in graded:
        assert (notebook_rules.grading_kind(cell) == "auto") == notebook_rules.is_test(cell), cell.metadata
