"""Items 5-7 of the benchmark: both notebooks run top to bottom, autograding in every mode
(--jobs 1, --jobs 2, plain nbgrader, a local Dask cluster) with identical grades, and
grading one submission against the bare run of its notebooks.

Inputs: a Report, Sizes, repeats, the wanted items; the notebooks and CIFAR-10.
Returns: rows added to the Report (or a row saying why an item was skipped).
"""
import contextlib
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kit.course import ASSIGNMENT, KIT_ROOT, Course, KitError
from kit.notebook_rules import NOTEBOOKS

from .report import NOTEBOOK_TIMEOUT, progress


# ---------------------------------------------------------------- items 5-7: notebooks, grading


def find_data_dir():
    """CIFAR-10 for the notebooks: CIFAR10_DIR, data/, else the shared real subset beside the repo."""
    from utils.data_utils import find_cifar10_dir
    for candidate in (None, KIT_ROOT.parent / "shared" / "data" / "cifar10-subset" / "cifar-10-batches-py"):
        try:
            return str(find_cifar10_dir(str(candidate) if candidate else None))
        except FileNotFoundError:
            continue
    return None


def bench_grading(report, sizes, repeats, wanted):
    missing = [nb for nb in NOTEBOOKS if not (KIT_ROOT / "notebooks" / nb).is_file()]
    data_dir = find_data_dir()
    reason = (f"notebooks/{' and notebooks/'.join(missing)} not found" if missing else
              None if data_dir else "no CIFAR-10 folder found (set CIFAR10_DIR)")
    if reason:
        for item in sorted(wanted & {5, 6, 7}):
            report.add(item, f"item{item}_skipped", f"skipped: {reason}", None, "")
        report.results["grading"] = {"skipped": reason}
        return
    grading_repeats = min(repeats, sizes.max_grading_repeats)
    if 5 in wanted and sizes.slow_items:
        bench_notebooks(report, data_dir, grading_repeats)
    elif 5 in wanted:
        report.add(5, "notebooks_skipped", "notebooks: skipped in --smoke", None, "")
    if not wanted & {6, 7}:
        return
    with tempfile.TemporaryDirectory(prefix="kit-bench-") as tmp:
        try:
            course, students = build_course(Path(tmp), sizes.submissions)
        except Exception as err:  # e.g. notebooks still being written: say so, keep the rest
            report.failures.append(f"could not release and collect: {type(err).__name__}: {err}")
            report.add(6, "autograde_failed", "autograding: release failed (see the errors below)",
                       None, "")
            return
        if 6 in wanted:
            bench_autograde(report, sizes, course, students, data_dir, grading_repeats)
        if 7 in wanted and sizes.slow_items:
            bench_one_submission(report, course, students[0], data_dir, grading_repeats, Path(tmp))
        elif 7 in wanted:
            report.add(7, "one_submission_skipped", "one submission vs bare run: skipped in --smoke",
                       None, "")


