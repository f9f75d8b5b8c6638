"""Trusted checks: the student's functions are run in the sandbox, their results judged outside it.

A test cell runs in the student's process, so code in the student's modules can lie to it
(patch numpy.allclose, return an object whose __eq__ is always True, rewrite later cells
with an IPython input transformer). So each student function a test cell uses is also
called by the grader on inputs the grader wrote (plain .npy files), in a fresh sandboxed
kernel; the results come back as .npy files, are read with allow_pickle=False, checked
for type and shape, converted to float64 and compared, in the grader's own process, with
kit/reference.py. A test cell scores only if it passed in the kernel AND every student
function it uses passed here. Nothing that came out of the sandbox is unpickled or run.

The checks ask no more than the notebooks' tests: moderate random data, reg = 0 and
reg > 0, one example, all examples of one class. The data are drawn afresh for every grading
(`new_seed`), so no submission can carry answers computed in advance.

Vocabulary, used everywhere in the kit: a *check* is `target:aspect`, its *target* the
student's function or class and its *aspect* what is judged of it: `svm_loss_naive:loss`,
`svm_loss_naive:grad`, `softmax_loss_vectorized:offset` (a constant +1000 on every score
changes nothing; also `softmax_loss_naive:offset`), `LinearClassifier:predict`, `LinearClassifier:train`, `Softmax` (its
loss method); a bare target means all its aspects. Its inputs are *cases*; a *call* is
what the sandbox runs for a check (its target, or `target/aspect` for the aspects that
have inputs of their own). The source notebook declares each test
cell's checks in the cell's metadata, `"kit": {"checks": [...]}`, so that a cell is
never judged on more than it tests; a cell without that declaration gets every aspect of
the targets its code names.
"""
import ast
import base64
import io
import secrets
from pathlib import Path

import nbformat
import numpy as np

from . import reference
from .cells import grade_id
from .errors import KitError

LOSS_TOLERANCE = 1e-6            # relative, on the loss and (norm-wise) on the gradient

LOSS_FUNCTIONS = {
    "svm_loss_naive": ("classifiers.linear_svm", reference.svm_loss),
    "svm_loss_vectorized": ("classifiers.linear_svm", reference.svm_loss),
    "softmax_loss_naive": ("classifiers.softmax", reference.softmax_loss),
    "softmax_loss_vectorized": ("classifiers.softmax", reference.softmax_loss),
}
CLASSES = {"LinearSVM": reference.svm_loss, "Softmax": reference.softmax_loss}
ASPECTS = {**{name: ("loss", "grad") for name in LOSS_FUNCTIONS},
           "svm_loss_vectorized": ("loss", "grad", "vectorized"),
           "softmax_loss_naive": ("loss", "grad", "offset"),
           "softmax_loss_vectorized": ("loss", "grad", "offset", "vectorized"),
           "LinearClassifier": ("predict", "train"), "LinearSVM": ("loss",), "Softmax": ("loss",)}
OFFSET = "softmax_loss_vectorized:offset"
# Aspects a bare target name does not stand for: each has a test cell of its own.
NAMED_ONLY = ("offset", "vectorized")
ALL_CHECKS = tuple(f"{target}:{aspect}" for target, aspects in ASPECTS.items() for aspect in aspects)


def is_known(name):
    """Whether `name` is a check (target:aspect) or a bare target."""
    target, colon, aspect = name.partition(":")
    return name in ALL_CHECKS if colon else target in ASPECTS


def expand(names):
    """Checks as target:aspect; a bare target stands for its aspects (offset only when named).
    Raises ValueError on an unknown name: dropping it would silently drop a trusted check."""
    checks = set()
    for name in names:
        if not is_known(name):
            raise ValueError(f"expected a check such as 'svm_loss_naive:loss' or a bare target such as "
                             f"'LinearClassifier', got {name!r} instead")
        target, _, aspect = name.partition(":")
        if aspect:
            checks.add(name)
        else:
            checks |= {f"{target}:{a}" for a in ASPECTS[target] if a not in NAMED_ONLY}
    return checks


