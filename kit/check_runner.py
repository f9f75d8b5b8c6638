"""The trusted checks' runner, sent as a cell's source to the checking kernel (kit/checks.py).

It runs in the sandbox, before any student module is imported: it takes its own references
(numpy, the measurement of utils/vectorization), then each later cell calls `_kit_check`
with one call's inputs; results go back as display outputs of type _MIME holding base64
.npy arrays (never pickles). It is never imported by the grader, only read as text.
"""
import base64 as _b64
import importlib as _importlib
import io as _io
import os as _os
import sys as _sys

import numpy as _np
from IPython.display import publish_display_data as _publish

_MIME = "application/x-kit-check+json"
_sys.path.insert(0, _os.getcwd())
# Before any student module is imported (the next cell): the measurement's own references.
from utils.vectorization import measure_python_work as _kit_measure  # noqa: E402


def _kit_arrays(blob):
    with _np.load(_io.BytesIO(_b64.b64decode(blob)), allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _kit_send(call, case, out):
    arrays = {}
    for key, value in out.items():
        buf = _io.BytesIO()
        _np.save(buf, _np.asarray(value, dtype=_np.float64), allow_pickle=False)
        arrays[key] = _b64.b64encode(buf.getvalue()).decode("ascii")
    _publish({_MIME: {"call": call, "case": case, "arrays": arrays}})


def _kit_measured(obj, a):
    rng = _np.random.default_rng()
    W = 0.5 * rng.standard_normal((5, 3))
    work = _kit_measure(obj, lambda n: (W.copy(), rng.standard_normal((n, 5)),
                                        rng.integers(0, 3, n), 0.1))
    return {"per_example": work.per_example, "tampered": float(work.tampered)}


class _KitNothing(Exception):
    """The student's function returned None (a body left as `pass`, a missing return)."""


def _kit_returned(value):
    if value is None:
        raise _KitNothing()
    return value


def _kit_loss(obj, a):
    out = _kit_returned(obj(a["W"].copy(), a["X"].copy(), a["y"].copy(), float(a["reg"])))
    return {"loss": out[0], "dW": out[1]}


def _kit_class_loss(obj, a):
    clf = obj()
    clf.W = a["W"].copy()
    out = _kit_returned(clf.loss(a["X"].copy(), a["y"].copy(), float(a["reg"])))
    return {"loss": out[0], "dW": out[1]}


def _kit_predict(obj, a):
    clf = obj()
    clf.W = a["W"].copy()
    return {"pred": _kit_returned(clf.predict(a["X"].copy()))}


def _kit_train(obj, a):
    batches = []

    class _Recorder(obj):
        def loss(self, X_batch, y_batch, reg):
            batches.append((_np.array(X_batch, dtype=float), _np.array(y_batch)))
            return 1.0, a["G"].copy()

    clf = _Recorder()
    clf.W = a["W"].copy()
    clf.train(a["X"].copy(), a["y"].copy(), learning_rate=float(a["lr"]), reg=0.0,
              num_iters=4, batch_size=16, verbose=False)
    return {"W": clf.W, "Xb": _np.concatenate([b[0] for b in batches]),
            "yb": _np.concatenate([b[1] for b in batches])}


_KIT_KINDS = {"vectorized": _kit_measured, "loss": _kit_loss, "class_loss": _kit_class_loss}


def _kit_failed(call, case, failure, error=None):
    """Send why a call or case gave no result (a `failure`, the exception's type name, never
    its text), so the grader tells the causes apart without reading printed words."""
    _publish({_MIME: {"call": call, "case": case, "failure": failure,
                      "type": type(error).__name__ if error is not None else None}})


def _kit_check(call, target, module, kind, cases):
    """Run one call's cases; send each result, or which case failed and how (never its text)."""
    try:
        obj = getattr(_importlib.import_module(module), target)
    except Exception as err:
        _kit_failed(call, None, "import failed", err)
        raise
    for case, blob in sorted(cases.items()):
        a = _kit_arrays(blob)
        run = _KIT_KINDS.get(kind) or (_kit_predict if case == "predict" else _kit_train)
        try:
            out = run(obj, a)
            _kit_send(call, case, out)
        except _KitNothing:
            _kit_failed(call, case, "returned nothing")
            print("check", call, case, "returned nothing")
        except Exception as err:
            _kit_failed(call, case, "raised", err)
            print("check", call, case, "raised", type(err).__name__)
