"""Which known mistake explains a wrong result of a trusted check (kit/checks.py).

A loss check gives the student's function the grader's own inputs (W, X, y, reg) in a
few cases (reg = 0 and reg > 0, one example, one class); the function sends back its
(loss, dW). When a check fails, each known mistake below predicts what a function with
that mistake returns, computed from the reference (kit/reference.py) on the same inputs:
the regularization term and its gradient are taken as the reference adds them
(ref(reg) - ref(0)), never written out here. A mistake is named when its prediction
matches what the student sent in EVERY case of the check (the loss and the gradient
are diagnosed apart, so one submission can have one mistake in each); a failing check
that no mistake explains is "other" (a wrong result); one without a result is put down
to its cause, as the checking kernel sent it (check_results.failures_of): "import_failed" (its
module could not be imported, or lacks the function), "not_implemented" (it still raises
the starter's NotImplementedError), "raised" (another error), "no_result" (it returned
nothing, or nothing the grader could read).

The table MISTAKES is the one list: its name (stored in grading.json, counted in the
report), the words a student reads in their feedback, and how it is recognised.
Nothing here reads anything but arrays already decoded by check_results.load (no pickles).
"""
from dataclasses import dataclass

import numpy as np

from . import check_results, checks, reference
from .phrases import N_

OTHER = "other"
NO_RESULT = "no_result"
IMPORT_FAILED = "import_failed"
NOT_IMPLEMENTED = "not_implemented"
RAISED = "raised"
# Causes, not mistakes: a student's feedback names none of them (the cell's own error says
# more), and the report lists them after the named mistakes.
UNNAMED = (IMPORT_FAILED, NOT_IMPLEMENTED, RAISED, NO_RESULT, OTHER)
# Looser than the checks' own tolerance: a prediction is itself computed in float64
# from the reference, the margin-0 hinge as a limit (see margin_zero).
TOLERANCE = 10 * checks.LOSS_TOLERANCE
# A hinge with margin d is d times the margin-1 hinge of W / d; this small d stands for 0.
ZERO_MARGIN = 1e-9
# A right-class probability below this lets an epsilon of about 1e-8 inside the log move the
# loss past the tolerance (1e-8 / 1e-3 = 1e-5).
EPSILON_EXPOSED = 1e-3


@dataclass(frozen=True)
class Mistake:
    name: str
    words: str                # for the student's feedback and the report
    predicts: dict            # "loss" / "grad" -> (Case -> the predicted loss or dW); "offset"
    svm_only: bool = False

class Case:
    """One case of a loss check, with the reference's pieces the predictions are made of."""

    def __init__(self, ref, arrays):
        W, X, y, reg = arrays["W"], arrays["X"], arrays["y"], float(arrays["reg"])
        self.ref, self.W, self.X, self.y, self.N = ref, W, X, y, X.shape[0]
        self.loss, self.grad = ref(W, X, y, reg)
        self.data_loss, self.data_grad = ref(W, X, y, 0.0)
        # The regularization exactly as the reference adds it.
        self.reg_loss, self.reg_grad = self.loss - self.data_loss, self.grad - self.data_grad

    def smallest_correct_probability(self):
        """Softmax: the smallest probability given to an example's own class (from the
        reference's per-example losses); a tiny one makes a small epsilon inside the log
        change the loss."""
        losses = [self.ref(self.W, self.X[i:i + 1], self.y[i:i + 1], 0.0)[0] for i in range(self.N)]
        return float(np.exp(-max(losses)))

    def margin(self):
        """The SVM's margin (delta), from the reference: with W = 0 every score is 0, so each
        of the C - 1 wrong classes costs exactly the margin."""
        C = self.W.shape[1]
        return self.ref(np.zeros_like(self.W), self.X, self.y, 0.0)[0] / (C - 1)

    def zero_margin(self):
        """The data loss and gradient of a hinge with margin 0 instead of 1."""
        loss, grad = self.ref(self.W / ZERO_MARGIN, self.X, self.y, 0.0)
        return ZERO_MARGIN * loss, grad


