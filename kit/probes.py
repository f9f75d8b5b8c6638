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
(`new_seed`), so no submission can carry answers computed in advance. A check is a unit
(the function or class called) and an aspect: `svm_loss_naive:loss`,
`svm_loss_naive:grad`, `softmax_loss_vectorized:offset` (a constant +1000 on every score
changes nothing; also `softmax_loss_naive:offset`), `LinearClassifier:predict`, `LinearClassifier:train`, `Softmax` (its
loss method); a bare unit means all its aspects. The source notebook declares each test
cell's checks in the cell's metadata, `"kit": {"checks": [...]}`, so that a cell is
never judged on more than it tests; a cell without that declaration gets every aspect of
the units its code names.
"""
import ast
import base64
import io
import secrets

import numpy as np

from . import reference

MAX_OUTPUT_BYTES = 2 * 2 ** 20  # base64 text of one returned array
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
# Aspects a bare unit name does not stand for: each has a test cell of its own.
NAMED_ONLY = ("offset", "vectorized")
TARGETS = tuple(f"{unit}:{aspect}" for unit, aspects in ASPECTS.items() for aspect in aspects)


def expand(names):
    """Checks as unit:aspect; a bare unit stands for its aspects (offset only when named)."""
    checks = set()
    for name in names:
        unit, _, aspect = name.partition(":")
        if unit not in ASPECTS:
            continue
        if aspect:
            checks |= {name} & set(TARGETS)
        else:
            checks |= {f"{unit}:{a}" for a in ASPECTS[unit] if a not in NAMED_ONLY}
    return checks


def unit_of(check):
    """What the sandbox runs for a check: the function or class, or its offset pair or measurement."""
    unit, _, aspect = check.partition(":")
    return f"{unit}/{aspect}" if aspect in NAMED_ONLY else unit


# ---------------------------------------------------------------- which functions a cell uses


def checks_for(cell):
    """The trusted checks a test cell asks for: declared in its metadata, else derived from its code."""
    declared = cell.get("metadata", {}).get("kit", {}).get("checks")
    return expand(declared if declared is not None else targets_of(cell.source))


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


def rng_for(seed, unit):
    """The generator of one unit's inputs: the same for prepare() and judge() with one seed."""
    return np.random.default_rng([seed, *map(ord, unit)])


def loss_cases(name, seed):
    rng = rng_for(seed, name)
    cases = {}
    for label, (N, reg, one_class) in {"reg0": (24, 0.0, False), "reg": (24, 0.37, False),
                                       "one_example": (1, 0.1, False),
                                       "one_class": (12, 0.05, True)}.items():
        W = 0.05 * rng.standard_normal((14, 6))
        X = rng.standard_normal((N, 14))
        y = np.full(N, 3) if one_class else rng.integers(0, 6, N)
        cases[label] = {"W": W, "X": X, "y": y, "reg": np.float64(reg)}
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


def cases_for(unit, seed):
    if unit.endswith("/vectorized"):
        return {"work": {}}   # measured on data the kernel draws: nothing to compute in advance
    if unit.endswith("/offset"):
        return offset_cases(seed)
    if unit in LOSS_FUNCTIONS or unit in CLASSES:
        return loss_cases(unit, seed)
    return classifier_cases(seed)


# ---------------------------------------------------------------- code run in the sandbox
# The checks run in a kernel of their own, where no test cell (and so no hidden test with
# its reference code) has run. Nothing is shared with it through files: its inputs travel
# inside the cells it runs, sent only when it runs them, and its results come back as
# display outputs of type MIME (base64 .npy arrays), bounded like every output
# (kit/outputs.py) and read here with allow_pickle=False.

MIME = "application/x-kit-check+json"

