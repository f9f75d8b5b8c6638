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
reg > 0, one example, all examples of one class; for the vectorized Softmax, a constant
+1000 offset on every score.
"""
import ast
import shutil
from pathlib import Path

import numpy as np

from . import reference

PROBE_DIR = ".kit_probes"
MAX_OUTPUT_BYTES = 20 * 2 ** 20
LOSS_TOLERANCE = 1e-6            # relative, on the loss and (norm-wise) on the gradient

LOSS_FUNCTIONS = {
    "svm_loss_naive": ("classifiers.linear_svm", reference.svm_loss),
    "svm_loss_vectorized": ("classifiers.linear_svm", reference.svm_loss),
    "softmax_loss_naive": ("classifiers.softmax", reference.softmax_loss),
    "softmax_loss_vectorized": ("classifiers.softmax", reference.softmax_loss),
}
CLASSES = {"LinearSVM": reference.svm_loss, "Softmax": reference.softmax_loss}
TARGETS = (*LOSS_FUNCTIONS, "LinearClassifier", *CLASSES)


# ---------------------------------------------------------------- which functions a cell uses


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
    return used & set(TARGETS)


# ---------------------------------------------------------------- inputs, written by the grader


def loss_cases(name):
    rng = np.random.default_rng(sum(map(ord, name)))
    cases = {}
    for label, (N, reg, one_class) in {"reg0": (24, 0.0, False), "reg": (24, 0.37, False),
                                       "one_example": (1, 0.1, False),
                                       "one_class": (12, 0.05, True)}.items():
        W = 0.05 * rng.standard_normal((14, 6))
        X = rng.standard_normal((N, 14))
        y = np.full(N, 3) if one_class else rng.integers(0, 6, N)
        cases[label] = {"W": W, "X": X, "y": y, "reg": np.float64(reg)}
    if name == "softmax_loss_vectorized":
        case = dict(cases["reg"])
        X = np.hstack([case["X"], np.ones((case["X"].shape[0], 1))])
        W = np.vstack([case["W"], np.full((1, 6), 1000.0)])
        cases["offset"] = {"W": W, "X": X, "y": case["y"], "reg": np.float64(0.0)}
    return cases


def classifier_cases():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((40, 9))
    return {"predict": {"W": rng.standard_normal((9, 5)), "X": X},
            "train": {"W": rng.standard_normal((9, 5)), "G": rng.standard_normal((9, 5)),
                      "X": X, "y": rng.integers(0, 5, 40), "lr": np.float64(0.01)}}


def cases_for(target):
    if target in LOSS_FUNCTIONS or target in CLASSES:
        return loss_cases(target)
    return classifier_cases()


# ---------------------------------------------------------------- code run in the sandbox

RUNNER = '''
import os, sys, importlib, numpy as _np
sys.path.insert(0, os.getcwd())
def _kit_probe(target, module, kind, root):
    mod = importlib.import_module(module)
    obj = getattr(mod, target)
    for case in sorted(os.listdir(os.path.join(root, "in"))):
        src, dst = os.path.join(root, "in", case), os.path.join(root, "out", case)
        os.makedirs(dst, exist_ok=True)
        a = {f[:-4]: _np.load(os.path.join(src, f), allow_pickle=False) for f in os.listdir(src)}
        try:
            if kind == "loss":
                out = obj(a["W"].copy(), a["X"].copy(), a["y"].copy(), float(a["reg"]))
                out = {"loss": out[0], "dW": out[1]}
            elif kind == "class_loss":
                clf = obj(); clf.W = a["W"].copy()
                out = clf.loss(a["X"].copy(), a["y"].copy(), float(a["reg"]))
                out = {"loss": out[0], "dW": out[1]}
            elif case == "predict":
                clf = obj(); clf.W = a["W"].copy()
                out = {"pred": clf.predict(a["X"].copy())}
            else:
                batches = []
                class _Recorder(obj):
                    def loss(self, X_batch, y_batch, reg):
                        batches.append((_np.array(X_batch, dtype=float), _np.array(y_batch)))
                        return 1.0, a["G"].copy()
                clf = _Recorder(); clf.W = a["W"].copy()
                clf.train(a["X"].copy(), a["y"].copy(), learning_rate=float(a["lr"]), reg=0.0,
                          num_iters=4, batch_size=16, verbose=False)
                out = {"W": clf.W, "Xb": _np.concatenate([b[0] for b in batches]),
                       "yb": _np.concatenate([b[1] for b in batches])}
            for key, value in out.items():
                _np.save(os.path.join(dst, key + ".npy"), _np.asarray(value, dtype=_np.float64))
        except Exception as err:
            print("probe", target, case, "raised", type(err).__name__)
'''


def module_of(target):
    if target in LOSS_FUNCTIONS:
        return LOSS_FUNCTIONS[target][0], "loss"
    if target in CLASSES:
        return "classifiers.linear_classifier", "class_loss"
    return "classifiers.linear_classifier", "classifier"


def prepare(workdir, targets):
    """Write every target's inputs under workdir; return (runner cell, one cell source per target)."""
    root = Path(workdir) / PROBE_DIR
    shutil.rmtree(root, ignore_errors=True)
    calls = []
    for target in sorted(targets):
        for case, arrays in cases_for(target).items():
            folder = root / target / "in" / case
            folder.mkdir(parents=True)
            for key, value in arrays.items():
                np.save(folder / f"{key}.npy", value, allow_pickle=False)
        module, kind = module_of(target)
        calls.append(f"_kit_probe({target!r}, {module!r}, {kind!r}, {str(root / target)!r})")
    return RUNNER, calls