def call_of(check):
    """What the sandbox runs for a check (a call): its target, or target/aspect for an aspect with
    inputs of its own (the offset pair, the measurement)."""
    target, _, aspect = check.partition(":")
    return f"{target}/{aspect}" if aspect in NAMED_ONLY else target


# ---------------------------------------------------------------- which functions a cell uses


def checks_for(cell):
    """The trusted checks a test cell asks for: declared in its metadata, else derived from its code."""
    declared = cell.get("metadata", {}).get("kit", {}).get("checks")
    return expand(declared if declared is not None else targets_of(cell.source))


def refuse_unknown_names(path):
    """Refuse a source notebook whose cells declare unknown checks in their `kit.checks` metadata.

    Inputs: path, a source notebook. Returns nothing; raises KitError naming the notebook,
    the cell's grade_id and the unknown names, with the names that are known.
    """
    nb = nbformat.read(str(path), as_version=4)
    for index, cell in enumerate(nb.cells):
        declared = cell.get("metadata", {}).get("kit", {}).get("checks")
        if declared is None:
            continue
        where = f"{Path(path).name}, cell {grade_id(cell) or index!r}"
        if not isinstance(declared, list) or not all(isinstance(n, str) for n in declared):
            raise KitError(f"{where}: expected kit.checks to be a list of names, got {declared!r} instead")
        unknown = [n for n in declared if not is_known(n)]
        if unknown:
            raise KitError(f"{where}: expected kit.checks to name known checks, got {unknown} instead; "
                           f"fix the cell's metadata (known: the targets {sorted(ASPECTS)} or one of "
                           f"{list(ALL_CHECKS)})")


def targets_of(source):
    """Names of student functions and classes a test cell's code uses (imports and attributes)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("classifiers"):
            used |= {alias.name for alias in node.names}
        elif isinstance(node, ast.Attribute):
            used.add(node.attr)
        elif isinstance(node, ast.Name):
            used.add(node.id)
    return used & set(ASPECTS)


# ---------------------------------------------------------------- inputs, written by the grader


def new_seed():
    """A seed for one grading's inputs: unpredictable, so outputs cannot be prepared."""
    return secrets.randbits(64)


def rng_for(seed, call):
    """The generator of one call's inputs: the same for prepare() and judge() with one seed."""
    return np.random.default_rng([seed, *map(ord, call)])


def loss_cases(name, seed):
    """The inputs of a loss check: moderate random data (reg = 0 and reg > 0), one example,
    all examples of one class, two classes with large margins, scores up to about 10, and
    CIFAR-sized rows with a bias column and the notebooks' strong regularization."""
    rng = rng_for(seed, name)
    cases = {}
    for label, (N, reg, one_class) in {"reg0": (24, 0.0, False), "reg": (24, 0.37, False),
                                       "one_example": (1, 0.1, False),
                                       "one_class": (12, 0.05, True)}.items():
        W = 0.05 * rng.standard_normal((14, 6))
        X = rng.standard_normal((N, 14))
        y = np.full(N, 3) if one_class else rng.integers(0, 6, N)
        cases[label] = {"W": W, "X": X, "y": y, "reg": np.float64(reg)}
    cases["two_classes"] = {"W": 3.0 * rng.standard_normal((6, 2)), "X": rng.standard_normal((20, 6)),
                            "y": rng.integers(0, 2, 20), "reg": np.float64(1e-3)}
    cases["large_scores"] = {"W": 2.0 * rng.standard_normal((5, 4)), "X": rng.standard_normal((30, 5)),
                             "y": rng.integers(0, 4, 30), "reg": np.float64(0.01)}
    cases["cifar_rows"] = {"W": 0.001 * rng.standard_normal((3073, 10)),
                           "X": np.hstack([50.0 * rng.standard_normal((20, 3072)), np.ones((20, 1))]),
                           "y": rng.integers(0, 10, 20), "reg": np.float64(2.5e4)}
    return cases