MISTAKES = (
    # The words say where to look and what kind of slip it is, never the fix (no formula, no
    # "instead of ...": tests/unit/test_feedback_words.py keeps a list of giveaways).
    Mistake("reg_missing_loss", N_("The loss seems to leave out the regularization term."),
            {"loss": lambda c: c.data_loss}),
    Mistake("reg_loss_half", N_("The loss's regularization term is off by a constant factor: "
                                "compare it with the regularization the notebook defines."),
            {"loss": lambda c: c.data_loss + c.reg_loss / 2}),
    Mistake("reg_loss_per_example", N_("The loss's regularization term grows with the number of "
                                       "examples: look at how often it is added."),
            {"loss": lambda c: c.data_loss + c.N * c.reg_loss}),
    Mistake("reg_scaled_by_n", N_("The regularization part (of the loss, or of dW) shrinks as the "
                                  "number of examples grows: look at what it is scaled by."),
            {"loss": lambda c: c.data_loss + c.reg_loss / c.N,
             "grad": lambda c: c.data_grad + c.reg_grad / c.N}),
    Mistake("reg_missing_grad", N_("dW seems to leave out the regularization term's part."),
            {"grad": lambda c: c.data_grad}),
    Mistake("reg_grad_per_example", N_("dW's regularization part grows with the number of "
                                       "examples: look at how often it is added."),
            {"grad": lambda c: c.data_grad + c.N * c.reg_grad}),
    Mistake("reg_grad_factor_2", N_("dW is off by a constant factor in its regularization part."),
            {"grad": lambda c: c.data_grad + c.reg_grad / 2}),
    Mistake("summed_not_averaged", N_("The data part of the loss or of dW grows with the number of "
                                      "examples: compare it with how the task combines them."),
            {"loss": lambda c: c.N * c.data_loss + c.reg_loss,
             "grad": lambda c: c.N * c.data_grad + c.reg_grad}),
    Mistake("margin_counts_correct_class", N_("The hinge loss counts a term for the correct class "
                                              "too: look at which classes the sum runs over."),
            {"loss": lambda c: c.loss + c.margin()}, svm_only=True),
    Mistake("margin_zero", N_("The hinge loss's margin is not the one the task defines."),
            {"loss": lambda c: c.zero_margin()[0] + c.reg_loss,
             "grad": lambda c: c.zero_margin()[1] + c.reg_grad}, svm_only=True),
    Mistake("no_max_shift", N_("With large scores the loss or dW becomes inf or nan: look for "
                               "where the computation overflows."), {"offset": None}),
    Mistake("log_epsilon", N_("The loss is off where the probability of the correct class is "
                              "tiny: look at what the log is taken of."),
            {}),
    Mistake("loss_called_twice", N_("train calls the loss more than once per iteration (look at "
                                    "what one iteration computes and records)."), {"train": None}),
    Mistake(IMPORT_FAILED, N_("The module could not be imported, or does not define the function "
                              "(look for a syntax error or a failing import)."), {}),
    Mistake(NOT_IMPLEMENTED, N_("The function is not implemented: it still raises the starter "
                                "code's NotImplementedError."), {}),
    Mistake(RAISED, N_("The function raised an error on the grader's inputs."), {}),
    Mistake(NO_RESULT, N_("The function returned nothing, or nothing the grader could read "
                          "(check what it returns and the shapes)."), {}),
    Mistake(OTHER, N_("A wrong result the grader has no name for: compare your function with the "
                      "task's description."), {}),
)
BY_NAME = {m.name: m for m in MISTAKES}


def words(name):
    """The student-facing words of a mistake name (names not in the table read as "other")."""
    return BY_NAME.get(name, BY_NAME[OTHER]).words


def close(part, got, want):
    if part == "loss":
        return bool(np.isfinite(got)) and abs(got - want) <= TOLERANCE * max(1.0, abs(want))
    return bool(np.all(np.isfinite(got))) and check_results.relative_error(got, want) <= TOLERANCE


def diagnose(check, sent, seed, failures=()):
    """The names of the known mistakes that explain a failing check.

    Inputs:
    - check: "target:aspect", as judging.judge judges it;
    - sent: {case: {key: base64 text}} the checking kernel sent for the check's call
      (check_results.results_of);
    - seed: the seed the check's inputs were drawn with;
    - failures: how the call's cases failed, as the kernel sent it (check_results.failures_of).
    Returns a sorted list of mistake names: one cause (no_result_cause) when the results
    could not be read, ["other"] when no mistake explains them, [] when the loss and
    gradient the check looks at are right.
    """
    names = diagnose_results(check, sent, seed)
    return [no_result_cause(failures)] if names == [NO_RESULT] else names


