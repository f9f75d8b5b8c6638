"""How long the reference solution takes for each cell, on this grading machine: the base
of every cell's time limit (limits.py).

The reference solution (the instructor's notebooks and classifiers/) is graded once as
a submission, with the batch's own settings (data, BLAS threads, whether notebooks run),
and each cell's time recorded. It must score full marks: if it does not, the grader or
its environment is broken and no limit could be trusted, so grading stops with a message.
Timings are kept in the user's cache folder (`$XDG_CACHE_HOME/kit`, else `~/.cache/kit`),
under a key made of everything they depend on: the source notebooks and classifiers,
the data set's files, the BLAS threads, whether notebooks run and how the data is shared.
Any change is a new key, measured again; nothing else is ever cached there. The ceiling
(the cell timeout) is not part of the key: a reference that ran past it is never kept,
so kept times hold under any ceiling. With a ceiling at or under limits.FLOOR_SECONDS,
every limit is the ceiling whatever the reference takes, and nothing is measured.

The machine's speed changes between then and now (other work, other graders): a short
probe (`machine_seconds`, a fixed piece of Python and numpy work) is timed with the
reference and again when a batch starts, and the reference's times are scaled by how much
slower the machine is now (never made shorter): a reference that is merely slow on a busy
grader keeps its limits in proportion.
"""
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from .. import cells
from ..course import Course, KitError
from ..problems import ProblemKind
from ..scores import AUTO
from .limits import FLOOR_SECONDS
from ..reference_submission import reference_submission
from .steps import grade_submission

CACHE_ENV = "XDG_CACHE_HOME"
PROBE_KEY = "(machine probe seconds)"   # kept beside the cell keys in the cache file


def machine_seconds(repeats=3):
    """Wall-clock seconds of a fixed piece of work like a notebook's (a Python loop and
    small matrix products), the median of `repeats`: how fast this machine is right now."""
    import numpy as np
    rng = np.random.default_rng(0)
    a = rng.standard_normal((200, 200))
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        total = 0
        for i in range(100_000):
            total += i * i
        for _ in range(10):
            a = np.tanh(a @ a.T / 200.0)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def scaled(times, now_seconds):
    """The cached cell times scaled to the machine's speed now (slower: longer; never shorter).
    Returns ({cell key: seconds}, the factor)."""
    then = times.get(PROBE_KEY)
    cells = {k: v for k, v in times.items() if k != PROBE_KEY}
    factor = max(1.0, now_seconds / then) if then and now_seconds else 1.0
    return {k: v * factor for k, v in cells.items()}, factor


def cache_folder():
    base = os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kit" / "reference-times"


def fingerprint(course, task):
    """A hash of everything the reference's cell times depend on."""
    from utils.data_utils import source_stamp
    digest = hashlib.sha256()
    source = Course(course).source
    for path in sorted(source.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".ipynb", ".py"):
            digest.update(str(path.relative_to(source)).encode() + b"\0" + path.read_bytes() + b"\0")
    settings = {"data": source_stamp(task.data_dir) if task.data_dir else None,
                "blas_threads": task.blas_threads, "run_notebooks": task.run_notebooks,
                "shared_data": bool(task.shared_data),
                "python": sys.version_info[:2]}
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:32]


def load_or_measure(course, task, progress=True):
    """{cell key: seconds} of the reference on this machine with `task`'s settings (a
    GradingTask, whose files are not used), scaled to the machine's speed now: read from
    the cache, else measured now; {} when no limit could follow them (a low ceiling)."""
    if task.cell_timeout is not None and task.cell_timeout <= FLOOR_SECONDS:
        return {}   # cell_limit() would give the ceiling for every cell
    path = cache_folder() / f"{fingerprint(course, task)}.json"
    try:
        cached = json.loads(path.read_text())
        if isinstance(cached, dict) and all(isinstance(v, (int, float)) for v in cached.values()):
            times, factor = scaled(cached, machine_seconds())
            if progress and factor > 1.5:
                print(f"This machine is {factor:.1f}x slower than when the reference solution was "
                      "timed: cell time limits are stretched to match.", flush=True)
            return times
    except (OSError, ValueError):
        pass   # not measured yet (or an unreadable cache file): measure
    if progress:
        print("Timing the reference solution once with these settings (cell time limits "
              "follow it; kept in " + str(cache_folder()) + ")...", flush=True)
    probe = machine_seconds()
    times = measure(course, task)
    if times is None:
        return {}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as f:
            json.dump({**times, PROBE_KEY: probe}, f, indent=1, sort_keys=True)
        os.replace(f.name, path)
    except OSError as err:   # a read-only home: measured again next time, that is all
        print(f"note: could not keep the reference timings in {path} ({err.strerror})")
    return times


def measure(course, task):
    """Grade the reference solution with `task`'s settings; {cell key: seconds}, or None
    when the grader's own environment failed (a kernel that cannot start, data the sandbox
    cannot read): every submission will fail the same way and say why, so the batch goes
    on with the plain cell timeout and reports it, as it would without timings."""
    with tempfile.TemporaryDirectory(prefix="kit-reference-") as tmp:
        folder = reference_submission(course, Path(tmp) / "reference")
        files, _ = cells.student_files(folder)
    reference = replace(task, student="(reference solution)", files=files, reference_times=None,
                        problems=[], timestamp=None)
    times = {}
    result = grade_submission(reference, times)
    if result.failed:
        return None
    short = [f"{name} {gid}: {s.score}/{s.max}" for name, nb in result.notebooks.items()
             for gid, s in nb.scores.items() if s.kind == AUTO and not s.passed]
    if short:
        raise KitError("the reference solution does not get full marks on this grader, so no cell "
                       f"time limit can be derived from it ({', '.join(short)}). "
                       + ("It ran past the cell timeout: grade with a longer --cell-timeout, or with "
                          "--tests-only (which times far less). " if timed_out(result) else
                          "Check the data folder (--data) and that bubblewrap works "
                          "(python -m kit demo shows both), then grade again."))
    return times


def timed_out(result):
    """Whether a grading ran into a time limit (its own or the cell timeout)."""
    return any(p.kind in (ProblemKind.TIMEOUT, ProblemKind.TIME_LIMIT) for p in result.all_problems())
