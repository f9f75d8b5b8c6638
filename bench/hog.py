"""Item 10 of the benchmark: a correct submission graded alone and beside a CPU hog (--jobs 2).

The hog is the untouched release whose classifiers/linear_svm.py forks busy-looping
processes at import, so every kernel of it burns CPU. The sandbox gives each kernel one
equal CPU share (kit/sandbox/cgroups.py), so the reference's kernels should keep about
their share however many processes the hog starts: the figure is the reference's grading
time beside the hog over its time alone, in the same run (tests only, to keep it short).

Inputs: a Report, Sizes, repeats; the notebooks and CIFAR-10.
Returns: rows added to the Report, report.results["hog"].
"""
import contextlib
import statistics
import tempfile
import time
from pathlib import Path

from kit.course import KIT_ROOT, Course, KitError

from .fullsize import first_grading, notebooks_missing
from .grading import find_data_dir, kit_autograde, take_turns
from .report import progress

# At import: fork `processes` busy loops that stop by themselves after `seconds` (they die
# with the kernel's cgroup anyway). Once per process: a second import (a reload) must not
# double them past the sandbox's process limit (64, threads included).
HOG = '''import os as _hog_os, time as _hog_time
if not _hog_os.environ.get("BENCH_HOG_FORKED"):
    _hog_os.environ["BENCH_HOG_FORKED"] = "1"
    _hog_end = _hog_time.time() + {seconds}
    for _hog_i in range({processes}):
        if _hog_os.fork() == 0:  # python -m bench, item 10: a busy child, bounded in time
            while _hog_time.time() < _hog_end:
                pass
            _hog_os._exit(0)
'''
# The reference first (its name sorts first). The untouched release is the control: graded
# beside it, the reference pays for the process pool and a second, quiet submission only.
STUDENTS = {"reference": "h01_reference", "hog": "h02_hog", "quiet": "h03_untouched"}


def hog_source(processes, seconds):
    """The lines the hog's linear_svm.py starts with."""
    return HOG.format(processes=int(processes), seconds=float(seconds))


def build_hog_course(root, processes, seconds):
    """Release the kit into root/course and collect the reference, the hog and the untouched
    release (the quiet control); the course."""
    import io
    from kit import collect, release
    from kit.demo import copy_release, reference_submission
    progress(f"item 10: releasing the kit and collecting the reference and a hog "
             f"({processes} busy processes per kernel for {seconds:g} s)")
    course = root / "course"
    with contextlib.redirect_stdout(io.StringIO()):
        release.run(kit_root=KIT_ROOT, course=course, dist=root / "dist")
    reference = reference_submission(course, root / "submissions" / STUDENTS["reference"])
    hog = copy_release(Course(course).release, root / "submissions" / STUDENTS["hog"])
    module = hog / "classifiers" / "linear_svm.py"
    module.write_text(hog_source(processes, seconds) + module.read_text())
    quiet = copy_release(Course(course).release, root / "submissions" / STUDENTS["quiet"])
    results = collect.run(paths=[str(reference), str(hog), str(quiet)], course_dir=course, verbose=False)
    refused = [r for r in results if r.refused]
    if refused:
        raise KitError(f"collect refused a benchmark submission: {refused[0].message}")
    return course


def cpu_share_mechanism():
    """How the sandbox shares the cores between kernels here: km.enforcement['cpu_share'] of
    one sandboxed kernel started and shut down again ('cgroup v1 cpu.shares', ..., 'nice')."""
    from kit import sandbox
    with tempfile.TemporaryDirectory(prefix="kit-bench-share-") as workdir:
        km = sandbox.kernel_manager(workdir=workdir, asynchronous=False,
                                    client_class="kit.outputs.BoundedKernelClient")
        km.start_kernel()
        try:
            return km.enforcement.get("cpu_share")
        finally:
            km.shutdown_kernel(now=True)


@contextlib.contextmanager
def arrival_times(arrived):
    """Note when each submission's result comes back (kit.score_store.store is called in this
    process as results arrive): autograde.run returns only once the whole batch is done,
    and beside the hog the reference's own time is the figure, not the hog's."""
    from kit import score_store
    store = score_store.store

    def noting(course, result):
        arrived[result.student] = time.perf_counter()
        return store(course, result)
    score_store.store = noting
    try:
        yield
    finally:
        score_store.store = store


