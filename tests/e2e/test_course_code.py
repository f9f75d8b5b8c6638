"""Right code written for the course's starter of several years grades full marks through
the real grader (test kernel and trusted checks, each in its own sandbox), whatever form
its imports take (tests/starter_imports.py). Before the fix the 2021-2024 form, with
`from ..classifiers.linear_svm import *`, lost the predict and train cells (10 of 55)."""
import pytest

from kit import sandbox
from kit_helpers import collect_all, grade, reference_submission, total
from starter_imports import with_year_imports

pytestmark = pytest.mark.slow
ISOLATED, WHY_NOT = sandbox.isolation_status()


@pytest.mark.skipif(not ISOLATED, reason=f"no working sandbox here: {WHY_NOT}")
def test_course_code_of_each_import_form_gets_full_marks(released_course, tmp_path, cifar10_dir):
    course = released_course
    students = {"course_2018": 2018, "course_2020": 2020, "course_2023": 2023}
    folders = []
    for student, year in students.items():
        folder = reference_submission(course, tmp_path / student)
        with_year_imports(folder, year)
        folders.append(folder)
    collect_all(course, folders)
    results = grade(course, list(students), cifar10_dir, run_notebooks=False)
    for student in students:
        got, most = total(results[student])
        assert got == most, f"{student}: {got} of {most}: {results[student].problems}"


@pytest.mark.skipif(not ISOLATED, reason=f"no working sandbox here: {WHY_NOT}")
def test_one_slip_costs_one_cell(released_course, tmp_path, cifar10_dir):
    """A vectorized SVM whose loss lacks the regularization term but whose gradient is right
    loses the loss's cell only (issue 24: the gradient cell, checked against the student's
    own loss, went too: 10 points for one slip)."""
    course = released_course
    folder = reference_submission(course, tmp_path / "slip_reg_loss")
    path = folder / "classifiers" / "linear_svm.py"
    text = path.read_text()
    line = "    loss = margins.sum() / num_train + reg * np.sum(W * W)\n"
    assert line in text
    path.write_text(text.replace(line, "    loss = margins.sum() / num_train\n"))
    collect_all(course, [folder])
    result = grade(course, ["slip_reg_loss"], cifar10_dir, run_notebooks=False)["slip_reg_loss"]
    lost = {s.grade_id: s.max - s.score for s in result.cells("auto") if not s.passed}
    assert lost == {"test_svm_vectorized_loss": 5.0}, lost
