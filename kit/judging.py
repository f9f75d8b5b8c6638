"""Judging the trusted checks, in the grader: each check's results (kit/check_results.py)
against kit/reference.py on the same inputs (kit/checks.py drew them), and, for a wrong
one, the known mistakes that explain it (kit/mistakes.py)."""
import numpy as np

from .check_results import WrongResult, failures_of, load, relative_error, results_of
from .checks import (CLASSES, LOSS_FUNCTIONS, LOSS_TOLERANCE, TRAIN_BATCH, TRAIN_STEPS, call_of,
                     cases_for, offset_cases)
from .mistakes import OTHER, diagnose
from .phrases import N_
from utils.vectorization import MAX_STEPS_PER_EXAMPLE


def judge_case(check, arrays, out):
    target, _, aspect = check.partition(":")
    if aspect == "vectorized":
        judge_vectorized(out)
    elif aspect in ("loss", "grad"):
        ref = LOSS_FUNCTIONS[target][1] if target in LOSS_FUNCTIONS else CLASSES[target]
        want_loss, want_dW = ref(arrays["W"], arrays["X"], arrays["y"], float(arrays["reg"]))
        # Each aspect is judged alone: a right gradient keeps its points beside a wrong loss.
        if aspect == "loss" or target in CLASSES:
            loss = float(load(out, "loss", None).reshape(()))
            if not np.isfinite(loss) or abs(loss - want_loss) > LOSS_TOLERANCE * max(1.0, abs(want_loss)):
                raise WrongResult(N_("the loss is wrong"))
        if aspect == "grad" or target in CLASSES:
            dW = load(out, "dW", arrays["W"].shape)
            if not np.all(np.isfinite(dW)) or relative_error(dW, want_dW) > LOSS_TOLERANCE:
                raise WrongResult(N_("the gradient is wrong"))
    elif aspect == "predict":
        pred = load(out, "pred", (arrays["X"].shape[0],))
        if not np.array_equal(pred, np.argmax(arrays["X"] @ arrays["W"], axis=1)):
            raise WrongResult(N_("predict's labels are wrong"))
    else:
        judge_training(arrays, out)


def judge_vectorized(out):
    """The student's function, measured in the checking kernel at two sizes (utils/vectorization)."""
    per_example = float(load(out, "per_example", None).reshape(()))
    if float(load(out, "tampered", None).reshape(())) != 0.0:
        raise WrongResult(N_("the function switched off or read Python's tracing, or started a "
                             "thread or process, while it was measured"))
    if not np.isfinite(per_example) or per_example > MAX_STEPS_PER_EXAMPLE:
        raise WrongResult(N_("it runs about {steps} Python-level steps per example: it loops over "
                             "the examples").format(steps=f"{per_example:.1f}"))


def judge_training(arrays, out):
    steps, batch = TRAIN_STEPS, TRAIN_BATCH
    W = load(out, "W", arrays["W"].shape)
    if relative_error(W, arrays["W"] - steps * float(arrays["lr"]) * arrays["G"]) > 1e-9:
        raise WrongResult(N_("train's updates of W are not the gradient steps the task describes"))
    Xb = load(out, "Xb", (steps * batch, arrays["X"].shape[1]))
    yb = load(out, "yb", (steps * batch,))
    rows = {row.tobytes(): label for row, label in zip(arrays["X"], arrays["y"])}
    for row, label in zip(Xb, yb):
        if rows.get(row.tobytes()) != label:
            raise WrongResult(N_("train's minibatches are not rows of X with their labels"))


def judge_offset(sent, seed):
    """Stability is invariance: the student's own results with and without the offset agree."""
    shape = offset_cases(seed)["plain"]["W"].shape
    results = {}
    for case in ("plain", "offset"):
        out = sent.get(case, {})
        loss, dW = float(load(out, "loss", None).reshape(())), load(out, "dW", shape)
        if not np.isfinite(loss) or not np.all(np.isfinite(dW)):
            raise WrongResult(N_("the loss or gradient is not finite (case '{case}')").format(case=case))
        results[case] = loss, dW
    (loss_a, dW_a), (loss_b, dW_b) = results["plain"], results["offset"]
    if abs(loss_a - loss_b) > LOSS_TOLERANCE * max(1.0, abs(loss_a)) or \
            relative_error(dW_b, dW_a) > LOSS_TOLERANCE:
        raise WrongResult(N_("the result changes when every score is raised by the same large amount"))


def judge(outputs, checks, seed, mistakes=None):
    """Map each check to None (right) or the reason it is wrong.

    Inputs:
    - outputs: {call: the outputs of that call's cell} (from the checking kernel);
    - checks: the checks to judge; seed: the seed prepare() made the inputs with;
    - mistakes: a dict to fill, if given: {check: [] when right, else the names of the
      known mistakes that explain it (kit/mistakes.py)}.
    """
    verdicts = {}
    for check in checks:
        verdicts[check] = None
        call = call_of(check)
        sent = results_of(outputs.get(call, []), call)
        try:
            offset = check.endswith(":offset")
            if offset:
                judge_offset(sent, seed)
            for case, arrays in cases_for(call, seed).items() if not offset else ():
                if check.endswith((":predict", ":train")) and not check.endswith(case):
                    continue
                try:
                    judge_case(check, arrays, sent.get(case, {}))
                except WrongResult as err:
                    raise WrongResult(N_("{reason} (case '{case}')").format(reason=err, case=case)) from None
        except WrongResult as err:
            verdicts[check] = N_("{function}: {reason}").format(function=check.split(":")[0], reason=err)
        if mistakes is not None:
            # A classifier's call runs predict and train: a check answers for its own case only.
            failures = [f for f in failures_of(outputs.get(call, []), call)
                        if not check.endswith((":predict", ":train")) or f["case"] in (None, check.split(":")[1])]
            mistakes[check] = (diagnose(check, sent, seed, failures) or [OTHER]) if verdicts[check] else []
    return verdicts
