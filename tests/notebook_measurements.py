"""What tests/e2e/test_notebooks.py measures in the notebooks' own kernels: a cell appended to
each notebook of the reference submission (a student may add cells; the grader runs them as
notebook cells), whose printed lines the test reads back from the graded notebook."""
import nbformat

# The weights each notebook shows as "what the classifier learned".
TEMPLATES = {"svm.ipynb": "best_svm", "softmax.ipynb": "strong_softmax"}
# The Softmax notebook's weakly regularized model: weights, and the weights it started from.
WEAK = ("weak_softmax", "initial_W[1e3]")


def measurement_cell(name):
    """Prints TEMPLATES [per-class correlations of the shown templates with the class means]
    and, for the Softmax notebook, WEAK [the same for the weak model] and WEAK_START [per-class
    correlations of the weak model's pixel weights with its initial ones]."""
    code = ("import json as _json\n"
            "import numpy as _np\n"
            "from utils.vis_utils import template_correlation as _tc\n"
            "def _show(label, values):\n"
            "    print(label + ' ' + _json.dumps([float(v) for v in values]))\n"
            f"_show('TEMPLATES', _tc({TEMPLATES[name]}.W, X_train[:, :-1], y_train))\n")
    if name == "softmax.ipynb":
        weak, start = WEAK
        code += (f"_show('WEAK', _tc({weak}.W, X_train[:, :-1], y_train))\n"
                 f"_show('WEAK_START', [_np.corrcoef({weak}.W[:-1, c], {start}[:-1, c])[0, 1]\n"
                 f"                     for c in range({weak}.W.shape[1])])\n"
                 "_show('BEST', _tc(best_softmax.W, X_train[:, :-1], y_train))\n"
                 "print('best setting: learning rate %g, regularization %g' % (best_lr, best_reg))\n")
    return nbformat.v4.new_code_cell(code)


def add_measurement_cells(folder):
    """Append each notebook's measurement cell to the submission in `folder`."""
    for name in TEMPLATES:
        path = folder / name
        nb = nbformat.read(str(path), as_version=4)
        nb.cells.append(measurement_cell(name))
        nbformat.write(nb, str(path))
    return folder