def offset_cases(seed):
    """The same scores, then all shifted by +1000 through a bias column (reg = 0, so the bias
    row's size does not count): a stable softmax gives the same loss and data gradient."""
    rng = rng_for(seed, "offset")
    X = np.hstack([rng.standard_normal((20, 13)), np.ones((20, 1))])
    W = 0.05 * rng.standard_normal((13, 6))
    y = rng.integers(0, 6, 20)
    return {shift: {"W": np.vstack([W, np.full((1, 6), value)]), "X": X, "y": y, "reg": np.float64(0.0)}
            for shift, value in (("plain", 0.0), ("offset", 1000.0))}


def classifier_cases(seed):
    rng = rng_for(seed, "LinearClassifier")
    X = rng.standard_normal((40, 9))
    return {"predict": {"W": rng.standard_normal((9, 5)), "X": X},
            "train": {"W": rng.standard_normal((9, 5)), "G": rng.standard_normal((9, 5)),
                      "X": X, "y": rng.integers(0, 5, 40), "lr": np.float64(0.01)}}


def cases_for(call, seed):
    if call.endswith("/vectorized"):
        return {"work": {}}   # measured on data the kernel draws: nothing to compute in advance
    if call.endswith("/offset"):
        return offset_cases(seed)
    if call in LOSS_FUNCTIONS or call in CLASSES:
        return loss_cases(call, seed)
    return classifier_cases(seed)


# ---------------------------------------------------------------- code run in the sandbox
# The checks run in a kernel of their own, where no test cell (and so no hidden test with
# its reference code) has run. Nothing is shared with it through files: its inputs travel
# inside the cells it runs, sent only when it runs them, and its results come back as
# display outputs of type MIME (base64 .npy arrays), bounded like every output
# (kit/outputs.py) and read in the grader with allow_pickle=False (kit/check_results.py);
# kit/judging.py judges them.

MIME = "application/x-kit-check+json"

RUNNER_FILE = Path(__file__).with_name("check_runner.py")
RUNNER = RUNNER_FILE.read_text()
if f'_MIME = "{MIME}"' not in RUNNER:   # the runner labels its results with MIME, written out there
    raise ImportError(f"expected {RUNNER_FILE} to set _MIME to {MIME!r}, got no such line instead")
# train() runs this many steps of this batch size in the runner (written out there too).
TRAIN_STEPS, TRAIN_BATCH = 4, 16
if f"num_iters={TRAIN_STEPS}, batch_size={TRAIN_BATCH}" not in RUNNER:
    raise ImportError(f"expected {RUNNER_FILE} to train with num_iters={TRAIN_STEPS}, "
                      f"batch_size={TRAIN_BATCH}, got other values instead")


def encode_case(arrays):
    """One case's input arrays as base64 text of an .npz (no pickles)."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def cell_for(call, seed):
    """The cell source that runs one call's cases in the sandbox, its inputs inside it."""
    function = call.split("/")[0]
    if function in LOSS_FUNCTIONS:
        module = LOSS_FUNCTIONS[function][0]
        kind = "vectorized" if call.endswith("/vectorized") else "loss"
    else:
        module, kind = "classifiers.linear_classifier", "class_loss" if call in CLASSES else "classifier"
    cases = {case: encode_case(arrays) for case, arrays in cases_for(call, seed).items()}
    return f"_kit_check({call!r}, {function!r}, {module!r}, {kind!r}, {cases!r})"


def prepare(checks, seed):
    """The runner cell and one cell per call, {call: source}, for these checks and seed."""
    calls = sorted({call_of(check) for check in checks})
    return RUNNER, {call: cell_for(call, seed) for call in calls}