RUNNER = '''
import base64 as _b64, importlib as _importlib, io as _io, os as _os, sys as _sys
import numpy as _np
from IPython.display import publish_display_data as _publish
_sys.path.insert(0, _os.getcwd())
# Before any student module is imported (the next cell): the measurement's own references.
from utils.vectorization import measure_python_work as _kit_measure
def _kit_arrays(blob):
    with _np.load(_io.BytesIO(_b64.b64decode(blob)), allow_pickle=False) as f:
        return {k: f[k] for k in f.files}
def _kit_send(unit, case, out):
    arrays = {}
    for key, value in out.items():
        buf = _io.BytesIO()
        _np.save(buf, _np.asarray(value, dtype=_np.float64), allow_pickle=False)
        arrays[key] = _b64.b64encode(buf.getvalue()).decode("ascii")
    _publish({%(mime)r: {"unit": unit, "case": case, "arrays": arrays}})
def _kit_probe(unit, target, module, kind, cases):
    obj = getattr(_importlib.import_module(module), target)
    for case, blob in sorted(cases.items()):
        a = _kit_arrays(blob)
        try:
            if kind == "vectorized":
                rng = _np.random.default_rng()
                W = 0.5 * rng.standard_normal((5, 3))
                work = _kit_measure(obj, lambda n: (W.copy(), rng.standard_normal((n, 5)),
                                                    rng.integers(0, 3, n), 0.1))
                out = {"per_example": work.per_example, "tampered": float(work.tampered)}
            elif kind == "loss":
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
            _kit_send(unit, case, out)
        except Exception as err:
            print("check", unit, case, "raised", type(err).__name__)
''' % {"mime": MIME}


def encode_case(arrays):
    """One case's input arrays as base64 text of an .npz (no pickles)."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def call_for(unit, seed):
    """The cell source that runs one unit's cases in the sandbox, its inputs inside it."""
    function = unit.split("/")[0]
    if function in LOSS_FUNCTIONS:
        module = LOSS_FUNCTIONS[function][0]
        kind = "vectorized" if unit.endswith("/vectorized") else "loss"
    else:
        module, kind = "classifiers.linear_classifier", "class_loss" if unit in CLASSES else "classifier"
    cases = {case: encode_case(arrays) for case, arrays in cases_for(unit, seed).items()}
    return f"_kit_probe({unit!r}, {function!r}, {module!r}, {kind!r}, {cases!r})"


def prepare(checks, seed):
    """The runner cell and one cell per unit, {unit: source}, for these checks and seed."""
    units = sorted({unit_of(check) for check in checks})
    return RUNNER, {unit: call_for(unit, seed) for unit in units}


# ---------------------------------------------------------------- judging, in the grader


class WrongResult(Exception):
    pass


def results_of(outputs, unit):
    """{case: {key: base64 text}} from the outputs of one unit's cell; a case sent twice is
    kept as None (which answer counts would be the sender's choice)."""
    found = {}
    for output in outputs:
        data = output.get("data", {}) if output.get("output_type") == "display_data" else {}
        payload = data.get(MIME)
        if not isinstance(payload, dict) or payload.get("unit") != unit:
            continue
        case, arrays = payload.get("case"), payload.get("arrays")
        if not isinstance(case, str) or not isinstance(arrays, dict):
            continue
        found[case] = None if case in found else arrays
    return found


def load(sent, key, shape):
    """A result the sandbox sent, decoded without pickle and checked before any use."""
    if sent is None:
        raise WrongResult("more than one result was sent")
    text = sent.get(key)
    if not isinstance(text, str):
        raise WrongResult(f"no {key} was returned")
    if len(text) > MAX_OUTPUT_BYTES:
        raise WrongResult(f"{key} is too large")
    try:
        value = np.load(io.BytesIO(base64.b64decode(text, validate=True)), allow_pickle=False)
    except Exception:
        raise WrongResult(f"{key} could not be read as a plain array") from None
    if not isinstance(value, np.ndarray) or value.dtype != np.float64 or \
            (value.shape != tuple(shape) if shape is not None else value.size != 1):
        raise WrongResult(f"{key} has shape {getattr(value, 'shape', '?')}, expected {shape or 'a single number'}")
    return value


def relative_error(got, want):
    scale = max(np.linalg.norm(want), 1e-8)
    return float(np.linalg.norm(got - want) / scale)


