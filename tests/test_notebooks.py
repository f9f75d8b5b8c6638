"""Both notebooks run top to bottom with the reference solution, in the quick setting, on the
real CIFAR-10 subset, from notebooks/ in this repository."""
import os
import time

import nbformat
import pytest
from nbclient import NotebookClient

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = ["svm.ipynb", "softmax.ipynb"]

pytestmark = pytest.mark.slow


def execute(path, cwd, cifar10_dir):
    nb = nbformat.read(path, as_version=4)
    env = {**os.environ, "KIT_QUICK": "1", "CIFAR10_DIR": cifar10_dir, "MPLBACKEND": "Agg"}
    start = time.monotonic()
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": cwd}}).execute(env=env)
    return nb, time.monotonic() - start


def outputs_text(nb):
    texts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            texts.append(output.get("text", "") + str(output.get("data", {}).get("text/plain", "")))
    return "\n".join(texts)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_the_repository(name, cifar10_dir):
    nb, seconds = execute(os.path.join(REPO, "notebooks", name), os.path.join(REPO, "notebooks"),
                          cifar10_dir)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors[0]
    text = outputs_text(nb)
    # the loader says in one line that the subset is smaller than the course's split
    assert "training on" in text
    assert seconds < 240  # generous: the quick setting takes well under a minute on 2 cores
    print(f"{name}: {seconds:.1f} s")

# From a flat assignment folder: the grader runs the reference submission that way, see
# tests/test_autograde.py::test_reference_notebooks_run_without_errors_in_a_flat_folder.
