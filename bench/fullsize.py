"""Items 8-9 of the benchmark: grading at full CIFAR-10 size (stock nbgrader, kit --jobs 2 and
nbgrader with the kit's configuration, with the memory each takes) and what broken (hanging)
submissions cost.

Inputs: a Report, Sizes, repeats, the wanted items; the notebooks and the real CIFAR-10 subset,
tiled to full size (50,000 + 10,000 images) in a temporary folder for item 8.
Returns: rows added to the Report, report.results["fullsize"] and ["broken"].
"""
import contextlib
import io
import pickle
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

from kit.course import KIT_ROOT, KitError
from kit.notebook_rules import NOTEBOOKS

from .grading import (agree, build_course, find_data_dir, kit_autograde, kit_grades, plain_nbgrader,
                      ratio, take_turns)
from .report import progress

MiB = 1024 * 1024
SAMPLE_SECONDS = 0.25
NUM_TRAIN_BATCHES = 5


# ---------------------------------------------------------------- full-size data


def tile_cifar10(source, target, num_train=50_000, num_test=10_000):
    """Write a full-size CIFAR-10 folder in the original format from a (smaller) one.

    Inputs:
    - source: a cifar-10-batches-py folder (data_batch_1..5, test_batch), any sizes.
    - target: the folder to write (created); data_batch_1..5 with num_train / 5 images each
      and test_batch with num_test, the source's images repeated cyclically, in order.
    - num_train: a positive multiple of 5; num_test: positive.

    Returns the target as a Path. Each batch is a pickle (protocol 2) of a dict with 'data'
    (uint8 (n, 3072)), 'labels' (list of int), 'batch_label' and 'filenames'.
    """
    import numpy as np
    from utils.data_utils import TEST_FILE, TRAIN_FILES, _load_batch_raw
    if num_train < NUM_TRAIN_BATCHES or num_train % NUM_TRAIN_BATCHES or num_test < 1:
        raise ValueError(f"expected num_train a positive multiple of {NUM_TRAIN_BATCHES} and "
                         f"num_test >= 1, got {num_train} and {num_test} instead")
    source, target = Path(source), Path(target)
    parts = [_load_batch_raw(source / name) for name in TRAIN_FILES]
    X_train = np.concatenate([X for X, _ in parts])
    y_train = np.concatenate([y for _, y in parts])
    X_test, y_test = _load_batch_raw(source / TEST_FILE)
    target.mkdir(parents=True, exist_ok=True)
    per_batch = num_train // NUM_TRAIN_BATCHES
    for b, name in enumerate(TRAIN_FILES):
        rows = np.arange(b * per_batch, (b + 1) * per_batch)
        write_batch(target / name, X_train, y_train, rows,
                    f"training batch {b + 1} of {NUM_TRAIN_BATCHES}")
    write_batch(target / TEST_FILE, X_test, y_test, np.arange(num_test), "testing batch 1 of 1")
    if (source / "batches.meta").is_file():
        shutil.copy(source / "batches.meta", target / "batches.meta")
    return target


def write_batch(path, X, y, rows, batch_label):
    """One batch file: the images at `rows` modulo len(X) (cyclic repetition)."""
    picked = rows % X.shape[0]
    batch = {"batch_label": batch_label, "labels": [int(v) for v in y[picked]],
             "data": X[picked], "filenames": [f"tiled_{i:05d}.png" for i in rows]}
    with open(path, "wb") as f:
        pickle.dump(batch, f, protocol=2)


# ---------------------------------------------------------------- memory sampling


def read_memory_kib(pid):
    """(PSS, RSS) of one process in KiB from /proc/PID/smaps_rollup, or None when unreadable."""
    values = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                key = line.split(":", 1)[0]
                if key in ("Pss", "Rss"):
                    values[key] = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return (values["Pss"], values["Rss"]) if len(values) == 2 else None


def is_kernel(process):
    """An IPython kernel: 'ipykernel' in its command line (False when it is gone)."""
    import psutil
    try:
        return any("ipykernel" in part for part in process.cmdline())
    except (psutil.Error, OSError):
        return False