def no_result_cause(failures):
    """Why a check has no result it can judge, from the kernel's failures (check_results.failures_of):
    the import first (nothing ran), then the starter's NotImplementedError, then any error."""
    kinds = {(f["failure"], f["type"]) for f in failures}
    if any(failure == "import failed" for failure, _ in kinds):
        return IMPORT_FAILED
    if ("raised", "NotImplementedError") in kinds:
        return NOT_IMPLEMENTED
    if any(failure == "raised" for failure, _ in kinds):
        return RAISED
    return NO_RESULT


def diagnose_results(check, sent, seed):
    """diagnose() from the results alone: ["no_result"] when they cannot be read."""
    target, _, aspect = check.partition(":")
    if not sent:
        return [NO_RESULT]
    if aspect == "offset":
        return diagnose_offset(sent, seed)
    if aspect == "train":
        return diagnose_training(sent, seed)
    ref = checks.LOSS_FUNCTIONS[target][1] if target in checks.LOSS_FUNCTIONS else checks.CLASSES.get(target)
    if aspect not in ("loss", "grad") or ref is None:
        return [OTHER]
    # The parts the check judges (judging.judge_case): each aspect alone, a class's loss both.
    parts = ("loss", "grad") if target in checks.CLASSES else (aspect,)
    cases, got = [], []
    for case, arrays in checks.cases_for(target, seed).items():
        out = sent.get(case, {})
        try:
            value = {"loss": float(check_results.load(out, "loss", None).reshape(()))} if "loss" in parts else {}
            if "grad" in parts:
                value["grad"] = check_results.load(out, "dW", arrays["W"].shape)
        except check_results.WrongResult:
            return [NO_RESULT]
        cases.append(Case(ref, arrays))
        got.append(value)
    names = set()
    # Softmax cases where the right class gets a tiny probability are judged apart: there a
    # small epsilon inside the log (public solutions add 1e-8 or so) changes the loss too.
    softmax = ref is reference.softmax_loss
    exposed = [softmax and c.smallest_correct_probability() < EPSILON_EXPOSED for c in cases]
    for part in parts:
        right = [close(part, g[part], c.loss if part == "loss" else c.grad) for c, g in zip(cases, got)]
        if all(right):
            continue
        known = [m for m in MISTAKES if part in m.predicts and (not softmax or not m.svm_only)]
        judged = [i for i in range(len(cases)) if not (part == "loss" and exposed[i])]
        explained = {m.name for m in known
                     if all(close(part, got[i][part], m.predicts[part](cases[i])) for i in judged)}
        if part == "loss" and any(exposed) and (explained or all(right[i] for i in judged)):
            # What is left: the exposed cases, lower than predicted, as an epsilon makes them.
            predicted = [BY_NAME[next(iter(explained))].predicts["loss"](c) if explained else c.loss
                         for c in cases]
            if any(exposed[i] and got[i]["loss"] < predicted[i] and not close("loss", got[i]["loss"], predicted[i])
                   for i in range(len(cases))):
                explained = explained | {"log_epsilon"}
        names |= explained or {OTHER}
    return sorted(names)


def diagnose_training(sent, seed):
    """The loss called more than once per step: right gradient steps, but each step's
    minibatch recorded a whole number of times (judging.judge_training's recorder)."""
    arrays = checks.classifier_cases(seed)["train"]
    out = sent.get("train", {})
    steps, batch = checks.TRAIN_STEPS, checks.TRAIN_BATCH
    try:
        W = check_results.load(out, "W", arrays["W"].shape)
        recorded = check_results.rows_sent(out, "Xb")
    except check_results.WrongResult:
        return [NO_RESULT]
    right_steps = check_results.relative_error(W, arrays["W"] - steps * float(arrays["lr"]) * arrays["G"]) <= 1e-9
    if right_steps and recorded > steps * batch and recorded % (steps * batch) == 0:
        return ["loss_called_twice"]
    return [OTHER]


def diagnose_offset(sent, seed):
    """No max-shift: finite results without the offset, inf or nan with it."""
    shape = checks.offset_cases(seed)["plain"]["W"].shape
    finite = {}
    for case in ("plain", "offset"):
        out = sent.get(case, {})
        try:
            loss, dW = float(check_results.load(out, "loss", None).reshape(())), check_results.load(out, "dW", shape)
        except check_results.WrongResult:
            return [NO_RESULT]
        finite[case] = bool(np.isfinite(loss) and np.all(np.isfinite(dW)))
    return ["no_max_shift"] if finite["plain"] and not finite["offset"] else [OTHER]
