"""Code written for any edition of the course (2017-2024) imports unchanged: absolute
`cs231n.classifiers...`, relative `..classifiers...`, `builtins`, `past.builtins`
(issue 24: the 2021-2024 form lost 10 of 55 points)."""
import shutil
import subprocess
import sys

import pytest

from starter_imports import IMPORTS, with_year_imports
from kit_helpers import REPO

CHECK = r"""
import sys
import numpy as np
from classifiers.linear_classifier import LinearSVM, Softmax
from classifiers.linear_svm import svm_loss_naive, svm_loss_vectorized
from classifiers.softmax import softmax_loss_vectorized
import cs231n.classifiers.linear_svm as course_svm
import classifiers.linear_svm as own_svm
assert course_svm is own_svm, "two copies of one module"
sys.path.insert(0, %(repo)r)
from kit import reference
rng = np.random.default_rng(0)
W, X, y = 0.1 * rng.standard_normal((6, 4)), rng.standard_normal((30, 6)), rng.integers(0, 4, 30)
for mine, ref in ((svm_loss_naive, reference.svm_loss), (svm_loss_vectorized, reference.svm_loss),
                  (softmax_loss_vectorized, reference.softmax_loss)):
    assert abs(mine(W, X, y, 0.1)[0] - ref(W, X, y, 0.1)[0]) < 1e-9
for cls in (LinearSVM, Softmax):
    clf = cls()
    history = clf.train(X, y, num_iters=5, batch_size=10)
    assert len(history) == 5 and clf.predict(X).shape == (30,)
print("ok")
"""


@pytest.mark.parametrize("year", sorted(IMPORTS))
def test_each_years_imports_work(tmp_path, year):
    shutil.copytree(REPO / "classifiers", tmp_path / "classifiers")
    with_year_imports(tmp_path, year)
    header = (tmp_path / "classifiers" / "linear_classifier.py").read_text()
    assert IMPORTS[year]["linear_classifier.py"][-2] in header
    run = subprocess.run([sys.executable, "-W", "error::ImportWarning", "-c", CHECK % {"repo": str(REPO)}],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.strip().endswith("ok"), run.stderr[-2000:]
