"""`kit report` end to end: a batch with planted mistakes, graded with real `kit autograde`.

Each submission is the reference solution with one well-known mistake planted in its
classifiers/ (text edits of the reference code a student would make); the report must
name each mistake, count it and name the student, and the reference must have none.
"""
import csv
import json

import pytest
from markupsafe import escape

from kit import mistakes, report
from kit.__main__ import main as kit_main
from kit_helpers import collect_all, grade, reference_submission


# student -> (file, [(reference text, planted text)], {function: mistake expected})
PLANTED = {
    "reg_loss": ("linear_svm.py", [
        ("    loss += reg * np.sum(W * W)\n", ""),
        ("loss = margins.sum() / num_train + reg * np.sum(W * W)", "loss = margins.sum() / num_train")],
        {"svm_loss_naive": "reg_missing_loss", "svm_loss_vectorized": "reg_missing_loss"}),
    "reg_per_example": ("softmax.py", [
        ("    loss += reg * np.sum(W * W)\n    dW += 2 * reg * W\n",
         "    loss += reg * np.sum(W * W)\n    for i in range(num_train):\n        dW += 2 * reg * W\n")],
        {"softmax_loss_naive": "reg_grad_per_example"}),
    "no_shift": ("softmax.py", [("    shifted -= shifted.max(axis=1, keepdims=True)\n", "")],
                 {"softmax_loss_vectorized": "no_max_shift"}),
    "summed": ("linear_svm.py", [("margins.sum() / num_train", "margins.sum()"),
                                 ("X.T.dot(coeff) / num_train", "X.T.dot(coeff)")],
               {"svm_loss_vectorized": "summed_not_averaged"}),
}


def plant(folder, name, edits):
    path = folder / "classifiers" / name
    text = path.read_text()
    for old, new in edits:
        if old not in text:
            raise AssertionError(f"expected {old!r} in the reference {name}; the planting needs updating")
        text = text.replace(old, new)
    path.write_text(text)


@pytest.fixture(scope="module")
def graded(released_course, cifar10_dir, tmp_path_factory):
    course = released_course
    root = tmp_path_factory.mktemp("subs-mistakes")
    folders = [reference_submission(course, root / "reference")]
    for student, (name, edits, _) in PLANTED.items():
        folders.append(reference_submission(course, root / student))
        plant(folders[-1], name, edits)
    collect_all(course, folders)
    results = grade(course, ["reference", *PLANTED], cifar10_dir, run_notebooks=False)
    return course, results


@pytest.mark.slow
def test_report_names_and_counts_each_planted_mistake(graded):
    course, results = graded
    data = json.loads((course / "reports" / "report.json").read_text())
    functions = {row["function"]: row for row in data["functions"]}
    ours = set(["reference", *PLANTED])
    for function, row in functions.items():
        found = {m["name"]: set(m["students"]) & ours for m in row["mistakes"]}
        expected = {}
        for student, (_, _, planted) in PLANTED.items():
            if function in planted:
                expected.setdefault(planted[function], set()).add(student)
        assert {n: s for n, s in found.items() if s} == expected, function
        for m in row["mistakes"]:
            assert m["count"] == len(m["students"])
    for function in ("svm_loss_naive", "svm_loss_vectorized", "softmax_loss_naive", "softmax_loss_vectorized"):
        assert function in functions
    # The reference has no mistake anywhere, and its total is full.
    assert all("reference" not in m["students"] for row in functions.values() for m in row["mistakes"])
    assert all("reference" in row["students_right"] for row in functions.values())
    summary = json.loads((course / "autograded" / "reference" / "linear_classifiers" / "grading.json").read_text())
    assert summary["checks"] and all(names == [] for names in summary["checks"].values())


@pytest.mark.slow
def test_report_csv_and_html_carry_the_same_data(graded):
    course, _ = graded
    with open(course / "reports" / "report.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    per_example = [r for r in rows if r["mistake"] == "reg_grad_per_example"]
    assert [r["function"] for r in per_example] == ["softmax_loss_naive"]
    assert "reg_per_example" in per_example[0]["students"].split()
    page = (course / "reports" / "report.html").read_text()
    assert "<script" not in page.lower() and "data:image/png;base64," in page
    for student, (_, _, planted) in PLANTED.items():
        for name in planted.values():
            assert name in page and str(escape(mistakes.words(name))) in page


@pytest.mark.slow
def test_student_feedback_names_the_mistake_in_words(graded):
    course, results = graded
    lines = results["reg_loss"].notebooks["svm.ipynb"].scores["test_svm_naive_loss"].feedback
    assert any(mistakes.words("reg_missing_loss") in line for line in lines)
    lines = results["no_shift"].notebooks["softmax.ipynb"].scores["test_softmax_vectorized_stable"].feedback
    assert any(mistakes.words("no_max_shift") in line for line in lines)
    reference = results["reference"].notebooks["svm.ipynb"].scores["test_svm_naive_loss"].feedback
    assert reference == ("passed",)


@pytest.mark.slow
def test_kit_report_command_rewrites_the_report(graded, capsys):
    course, _ = graded
    (course / "reports" / "report.json").unlink()
    assert kit_main(["report", "--course", str(course)]) == 0
    assert json.loads((course / "reports" / "report.json").read_text())["functions"]


def test_report_page_and_csv_keep_student_text_as_data(tmp_path):
    hostile = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
    functions = report.by_function({hostile: {"svm_loss_naive:loss": ["reg_missing_loss"]},
                                    "=HYPERLINK(1)": {"svm_loss_naive:loss": []}})
    assert functions == [{"function": "svm_loss_naive", "checked": 2, "fully_right": 1,
                          "students_right": ["=HYPERLINK(1)"],
                          "mistakes": [{"name": "reg_missing_loss", "count": 1, "students": [hostile],
                                        "description": mistakes.words("reg_missing_loss")}]}]
    page = report.page({"functions": functions, "scores": {"students": 2}, "pass_rates": {},
                        "problems": {hostile: hostile}}, None)
    assert "<script" not in page and "<img" not in page and "&lt;script&gt;" in page
    report.write_csv(tmp_path / "r.csv", report.by_function({"=HYPERLINK(1)": {"svm_loss_naive:loss": ["other"]}}))
    with open(tmp_path / "r.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["students"] == "'=HYPERLINK(1)" and rows[0]["mistake"] == "other"