def notebook_env(data_dir):
    return {**os.environ, "CIFAR10_DIR": data_dir,
            "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}


def execute_notebooks(folder, env, notebooks=NOTEBOOKS):
    """Run notebooks top to bottom with nbclient in `folder` (kernel cwd); seconds per notebook."""
    import nbformat
    from nbclient import NotebookClient
    seconds = {}
    for name in notebooks:
        nb = nbformat.read(Path(folder) / name, as_version=4)
        client = NotebookClient(nb, timeout=NOTEBOOK_TIMEOUT, kernel_name="python3",
                                resources={"metadata": {"path": str(folder)}})
        start = time.perf_counter()
        client.execute(env=env)
        seconds[name] = time.perf_counter() - start
    return seconds


def bench_notebooks(report, data_dir, repeats):
    progress(f"item 5: both notebooks, real data ({repeats} repeats)")
    env = notebook_env(data_dir)
    runs = []
    try:
        for _round in range(repeats):
            runs.append(execute_notebooks(KIT_ROOT / "notebooks", env))
    except Exception as err:  # a failing notebook is a result to report, not a crash
        report.failures.append(f"a notebook failed: {type(err).__name__}: "
                               f"{str(err).strip().splitlines()[-1] if str(err).strip() else ''}")
        report.add(5, "notebooks_failed", "notebooks: failed (see the error below)", None, "")
        return
    seconds = {nb: statistics.median(r[nb] for r in runs) for nb in NOTEBOOKS}
    report.results["notebooks"] = {"seconds": seconds, "samples": runs, "data_dir": data_dir}
    for nb in NOTEBOOKS:
        report.add(5, f"notebook_{nb.split('.')[0]}_seconds", f"{nb}, top to bottom",
                   seconds[nb], "s", "<= 60")


def build_course(root, count, item=6, mix=("reference", "partial", "untouched")):
    """Release the kit into root/course and collect `count` demo submissions, their kinds
    taken in turn from `mix` (reference, partial, untouched)."""
    from kit import collect, demo, release
    progress(f"item {item}: releasing the kit and collecting {count} submissions")
    course = root / "course"
    with contextlib.redirect_stdout(io.StringIO()):
        release.run(kit_root=KIT_ROOT, course=course, dist=root / "dist")
    kinds = demo.build_submissions(course, root / "kinds")  # reference, untouched, partial
    by_name = {"reference": kinds[0], "untouched": kinds[1], "partial": kinds[2]}
    order = [by_name[name] for name in mix]                   # reference first: item 7 grades it
    folders = []
    for i in range(count):
        kind = order[i % len(order)]
        target = root / "submissions" / f"s{i + 1:02d}_{kind.name.replace('demo_', '')}"
        shutil.copytree(kind, target)
        folders.append(target)
    results = collect.run(paths=[str(f) for f in folders], course_dir=course, verbose=False)
    refused = [r for r in results if r.refused]
    if refused:
        raise KitError(f"collect refused a benchmark submission: {refused[0].message}")
    return course, [f.name for f in folders]


def kit_grades(results):
    """{(student, notebook, grade_id): score} of the autograded cells, from autograde results."""
    grades = {}
    for result in results:
        for nb, graded in result.notebooks.items():
            for gid, s in graded.scores.items():
                if s.kind == "auto":
                    grades[(result.student, nb, gid)] = s.score
    return grades


def kit_autograde(course, students, data_dir, run_notebooks, **mode):
    from kit import autograde
    with contextlib.redirect_stdout(io.StringIO()):
        return autograde.run(course=course, students=students, data_dir=data_dir,
                             run_notebooks=run_notebooks, progress=False, **mode)


def bench_autograde(report, sizes, course, students, data_dir, repeats):
    graded = {"jobs_1": students[:sizes.jobs_1_submissions], "jobs_2": students}
    modes = {"jobs_1": lambda: kit_autograde(course, graded["jobs_1"], data_dir, sizes.run_notebooks, jobs=1),
             "jobs_2": lambda: kit_autograde(course, students, data_dir, sizes.run_notebooks, jobs=2)}
    if sizes.slow_items:
        graded["nbgrader"] = students
        modes["nbgrader"] = lambda: plain_nbgrader(course, data_dir, students)
    cluster = dask_cluster() if sizes.slow_items else contextlib.nullcontext()
    with cluster as dask:
        if dask:
            graded["dask_2_workers"] = students
            modes["dask_2_workers"] = lambda: kit_autograde(course, students, data_dir,
                                                            sizes.run_notebooks, **dask)
        progress(f"item 6: grading {len(students)} submissions in modes {', '.join(modes)} "
                 f"({repeats} repeats)")
        samples, outputs, errors, busy = take_turns(modes, repeats)
    for name, error in errors.items():
        report.failures.append(f"grading mode {name} failed: {error}")
    grades = {name: [g if name == "nbgrader" else kit_grades(g) for g in runs]
              for name, runs in outputs.items() if runs}
    if not {"jobs_1", "jobs_2"} <= set(grades):
        report.add(6, "autograde_failed", "autograding: failed (see the errors below)", None, "")
        return
    autograde_rows(report, sizes, {name: len(graded[name]) for name in grades}, samples, grades, busy)


def take_turns(modes, repeats):
    """Run each mode `repeats` times in turns; (seconds lists, outputs lists, first error per
    mode, busy core-seconds lists: the whole machine's, None where /proc/stat is missing)."""
    samples = {name: [] for name in modes}
    outputs = {name: [] for name in modes}
    busy = {name: [] for name in modes}
    errors = {}
    names = list(modes)
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            if name in errors:
                continue
            start, cpu_start = time.perf_counter(), busy_core_seconds()
            try:
                outputs[name].append(modes[name]())
            except Exception as err:  # a broken mode is a result to report; the others go on
                errors[name] = f"{type(err).__name__}: {err}"
                continue
            samples[name].append(time.perf_counter() - start)
            cpu_end = busy_core_seconds()
            busy[name].append(None if cpu_start is None or cpu_end is None else cpu_end - cpu_start)
            progress(f"  {name}: {samples[name][-1]:.1f} s")
    return samples, outputs, errors, busy


def busy_core_seconds():
    """CPU seconds all cores have spent busy since boot (Linux /proc/stat), or None.

    The whole machine's, on purpose: sandboxed kernels are not children this process
    reaps, so its own rusage misses them; run the benchmark on an otherwise quiet machine.
    """
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq [steal guest guest_nice]: steal is time the
    # hypervisor gave to other machines, and guest time is counted in user already.
    busy = sum(fields[:7]) - fields[3] - (fields[4] if len(fields) > 4 else 0)
    return busy / os.sysconf("SC_CLK_TCK")


def autograde_rows(report, sizes, counts, samples, grades, busy):
    n = max(counts.values())
    per_submission = {name: statistics.median(s) / counts[name] for name, s in samples.items() if s}
    # Every run of every mode (repeats included) must give the grades of the first --jobs 2 run
    # (which graded every submission), on the submissions both graded.
    reference = grades["jobs_2"][0]
    same = {name: all(agree(g, reference) for g in runs) for name, runs in grades.items()}
    report.results["autograde"] = {
        "submissions": counts, "run_notebooks": sizes.run_notebooks,
        "seconds_per_submission": per_submission, "samples": samples, "busy_core_seconds": busy,
        "same_grades": same,
        "grades": {name: {"/".join(k): v for k, v in runs[-1].items()} for name, runs in grades.items()}}
    seconds = per_submission  # the ratios below compare seconds per submission
    for name, s in seconds.items():
        report.add(6, f"{name}_seconds_per_submission", f"{name.replace('_', ' ')}: s per submission",
                   s, "s")
    report.add(6, "jobs_2_speedup", f"--jobs 2 speed-up over --jobs 1 ({n} submissions)",
               ratio(seconds, "jobs_1", "jobs_2"), target=">= 1.7" if n >= 8 else "")
    if "nbgrader" in seconds:
        report.add(6, "nbgrader_vs_jobs_1", "nbgrader autograde (kit's course config) / --jobs 1",
                   ratio(seconds, "nbgrader", "jobs_1"), target=">= 1.0")
    if "dask_2_workers" in seconds:
        report.add(6, "dask_speedup", "Dask, 2 local workers: speed-up over --jobs 1",
                   ratio(seconds, "jobs_1", "dask_2_workers"))
    cpu_rows(report, counts, samples, busy, seconds)
    report.add(6, "same_grades", f"same grades in all modes and runs ({', '.join(same)})",
               all(same.values()), "", "== yes")
    for name, ok in same.items():
        if not ok:
            report.failures.append(f"grading mode {name} gave other grades than --jobs 2")
    if not reference:
        report.failures.append("grading produced no autograded scores at all")


def cpu_rows(report, counts, samples, busy, seconds):
    """How much of the machine each mode kept busy, and the --jobs 2 speed-up its CPU work
    allows: all cores busy for the whole run, against --jobs 1 as measured."""
    core_seconds = {}
    for name, runs in busy.items():
        pairs = [(b, s) for b, s in zip(runs, samples[name]) if b is not None]
        if not pairs:
            continue
        report.add(6, f"{name}_cores_busy", f"{name.replace('_', ' ')}: cores busy on average",
                   sum(b for b, _ in pairs) / sum(s for _, s in pairs), "cores")
        core_seconds[name] = statistics.median(b for b, _ in pairs) / counts[name]
        report.add(6, f"{name}_core_seconds_per_submission",
                   f"{name.replace('_', ' ')}: busy core-seconds per submission", core_seconds[name], "s")
    if "jobs_2" in core_seconds and "jobs_1" in seconds:
        floor = core_seconds["jobs_2"] / (os.cpu_count() or 1)
        report.add(6, "jobs_2_speedup_ceiling",
                   "--jobs 2 speed-up its CPU work allows (all cores busy)", seconds["jobs_1"] / floor)


def agree(grades, reference):
    """The reference's scores, exactly, for the submissions `grades` covers (at least one)."""
    students = {key[0] for key in grades}
    expected = {key: score for key, score in reference.items() if key[0] in students}
    return bool(grades) and grades == expected


def ratio(seconds, top, bottom):
    return seconds[top] / seconds[bottom] if top in seconds and bottom in seconds else None


@contextlib.contextmanager
def dask_cluster():
    """A two-worker Dask cluster on 127.0.0.1, mutual TLS as the README's; yields
    {"scheduler": address, "certificates": the client's folder} (autograde.run's arguments),
    or None without Dask."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        yield None
        return
    import logging
    from kit.autograde import cluster
    environment = dict(os.environ)
    with cluster.local_cluster(workers=2, silence_logs=logging.ERROR) as dask:
        # Dask's nanny sets OMP/MKL/OPENBLAS_NUM_THREADS=1 in this process's environment for
        # its workers and leaves them there: nbgrader's and the bare run's kernels would then
        # inherit one-thread BLAS and look slower than they are.
        os.environ.clear()
        os.environ.update(environment)
        yield dask


def plain_nbgrader(course, data_dir, students):
    """`nbgrader autograde` as an instructor would run it in the course folder, with the
    configuration `kit release` wrote there (the kit's grading inside nbgrader); its grades."""
    from nbgrader.api import Gradebook
    # Every submission in the (private) course: nbgrader's --student takes one id or a glob.
    command = [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--force", "--log-level=ERROR"]
    proc = subprocess.run(command, cwd=course, env=notebook_env(data_dir), capture_output=True, text=True)
    if proc.returncode != 0:
        raise KitError(f"nbgrader autograde failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    grades = {}
    with Gradebook(Course(course).gradebook_url, Course(course).coursedir().course_id) as gb:
        for student in students:
            for nb in NOTEBOOKS:
                notebook = gb.find_notebook(nb.replace(".ipynb", ""), ASSIGNMENT)
                for cell in notebook.grade_cells:
                    if cell.cell_type == "code":   # test cells; written answers are graded by hand
                        grade = gb.find_grade(cell.name, notebook.name, ASSIGNMENT, student)
                        grades[(student, nb, cell.name)] = grade.auto_score
    return grades


def bench_one_submission(report, course, student, data_dir, repeats, root):
    progress(f"item 7: grading {student} against the bare run of its notebooks ({repeats} repeats)")
    env = notebook_env(data_dir)

    def bare():
        folder = root / "bare"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(Course(course).submitted(student), folder)
        return execute_notebooks(folder, env)

    candidates = {"grade": lambda: kit_autograde(course, [student], data_dir, True, jobs=1),
                  "bare_nbclient": bare}
    samples, _, errors, _ = take_turns(candidates, repeats)
    for name, error in errors.items():
        report.failures.append(f"item 7, {name} failed: {error}")
    if errors:
        report.add(7, "one_submission_failed", "one submission vs bare run: failed", None, "")
        return
    seconds = {name: statistics.median(s) for name, s in samples.items()}
    report.results["one_submission"] = {"student": student, "seconds": seconds, "samples": samples}
    report.add(7, "grade_one_seconds", "grading one submission (--jobs 1)", seconds["grade"], "s")
    report.add(7, "bare_run_seconds", "bare nbclient run of its two notebooks", seconds["bare_nbclient"], "s")
    report.add(7, "grade_vs_bare", "grading one submission / bare run",
               seconds["grade"] / seconds["bare_nbclient"], target="<= 1.3")