def reference_seconds(grade):
    """`grade` wrapped: it returns (seconds until the reference's result came back, results)."""
    def run():
        arrived = {}
        start = time.perf_counter()
        with arrival_times(arrived):
            results = grade()
        if STUDENTS["reference"] not in arrived:
            raise KitError("the reference's result never came back (a grader error?)")
        return arrived[STUDENTS["reference"]] - start, results
    return run


def full_marks(results):
    """(points, most points) of the reference's autograded cells in one grading's results."""
    result = next(r for r in results if r.student == STUDENTS["reference"])
    return result.totals("auto")


def bench_hog(report, sizes, repeats):
    """Item 10: the reference graded alone, beside the untouched release and beside the hog
    (--jobs 2, tests only), the three batches taking turns."""
    data_dir = find_data_dir()
    reason = notebooks_missing() or (None if data_dir else "no CIFAR-10 folder found (set CIFAR10_DIR)")
    if reason is None:
        from kit import sandbox
        usable, why = sandbox.isolation_status()
        reason = None if usable else f"bubblewrap is not usable here: {why}"
    if reason:
        report.add(10, "item10_skipped", f"skipped: {reason}", None, "")
        report.results["hog"] = {"skipped": reason}
        return
    repeats = min(repeats, sizes.hog_repeats)
    with tempfile.TemporaryDirectory(prefix="kit-bench-hog-") as tmp:
        try:
            course = build_hog_course(Path(tmp), sizes.hog_processes, sizes.hog_seconds)
            mechanism = cpu_share_mechanism()
        except Exception as err:
            report.failures.append(f"item 10: could not release and collect: {type(err).__name__}: {err}")
            report.add(10, "hog_failed", "beside a CPU hog: setup failed (see the errors below)", None, "")
            return
        reference = STUDENTS["reference"]
        batches = {"alone": [reference], "beside_quiet": [reference, STUDENTS["quiet"]],
                   "beside_hog": [reference, STUDENTS["hog"]]}
        modes = {name: reference_seconds(lambda students=students: kit_autograde(
                     course, students, data_dir, False, jobs=2))
                 for name, students in batches.items()}
        # The same settings as the batches below (BLAS threads follow --jobs): the reference
        # times they use are then measured here, not inside the first batch timed.
        first_grading(report, 10, lambda: kit_autograde(course, [reference], data_dir, False, jobs=2))
        progress(f"item 10: grading the reference alone, beside the untouched release and beside "
                 f"the hog, --jobs 2, tests only "
                 f"({repeats} repeats; cpu share: {mechanism})")
        _, outputs, errors, _ = take_turns(modes, repeats)
    for name, error in errors.items():
        report.failures.append(f"item 10: grading {name.replace('_', ' ')} failed: {error}")
    hog_rows(report, sizes, mechanism, outputs)


def hog_rows(report, sizes, mechanism, outputs):
    seconds = {name: [s for s, _ in runs] for name, runs in outputs.items() if runs}
    marks = {name: [full_marks(results) for _, results in runs] for name, runs in outputs.items() if runs}
    median = {name: statistics.median(s) for name, s in seconds.items()}
    results = {"mechanism": mechanism, "processes": sizes.hog_processes, "hog_seconds": sizes.hog_seconds,
               "jobs": 2, "run_notebooks": False, "seconds": median, "samples": seconds, "marks": marks}
    report.results["hog"] = results
    report.add(10, "hog_cpu_share", "how kernels share the cores (km.enforcement)", mechanism, "")
    labels = {"alone": "reference graded alone (--jobs 2, tests only)",
              "beside_quiet": "reference beside the untouched release (--jobs 2)",
              "beside_hog": f"reference beside a hog ({sizes.hog_processes} busy processes per kernel)"}
    for name, label in labels.items():
        if name in median:
            report.add(10, f"hog_reference_{name}_seconds", label, median[name], "s")
    if {"alone", "beside_hog"} <= set(median):
        results["ratio"] = median["beside_hog"] / median["alone"]
        report.add(10, "hog_slowdown", "reference beside the hog / alone", results["ratio"])
    if {"beside_quiet", "beside_hog"} <= set(median):
        results["ratio_to_quiet"] = median["beside_hog"] / median["beside_quiet"]
        report.add(10, "hog_slowdown_vs_quiet", "reference beside the hog / beside the untouched release",
                   results["ratio_to_quiet"])
    full = bool(marks) and all(got == most > 0 for runs in marks.values() for got, most in runs)
    results["full_marks"] = full
    report.add(10, "hog_reference_full_marks", "the reference gets full marks in every batch",
               full, "", "== yes")
    if not full:
        report.failures.append(f"item 10: the reference lost points (points, most points): {marks}")