def judge_case(check, arrays, out):
    unit, _, aspect = check.partition(":")
    if aspect == "vectorized":
        judge_vectorized(out)
    elif aspect in ("loss", "grad"):
        ref = LOSS_FUNCTIONS[unit][1] if unit in LOSS_FUNCTIONS else CLASSES[unit]
        want_loss, want_dW = ref(arrays["W"], arrays["X"], arrays["y"], float(arrays["reg"]))
        loss = float(load(out, "loss", None).reshape(()))
        if not np.isfinite(loss) or abs(loss - want_loss) > LOSS_TOLERANCE * max(1.0, abs(want_loss)):
            raise WrongResult("the loss is wrong")
        if aspect == "grad" or unit in CLASSES:
            dW = load(out, "dW", arrays["W"].shape)
            if not np.all(np.isfinite(dW)) or relative_error(dW, want_dW) > LOSS_TOLERANCE:
                raise WrongResult("the gradient is wrong")
    elif aspect == "predict":
        pred = load(out, "pred", (arrays["X"].shape[0],))
        if not np.array_equal(pred, np.argmax(arrays["X"] @ arrays["W"], axis=1)):
            raise WrongResult("predict does not return the class with the highest score")
    else:
        judge_training(arrays, out)


def judge_vectorized(out):
    """The student's function, measured in the checking kernel at two sizes (utils/vectorization)."""
    from utils.vectorization import MAX_STEPS_PER_EXAMPLE
    per_example = float(load(out, "per_example", None).reshape(()))
    if float(load(out, "tampered", None).reshape(())) != 0.0:
        raise WrongResult("the function switched off or read Python's tracing, or started a "
                          "thread or process, while it was measured")
    if not np.isfinite(per_example) or per_example > MAX_STEPS_PER_EXAMPLE:
        raise WrongResult(f"it runs about {per_example:.1f} Python-level steps per example: "
                          "it loops over the examples")


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


def judge_offset(sent, seed):
    """Stability is invariance: the student's own results with and without the offset agree."""
    shape = offset_cases(seed)["plain"]["W"].shape
    results = {}
    for case in ("plain", "offset"):
        out = sent.get(case, {})
        loss, dW = float(load(out, "loss", None).reshape(())), load(out, "dW", shape)
        if not np.isfinite(loss) or not np.all(np.isfinite(dW)):
            raise WrongResult(f"the loss or gradient is not finite (case '{case}')")
        results[case] = loss, dW
    (loss_a, dW_a), (loss_b, dW_b) = results["plain"], results["offset"]
    if abs(loss_a - loss_b) > LOSS_TOLERANCE * max(1.0, abs(loss_a)) or \
            relative_error(dW_b, dW_a) > LOSS_TOLERANCE:
        raise WrongResult("a constant offset on every score changes the result")


def judge(outputs, checks, seed, mistakes=None):
    """Map each check to None (right) or the reason it is wrong.

    Inputs:
    - outputs: {unit: the outputs of that unit's cell} (from the checking kernel);
    - checks: the checks to judge; seed: the seed prepare() made the inputs with;
    - mistakes: a dict to fill, if given: {check: [] when right, else the names of the
      known mistakes that explain it (kit/mistakes.py)}.
    """
    verdicts = {}
    for check in checks:
        verdicts[check] = None
        unit = unit_of(check)
        sent = results_of(outputs.get(unit, []), unit)
        try:
            offset = check.endswith(":offset")
            if offset:
                judge_offset(sent, seed)
            for case, arrays in cases_for(unit, seed).items() if not offset else ():
                if check.endswith((":predict", ":train")) and not check.endswith(case):
                    continue
                try:
                    judge_case(check, arrays, sent.get(case, {}))
                except WrongResult as err:
                    raise WrongResult(f"{err} (case '{case}')") from None
        except WrongResult as err:
            verdicts[check] = f"{check.split(':')[0]}: {err}"
        if mistakes is not None:
            from .mistakes import OTHER, diagnose
            mistakes[check] = (diagnose(check, sent, seed) or [OTHER]) if verdicts[check] else []
    return verdicts