class MemorySampler:
    """Peak memory of the process tree of this process, sampled every SAMPLE_SECONDS in a thread.

    Kernels ('ipykernel' in the command line, found anywhere under this process, sandboxed
    or not) are kept apart from the rest of the tree (the grading processes); this process
    itself counts among the grading processes only if `include_self` (grading in process).
    Peaks in MiB: kernel_pss (any one kernel), kernel_rss (any one kernel), kernels_pss_total
    (all kernels at one instant), grading_pss (all grading processes at one instant).
    Unreadable or vanished processes are skipped.
    """

    def __init__(self, include_self):
        self.include_self = include_self
        self.peaks = dict.fromkeys(("kernel_pss", "kernel_rss", "kernels_pss_total", "grading_pss"), 0)
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        return False

    def _run(self):
        while True:
            self.sample()
            if self._stop.wait(SAMPLE_SECONDS):
                break

    def sample(self):
        import psutil
        me = psutil.Process()
        try:
            tree = me.children(recursive=True)
        except psutil.Error:
            return
        kernels, grading = [], ([me.pid] if self.include_self else [])
        for process in tree:
            (kernels if is_kernel(process) else grading).append(process.pid)
        kernel_memory = [m for m in map(read_memory_kib, kernels) if m]
        grading_memory = [m for m in map(read_memory_kib, grading) if m]
        peaks = self.peaks
        if kernel_memory:
            peaks["kernel_pss"] = max(peaks["kernel_pss"], max(p for p, _ in kernel_memory) / 1024)
            peaks["kernel_rss"] = max(peaks["kernel_rss"], max(r for _, r in kernel_memory) / 1024)
            peaks["kernels_pss_total"] = max(peaks["kernels_pss_total"], sum(p for p, _ in kernel_memory) / 1024)
        peaks["grading_pss"] = max(peaks["grading_pss"], sum(p for p, _ in grading_memory) / 1024)
        self.samples += 1


def sampled(mode, memory, include_self):
    """`mode` wrapped: each run under a MemorySampler, its peaks appended to memory (a list)."""
    def run():
        with MemorySampler(include_self) as sampler:
            output = mode()
        memory.append({**sampler.peaks, "samples": sampler.samples})
        return output
    return run


# ---------------------------------------------------------------- item 8: full-size grading


def bench_fullsize(report, sizes, repeats):
    """Item 8: tiled full-size data, a course with sizes.fullsize_submissions submissions,
    graded by stock nbgrader, kit --jobs 2 and nbgrader with the kit's configuration."""
    data_dir = find_data_dir()
    reason = notebooks_missing() or (None if data_dir else "no CIFAR-10 folder found (set CIFAR10_DIR)")
    if reason is None and not psutil_available():
        reason = "psutil is not installed (the memory sampler needs it)"
    if reason:
        report.add(8, "item8_skipped", f"skipped: {reason}", None, "")
        report.results["fullsize"] = {"skipped": reason}
        return
    repeats = min(repeats, sizes.fullsize_repeats)
    with tempfile.TemporaryDirectory(prefix="kit-bench-fullsize-") as tmp:
        tmp = Path(tmp)
        progress(f"item 8: tiling CIFAR-10 to {sizes.fullsize_train:,} + {sizes.fullsize_test:,} images")
        try:
            tiled = str(tile_cifar10(data_dir, tmp / "cifar-10-batches-py",
                                     sizes.fullsize_train, sizes.fullsize_test))
            course, students = build_course(tmp, sizes.fullsize_submissions, item=8, mix=CLASS_MIX)
            stock = stock_course(course, tmp / "stock") if sizes.slow_items else None
        except Exception as err:  # e.g. notebooks still being written: say so, keep the rest
            report.failures.append(f"item 8: could not tile, release and collect: {type(err).__name__}: {err}")
            report.add(8, "fullsize_failed", "full-size grading: setup failed (see the errors below)", None, "")
            return
        modes, memory = fullsize_modes(sizes, course, stock, students, tiled)
        first_grading(report, 8, lambda: kit_autograde(course, students[:1], tiled, sizes.run_notebooks, jobs=2))
        progress(f"item 8: grading {len(students)} submissions at full size in modes "
                 f"{', '.join(modes)} ({repeats} repeats)")
        samples, outputs, errors, busy = take_turns(modes, repeats)
    for name, error in errors.items():
        report.failures.append(f"item 8: grading mode {name} failed: {error}")
    grades = {name: [g if name != "kit_jobs_2" else kit_grades(g) for g in runs]
              for name, runs in outputs.items() if runs}
    fullsize_rows(report, sizes, len(students), samples, grades, busy, memory,
                  [r for run in outputs.get("kit_jobs_2", []) for r in run])


# A class hands in mostly finished work: three complete submissions for one partial one
# (a batch of quick partial and untouched submissions would mostly measure start-up).
CLASS_MIX = ("reference", "reference", "partial", "reference")