# ---------------------------------------------------------------- judging, in the grader


class WrongResult(Exception):
    pass


def load(folder, key, shape):
    """A result the sandbox wrote, read without pickle and checked before any use."""
    path = folder / f"{key}.npy"
    if not path.is_file() or path.is_symlink():
        raise WrongResult(f"no {key} was returned")
    if path.stat().st_size > MAX_OUTPUT_BYTES:
        raise WrongResult(f"{key} is too large")
    try:
        value = np.load(path, allow_pickle=False)
    except Exception:
        raise WrongResult(f"{key} could not be read as a plain array") from None
    if value.dtype != np.float64 or (value.shape != tuple(shape) if shape is not None else value.size != 1):
        raise WrongResult(f"{key} has shape {value.shape}, expected {shape or 'a single number'}")
    return value


def relative_error(got, want):
    scale = max(np.linalg.norm(want), 1e-8)
    return float(np.linalg.norm(got - want) / scale)


def judge_case(target, case, arrays, out):
    if target in LOSS_FUNCTIONS or target in CLASSES:
        ref = (LOSS_FUNCTIONS[target][1] if target in LOSS_FUNCTIONS else CLASSES[target])
        want_loss, want_dW = ref(arrays["W"], arrays["X"], arrays["y"], float(arrays["reg"]))
        loss, dW = float(load(out, "loss", None).reshape(())), load(out, "dW", arrays["W"].shape)
        if not np.isfinite(loss) or abs(loss - want_loss) > LOSS_TOLERANCE * max(1.0, abs(want_loss)):
            raise WrongResult("the loss is wrong")
        if not np.all(np.isfinite(dW)) or relative_error(dW, want_dW) > LOSS_TOLERANCE:
            raise WrongResult("the gradient is wrong")
    elif case == "predict":
        pred = load(out, "pred", (arrays["X"].shape[0],))
        if not np.array_equal(pred, np.argmax(arrays["X"] @ arrays["W"], axis=1)):
            raise WrongResult("predict does not return the class with the highest score")
    else:
        judge_training(arrays, out)


def judge_training(arrays, out):
    steps, batch = 4, 16
    W = load(out, "W", arrays["W"].shape)
    if relative_error(W, arrays["W"] - steps * float(arrays["lr"]) * arrays["G"]) > 1e-9:
        raise WrongResult("train does not take plain gradient steps W -= learning_rate * grad")
    Xb = load(out, "Xb", (steps * batch, arrays["X"].shape[1]))
    yb = load(out, "yb", (steps * batch,))
    rows = {row.tobytes(): label for row, label in zip(arrays["X"], arrays["y"])}
    for row, label in zip(Xb, yb):
        if rows.get(row.tobytes()) != label:
            raise WrongResult("train's minibatches are not rows of X with their labels")


def judge(workdir, targets):
    """Map each target to None (right) or the first reason it is wrong."""
    root = Path(workdir) / PROBE_DIR
    verdicts = {}
    for target in targets:
        verdicts[target] = None
        for case, arrays in cases_for(target).items():
            try:
                judge_case(target, case, arrays, root / target / "out" / case)
            except WrongResult as err:
                verdicts[target] = f"{target}: {err} (case '{case}')"
                break
    return verdicts

