"""What the checking kernel sent back (kit/checks.py runs the student's functions there),
read in the grader: display outputs of type checks.MIME holding base64 .npy arrays,
decoded with allow_pickle=False and checked for type and shape before any use. Nothing
that came out of the sandbox is unpickled or run. Judging them is kit/judging.py's job.
"""
import base64
import io

import numpy as np

from .checks import MIME
from .phrases import N_

MAX_OUTPUT_BYTES = 2 * 2 ** 20  # base64 text of one returned array


class WrongResult(Exception):
    pass


def results_of(outputs, call):
    """{case: {key: base64 text}} from the outputs of one call's cell; a case sent twice is
    kept as None (which answer counts would be the sender's choice)."""
    found = {}
    for output in outputs:
        data = output.get("data", {}) if output.get("output_type") == "display_data" else {}
        payload = data.get(MIME)
        if not isinstance(payload, dict) or payload.get("call") != call:
            continue
        case, arrays = payload.get("case"), payload.get("arrays")
        if not isinstance(case, str) or not isinstance(arrays, dict):
            continue
        found[case] = None if case in found else arrays
    return found


def failures_of(outputs, call):
    """How one call's cases failed, as the runner sent it (`_kit_failed`): [{case (None for
    the call itself), failure ("import failed", "raised" or "returned nothing"), type (the
    exception's type name or None)}]; entries of another shape are ignored."""
    found = []
    for output in outputs:
        data = output.get("data", {}) if output.get("output_type") == "display_data" else {}
        payload = data.get(MIME)
        if not isinstance(payload, dict) or payload.get("call") != call or \
                not isinstance(payload.get("failure"), str):
            continue
        kind = payload.get("type")
        found.append({"case": payload.get("case"), "failure": payload["failure"],
                      "type": kind if isinstance(kind, str) else None})
    return found


def load(sent, key, shape):
    """A result the sandbox sent, decoded without pickle and checked before any use."""
    if sent is None:
        raise WrongResult(N_("more than one result was sent"))
    text = sent.get(key)
    if not isinstance(text, str):
        raise WrongResult(N_("no {key} was returned").format(key=key))
    if len(text) > MAX_OUTPUT_BYTES:
        raise WrongResult(N_("{key} is too large").format(key=key))
    try:
        value = np.load(io.BytesIO(base64.b64decode(text, validate=True)), allow_pickle=False)
    except Exception:
        raise WrongResult(N_("{key} could not be read as a plain array").format(key=key)) from None
    if not isinstance(value, np.ndarray) or value.dtype != np.float64 or \
            (value.shape != tuple(shape) if shape is not None else value.size != 1):
        raise WrongResult(N_("{key} has shape {shape}, expected {expected}").format(
            key=key, shape=getattr(value, "shape", "?"), expected=shape or N_("a single number")))
    return value


def relative_error(got, want):
    scale = max(np.linalg.norm(want), 1e-8)
    return float(np.linalg.norm(got - want) / scale)


def rows_sent(sent, key):
    """How many rows a 2-D float64 array the sandbox sent has (checked like load(), any shape)."""
    text = sent.get(key) if sent is not None else None
    if not isinstance(text, str) or len(text) > MAX_OUTPUT_BYTES:
        raise WrongResult(N_("no readable {key} was returned").format(key=key))
    try:
        value = np.load(io.BytesIO(base64.b64decode(text, validate=True)), allow_pickle=False)
    except Exception:
        raise WrongResult(N_("{key} could not be read as a plain array").format(key=key)) from None
    if not isinstance(value, np.ndarray) or value.dtype != np.float64 or value.ndim != 2:
        raise WrongResult(N_("{key} is not a table of numbers").format(key=key))
    return value.shape[0]