def first_grading(report, item, grade):
    """Grade once, untimed by the comparison: the first grading with a setting times the
    reference solution once (kit/autograde/reference_times.py, kept in the user's cache),
    a one-time cost per course and machine that is not any submission's. Not in --smoke,
    whose figures mean nothing: there the timing falls into the first measured grading."""
    if report.smoke:
        report.add(item, f"item{item}_first_grading_left_out", "first grading: left out in --smoke", None, "")
        return
    progress(f"item {item}: a first grading, which times the reference solution once if needed")
    start = time.perf_counter()
    try:
        grade()
    except Exception as err:  # the modes below will say what is wrong
        report.failures.append(f"item {item}: the first grading failed: {type(err).__name__}: {err}")
        return
    report.add(item, f"item{item}_first_grading_seconds",
               "first grading of one submission (with timing the reference, if not cached)",
               time.perf_counter() - start, "s")


def notebooks_missing():
    missing = [nb for nb in NOTEBOOKS if not (KIT_ROOT / "notebooks" / nb).is_file()]
    return f"notebooks/{' and notebooks/'.join(missing)} not found" if missing else None


def psutil_available():
    try:
        import psutil  # noqa: F401
    except ImportError:
        return False
    return True


def fullsize_modes(sizes, course, stock, students, data_dir):
    """The grading modes of item 8, each under a memory sampler; (modes, memory lists)."""
    run_notebooks = sizes.run_notebooks
    modes = {"kit_jobs_2": (lambda: kit_autograde(course, students, data_dir, run_notebooks, jobs=2), True)}
    if stock is not None:
        modes["stock_nbgrader"] = (lambda: plain_nbgrader(stock, data_dir, students), False)
        modes["nbgrader_kit"] = (lambda: plain_nbgrader(course, data_dir, students), False)
    memory = {name: [] for name in modes}
    return {name: sampled(mode, memory[name], in_process) for name, (mode, in_process) in modes.items()}, memory


def stock_course(course, target):
    """A copy of the course that `nbgrader autograde` grades with nbgrader's own pipeline: its
    default sanitize and autograde preprocessors (read from nbgrader), a 600 s cell timeout."""
    from nbgrader.converters import Autograde
    shutil.copytree(course, target)
    traits = Autograde.class_traits()
    lines = [f"c.CourseDirectory.root = {str(target.resolve())!r}"]
    for name in ("sanitize_preprocessors", "autograde_preprocessors"):
        classes = [f"{cls.__module__}.{cls.__name__}" if isinstance(cls, type) else str(cls)
                   for cls in traits[name].default()]
        lines.append(f"c.Autograde.{name} = {classes!r}")
    lines.append("c.Execute.timeout = 600  # nbgrader's default 30 s is too short for the training cells")
    config = target / "nbgrader_config.py"
    config.write_text(config.read_text() + "\n# python -m bench, item 8: stock nbgrader (later lines win)\n"
                      + "\n".join(lines) + "\n")
    return target


def fullsize_rows(report, sizes, n, samples, grades, busy, memory, kit_results=()):
    per_submission = {name: statistics.median(s) / n for name, s in samples.items() if s}
    results = {"submissions": n, "run_notebooks": sizes.run_notebooks,
               "num_train": sizes.fullsize_train, "num_test": sizes.fullsize_test,
               "seconds_per_submission": per_submission, "samples": samples,
               "busy_core_seconds": busy, "memory_mib": memory}
    report.results["fullsize"] = results
    size = "full size" if sizes.fullsize_train >= 50_000 else f"{sizes.fullsize_train:,} images"
    if not per_submission:
        report.add(8, "fullsize_failed", "full-size grading: every mode failed (see the errors below)",
                   None, "")
        return
    for name, s in per_submission.items():
        report.add(8, f"fullsize_{name}_seconds_per_submission",
                   f"{size}, {name.replace('_', ' ')}: s per submission", s, "s")
    for other in ("kit_jobs_2", "nbgrader_kit"):
        if "stock_nbgrader" in per_submission and other in per_submission:
            report.add(8, f"fullsize_stock_vs_{other}", f"{size}: stock nbgrader / {other.replace('_', ' ')}",
                       ratio(per_submission, "stock_nbgrader", other), target=">= 2.0")
    for name, runs in busy.items():
        pairs = [(b, s) for b, s in zip(runs, samples[name]) if b is not None]
        if pairs:
            report.add(8, f"fullsize_{name}_cores_busy", f"{size}, {name.replace('_', ' ')}: cores busy",
                       sum(b for b, _ in pairs) / sum(s for _, s in pairs), "cores")
    grade_rows(report, results, grades, size)
    memory_rows(report, results, memory, size)
    cgroup_rows(report, results, kit_results, size)


