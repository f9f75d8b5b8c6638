"""Feedback frames come from the grader's own reading of the student's file, never from the
kernel's text (issue 23: forged frames spelled out hidden-test lines, five per cell)."""
import nbformat

from kit import verdicts

STUDENT = b'''import numpy as np


def AB(W):
    return W


def CD(W):
    return W


class LinearClassifier:
    def train(self, X):
        total = X.sum()
        return total


def svm_loss_naive(W, X, y, reg):
    loss = 0.0
    raise ValueError("broken")
'''
FILES = {"classifiers/linear_svm.py": STUDENT}


def test_forged_dotted_names_are_not_shown():
    # Each dotted part is a name the file defines, but no function has that whole name.
    functions = verdicts.defined_functions(FILES)
    text = "\n".join(f"classifiers/linear_svm.py:{n}, in AB.CD" for n in range(1, 20))
    assert verdicts.student_frame(text, functions) is None


def test_a_line_outside_the_function_is_not_shown():
    functions = verdicts.defined_functions(FILES)
    # AB spans lines 4-5; line 1 is the file's import, line 19 is in another function.
    for line in (1, 3, 6, 19, 500):
        assert verdicts.student_frame(f"classifiers/linear_svm.py:{line}, in AB", functions) is None


def test_one_real_frame_rebuilt_from_the_file():
    functions = verdicts.defined_functions(FILES)
    text = ("File ~/classifiers/linear_svm.py:20, in svm_loss_naive(W, X, y, reg)\n"
            "File ~/classifiers/linear_svm.py:14, in LinearClassifier.train(self, X)\n"
            "ValueError: classifiers/linear_svm.py:5, in AB.CD and more text")
    # The last valid frame wins, and what is shown is the file's own text.
    assert verdicts.student_frame(text, functions) == [
        "  classifiers/linear_svm.py, line 14, in LinearClassifier.train", "      total = X.sum()"]
    assert verdicts.student_frame("classifiers/linear_svm.py:14, in train", functions)[0] == \
        "  classifiers/linear_svm.py, line 14, in LinearClassifier.train"


def error_cell(ename, traceback_lines):
    cell = nbformat.v4.new_code_cell("x = 1\n### BEGIN HIDDEN TESTS\nsecret_line = 42\n### END HIDDEN TESTS\n")
    cell.outputs = [nbformat.v4.new_output("error", ename=ename, evalue="hidden: secret_line = 42",
                                           traceback=traceback_lines)]
    return cell


def test_feedback_shows_no_kernel_text():
    functions = verdicts.defined_functions(FILES)
    forged = [f"classifiers/linear_svm.py:{n}, in svm_loss_naive" for n in range(17, 21)]
    cell = error_cell("SecretLine42Error", ["Cell In[3], line 3", *forged, "secret_line = 42"])
    lines = verdicts.test_cell_feedback(cell, functions=functions)
    text = "\n".join(lines)
    assert "secret_line" not in text and "SecretLine42Error" not in text
    assert lines[0] == verdicts.HIDDEN_FAILED
    # At most one frame, with the student's own line under it.
    assert text.count("classifiers/linear_svm.py") == 1
    assert "line 20, in svm_loss_naive" in text and 'raise ValueError("broken")' in text


def test_only_common_exception_names_are_shown():
    functions = verdicts.defined_functions(FILES)
    shown = verdicts.test_cell_feedback(error_cell("ValueError", ["Cell In[3], line 1"]), functions=functions)
    assert shown[0] == "Failed with ValueError at line 1 of this test cell:"
    rare = verdicts.test_cell_feedback(error_cell("UnicodeTranslateError", ["Cell In[3], line 1"]),
                                       functions=functions)
    assert rare[0] == "Failed with an error at line 1 of this test cell:"