def cgroup_rows(report, results, kit_results, size):
    """What the sandbox's memory cgroup charged each kind of kernel at most (kit jobs 2's
    GradingResult.memory_peaks): the figure its memory limit is held against. A mapped
    shared array counts in a kernel's RSS and PSS, but its pages were charged to the
    grader that wrote them: the kernel's own memory is this one."""
    peaks = {}
    for result in kit_results:
        for role, value in getattr(result, "memory_peaks", {}).items():
            peaks[role] = max(peaks.get(role, 0), value)
    results["cgroup_peaks_mib"] = {role: value / MiB for role, value in peaks.items()}
    for role, value in sorted(peaks.items()):
        report.add(8, f"fullsize_kit_cgroup_{role}_mib",
                   f"{size}, kit jobs 2: most memory charged to one {role} kernel (cgroup)",
                   round(value / MiB), "MiB")


def grade_rows(report, results, grades, size):
    """kit --jobs 2 and nbgrader with the kit's configuration must agree; stock nbgrader (no
    trusted checks) is only compared, cell by cell."""
    if "kit_jobs_2" not in grades:
        return
    reference = grades["kit_jobs_2"][0]
    results["grades"] = {name: {"/".join(k): v for k, v in runs[-1].items()} for name, runs in grades.items()}
    if not reference:
        report.failures.append("item 8: kit --jobs 2 produced no autograded scores at all")
    if "nbgrader_kit" in grades:
        same = all(agree(g, reference) for g in grades["nbgrader_kit"] + grades["kit_jobs_2"])
        results["same_grades"] = same
        report.add(8, "fullsize_same_grades", f"{size}: same grades kit jobs 2 and nbgrader kit",
                   same, "", "== yes")
        if not same:
            report.failures.append("item 8: nbgrader with the kit's configuration gave other grades "
                                   "than kit --jobs 2")
    if "stock_nbgrader" in grades:
        stock = grades["stock_nbgrader"][-1]
        differ = sorted("/".join(k) for k, v in reference.items() if stock.get(k) != v)
        results["stock_cells_differing"] = differ
        report.add(8, "fullsize_stock_grades_agree",
                   f"{size}: stock nbgrader's autograded cells equal to kit's",
                   f"{len(reference) - len(differ)} of {len(reference)}", "")


def memory_rows(report, results, memory, size):
    from kit.sandbox import Limits
    labels = {"kernel_pss": "peak PSS of one kernel", "kernel_rss": "peak RSS of one kernel",
              "kernels_pss_total": "peak PSS of all kernels at once",
              "grading_pss": "peak PSS of the grading processes"}
    peaks = {name: {key: max(run[key] for run in runs) for key in labels}
             for name, runs in memory.items() if runs}
    results["memory_peaks_mib"] = peaks
    for name, peak in peaks.items():
        for key, label in labels.items():
            report.add(8, f"fullsize_{name}_{key}_mib", f"{size}, {name.replace('_', ' ')}: {label}",
                       round(peak[key]), "MiB")
    limit = Limits().memory_bytes / MiB
    highest = max((peak["kernel_rss"] for peak in peaks.values()), default=0)
    results["sandbox_memory_limit_mib"] = limit
    if highest:
        report.add(8, "sandbox_memory_limit_mib",
                   f"sandbox memory limit per kernel (>= 2 x peak kernel RSS {highest:.0f} MiB)",
                   round(limit), "MiB", f">= {2 * highest:.0f}")


# ---------------------------------------------------------------- item 9: broken submissions


HANG_VECTORIZED = ('\n\ndef svm_loss_vectorized(W, X, y, reg):\n'
                   '    """python -m bench, item 9: a submission that never returns."""\n'
                   '    while True:\n        pass\n')
HANG_TRAIN = ('\n\ndef _train_forever(self, *args, **kwargs):\n'
              '    """python -m bench, item 9: training that never ends."""\n'
              '    while True:\n        pass\n\n\nLinearClassifier.train = _train_forever\n')
BROKEN_KINDS = {  # kind -> (file under classifiers/, how its text changes)
    "hang_vectorized": ("linear_svm.py", lambda text: text + HANG_VECTORIZED),
    "hang_import": ("softmax.py", lambda text: "while True:\n    pass\n" + text),
    "hang_train": ("linear_classifier.py", lambda text: text + HANG_TRAIN),
}


def break_submission(folder, kind):
    """Change the submission in `folder` (a copy of the reference) the way `kind` says."""
    name, change = BROKEN_KINDS[kind]
    path = Path(folder) / "classifiers" / name
    path.write_text(change(path.read_text()))


def build_broken_course(root, kinds):
    """Release the kit into root/course, collect the reference and one broken copy of it per
    kind; returns (course, {'reference' or kind: student})."""
    from kit import collect, demo, release
    progress(f"item 9: releasing the kit and collecting the reference and {len(kinds)} broken submissions")
    course = root / "course"
    with contextlib.redirect_stdout(io.StringIO()):
        release.run(kit_root=KIT_ROOT, course=course, dist=root / "dist")
    reference = demo.build_submissions(course, root / "kinds")[0]
    students, folders = {}, []
    for i, kind in enumerate(("reference",) + tuple(kinds)):
        target = root / "submissions" / f"b{i + 1:02d}_{kind}"
        shutil.copytree(reference, target)
        if kind != "reference":
            break_submission(target, kind)
        students[kind] = target.name
        folders.append(target)
    results = collect.run(paths=[str(f) for f in folders], course_dir=course, verbose=False)
    refused = [r for r in results if r.refused]
    if refused:
        raise KitError(f"collect refused a benchmark submission: {refused[0].message}")
    return course, students


def total_score(results):
    """The autograded points of one graded submission (its results from kit_autograde)."""
    return sum(s for s in kit_grades(results).values() if s is not None)


def bench_broken(report, sizes, repeats):
    """Item 9: the reference and each broken kind graded alone (--jobs 1, the real subset),
    taking turns; what each kind costs over the reference, and that it scores less."""
    data_dir = find_data_dir()
    reason = notebooks_missing() or (None if data_dir else "no CIFAR-10 folder found (set CIFAR10_DIR)")
    if reason:
        report.add(9, "item9_skipped", f"skipped: {reason}", None, "")
        report.results["broken"] = {"skipped": reason}
        return
    repeats = min(repeats, sizes.fullsize_repeats)
    kinds = sizes.broken_kinds
    with tempfile.TemporaryDirectory(prefix="kit-bench-broken-") as tmp:
        try:
            course, students = build_broken_course(Path(tmp), kinds)
        except Exception as err:
            report.failures.append(f"item 9: could not release and collect: {type(err).__name__}: {err}")
            report.add(9, "broken_failed", "broken submissions: setup failed (see the errors below)", None, "")
            return
        timeouts = {} if sizes.broken_cell_timeout is None else {"cell_timeout": sizes.broken_cell_timeout}
        modes = {kind: (lambda student=student: kit_autograde(course, [student], data_dir, sizes.run_notebooks,
                                                              jobs=1, **timeouts))
                 for kind, student in students.items()}
        first_grading(report, 9, modes["reference"])
        progress(f"item 9: grading the reference and {', '.join(kinds)} one at a time ({repeats} repeats)")
        samples, outputs, errors, _ = take_turns(modes, repeats)
    for name, error in errors.items():
        report.failures.append(f"item 9: grading {name} failed: {error}")
    broken_rows(report, sizes, kinds, samples, outputs)


def broken_rows(report, sizes, kinds, samples, outputs):
    seconds = {name: statistics.median(s) for name, s in samples.items() if s}
    scores = {name: total_score(runs[-1]) for name, runs in outputs.items() if runs}
    results = {"kinds": list(kinds), "run_notebooks": sizes.run_notebooks,
               "cell_timeout": sizes.broken_cell_timeout, "seconds": seconds, "samples": samples,
               "scores": scores}
    report.results["broken"] = results
    if "reference" not in seconds:
        report.add(9, "broken_failed", "broken submissions: the reference failed (see the errors below)",
                   None, "")
        return
    report.add(9, "broken_reference_seconds", "reference submission, graded alone (--jobs 1)",
               seconds["reference"], "s")
    for kind in kinds:
        if kind in seconds:
            report.add(9, f"{kind}_extra_seconds", f"{kind.replace('_', ' ')}: extra s over the reference",
                       seconds[kind] - seconds["reference"], "s", "<= 120")
    done = [kind for kind in kinds if kind in seconds]
    if done:
        report.add(9, "broken_total_seconds", f"the {len(done)} broken kinds, one after the other (--jobs 1)",
                   sum(seconds[kind] for kind in done), "s")
    below = all(scores[kind] < scores["reference"] for kind in done)
    results["scores_below_reference"] = below
    report.add(9, "broken_scores", f"broken kinds' points ({', '.join(f'{scores[k]:g}' for k in done)}) "
               f"< reference's ({scores['reference']:g})", below, "", "== yes")
    if not below:
        report.failures.append(f"item 9: a broken submission scored as much as the reference: {scores}")
