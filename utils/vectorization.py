"""Is my function vectorized? Count the Python-level work a call does per example.

A vectorized loss hands whole arrays to numpy: its Python code runs the same number of
steps for 10 examples as for 10,000. A loop over the examples, in whatever form (a `for`
loop, a list comprehension, `map`, `np.apply_along_axis`, `np.vectorize`, a helper in
another file, code built with `exec`), runs some Python for every example. So instead of
timing the function (timings are noisy), this module runs it at two sizes under Python's
own tracing hooks and counts, in every file and every frame:

- each line of Python that runs (sys.settrace "line" events),
- each call of a Python function (sys.setprofile "call" events),
- each call of a builtin function from Python code (sys.setprofile "c_call" events),

then divides the growth of that count by the growth of the number of examples. A constant
overhead (numpy's own Python wrappers, a loop over the 10 classes) adds nothing per
example; a loop over the examples adds at least about one step per example.

Try it on your own code, from your assignment folder:

    python -m utils.vectorization

or in a notebook:

    from utils.vectorization import measure_python_work
    work = measure_python_work(
        svm_loss_vectorized,
        lambda n: (W, np.random.randn(n, 5), np.random.randint(3, size=n), 0.1))
    print(work)                       # steps at each size and steps per extra example

Tracing only sees Python: a loop that runs entirely inside C without calling a single
Python function (for instance `map` over the rows with a numpy method as the callee) is
not counted. Do not write one: it is exactly as slow as the Python loop.
"""
import _thread
import gc
import os
import sys
import threading
from dataclasses import dataclass

import numpy as np

from .messages import _

# References taken when this module is imported, so that code which later replaces
# sys.settrace & co. by something else cannot fool the measurement through them.
_settrace = sys.settrace
_setprofile = sys.setprofile
_gettrace = sys.gettrace
_getprofile = sys.getprofile
_thread_settrace = threading.settrace
_thread_setprofile = threading.setprofile
_thread_gettrace = threading.gettrace
_thread_getprofile = threading.getprofile
_collect = gc.collect
_gc_enable = gc.enable
_gc_disable = gc.disable
_gc_isenabled = gc.isenabled

DEFAULT_SIZES = (1000, 10000)
# Steps per extra example above which a function counts as looping over the examples. A
# loop over examples costs at least ~1; a loop over blocks of a few hundred rows stays well
# below this.
MAX_STEPS_PER_EXAMPLE = 0.25


def _named(objects):
    """{object: 'module.name'} for the objects that exist in this Python (others skipped)."""
    found = {}
    for owner, names in objects:
        for name in names:
            obj = getattr(owner, name, None)
            if obj is not None:  # aliases (start_new of start_new_thread) keep the first name
                found.setdefault(obj, "%s.%s" % (getattr(owner, "__name__", "?"), name))
    return found


# Builtin functions that switch the tracer or profiler, or read them (a function that only
# computes has no use for either); seen as "c_call" events of the profiler.
_TRACE_BUILTINS = _named([
    (sys, ("settrace", "setprofile", "gettrace", "getprofile",
           "_settraceallthreads", "_setprofileallthreads")),
])
# The same for the threading module's hooks, which are Python functions: seen by their code.
_TRACE_CODES = {
    getattr(threading, name).__code__: "threading." + name
    for name in ("settrace", "setprofile", "gettrace", "getprofile",
                 "settrace_all_threads", "setprofile_all_threads")
    if hasattr(getattr(threading, name, None), "__code__")
}
# Builtin functions that start a thread or a process: work done there is out of sight of
# the tracer of the calling thread, and a vectorized function starts neither.
_START_BUILTINS = _named([
    (_thread, ("start_new_thread", "start_new", "start_joinable_thread")),
    (os, ("fork", "forkpty", "posix_spawn", "posix_spawnp", "system", "execv", "execve")),
])
try:
    import _posixsubprocess
    _START_BUILTINS.update(_named([(_posixsubprocess, ("fork_exec",))]))
except ImportError:  # not on POSIX
    pass


@dataclass(frozen=True)
class Steps:
    """
    Python-level steps counted during one call.

    - lines: Python lines run, in every file and frame.
    - calls: Python function calls (each resumption of a generator counts as one).
    - c_calls: builtin functions called from Python code.
    """
    lines: int
    calls: int
    c_calls: int

    @property
    def total(self):
        return self.lines + self.calls + self.c_calls


@dataclass(frozen=True)
class PythonWork:
    """
    What measure_python_work found.

    - sizes: (n_small, n_large), the two numbers of examples the function ran on.
    - small, large: Steps counted at each size.
    - per_example: (large.total - small.total) / (n_large - n_small), the Python-level
      steps each extra example costs; about 0 for a vectorized function.
    - tampering: what the call did to the measurement or beside it (switched the tracer or
      profiler, read them, started a thread or a process), one phrase each; empty if nothing.
    """
    sizes: tuple
    small: Steps
    large: Steps
    per_example: float
    tampering: tuple = ()

    @property
    def tampered(self):
        """True if the call changed or read the tracing, or started a thread or process."""
        return bool(self.tampering)

    def __str__(self):
        text = (_("{:,} steps at N = {:,}, {:,} at N = {:,}: {:.2f} Python-level steps per "
                  "extra example").format(self.small.total, self.sizes[0], self.large.total,
                                       self.sizes[1], self.per_example))
        if self.tampering:
            text += _("; tampered: ") + "; ".join(self.tampering)
        return text


def _check_sizes(sizes):
    try:
        n_small, n_large = (int(n) for n in sizes)
    except (TypeError, ValueError):
        raise TypeError("expected sizes to be two numbers of examples, like (1000, 10000), "
                        "got %r instead" % (sizes,)) from None
    if not 1 <= n_small < n_large:
        raise ValueError("expected sizes (n_small, n_large) with 1 <= n_small < n_large, "
                         "got %r instead" % (sizes,))
    return n_small, n_large


def _arguments(make_args, n):
    args = make_args(n)
    if not isinstance(args, (tuple, list)):
        raise TypeError("expected make_args(%d) to return the tuple of arguments for the "
                        "function, got %s instead" % (n, type(args).__name__))
    return tuple(args)


def _materialize(result):
    """Turn the result into float arrays, so a lazy result cannot do its work later, untraced."""
    for item in (result if isinstance(result, (tuple, list)) else (result,)):
        try:
            np.asarray(item, dtype=np.float64)
        except Exception:  # not numbers at all: judging the values is the other tests' job
            pass


def _traced_call(fn, args):
    """Call fn(*args) with every Python step counted; return (Steps, tampering phrases)."""
    # lines, profiled calls, c_calls, traced calls, traced returns, profiled returns
    counts = [0, 0, 0, 0, 0, 0]
    found = {}          # phrase -> None: an ordered set
    active = [True]

    def local(frame, event, arg):
        if event == "line":
            counts[0] += 1
        elif event == "return":
            counts[4] += 1
        return local

    def tracer(frame, event, arg):
        if not active[0]:           # a thread that outlived the call: stop tracing it
            _settrace(None)
            return None
        counts[3] += 1
        return local

    def profiler(frame, event, arg):
        if not active[0]:
            _setprofile(None)
            return
        if event == "c_call":
            if frame.f_code in exempt:  # the measurement's own calls
                return
            counts[2] += 1
            if arg in _TRACE_BUILTINS:
                found["called %s" % _TRACE_BUILTINS[arg]] = None
            elif arg in _START_BUILTINS:
                found["started a thread or a process (%s)" % _START_BUILTINS[arg]] = None
            if frame.f_trace is not local and frame.f_code not in exempt:
                found["switched off line tracing in a frame (frame.f_trace)"] = None
        elif event == "call":
            counts[1] += 1
            if frame.f_code in _TRACE_CODES:
                found["called %s" % _TRACE_CODES[frame.f_code]] = None
        elif event == "return" and frame.f_code not in exempt:
            counts[5] += 1
            if frame.f_trace is not local or not frame.f_trace_lines:
                found["switched off line tracing in a frame (frame.f_trace)"] = None

    # Threads started during the call get hooks of their own (counted, and reported as a
    # start anyway): the ones a thread can read back must not be the ones checked below.
    def thread_tracer(frame, event, arg):
        return tracer(frame, event, arg)

    def thread_profiler(frame, event, arg):
        return profiler(frame, event, arg)

    exempt = {_traced_call.__code__}
    exempt.update(getattr(threading.Thread, name).__code__
                  for name in ("_bootstrap", "_bootstrap_inner") if hasattr(threading.Thread, name))

    saved = (_gettrace(), _getprofile(), _thread_gettrace(), _thread_getprofile())
    _thread_settrace(thread_tracer)
    _thread_setprofile(thread_profiler)
    _settrace(tracer)
    _setprofile(profiler)
    try:
        _materialize(fn(*args))
    finally:
        # Builtins only until both hooks are off (their calls from here are not counted).
        now_profile = _getprofile()
        _setprofile(saved[1])
        now_trace = _gettrace()
        _settrace(saved[0])
        active[0] = False
        now = (now_trace, now_profile, _thread_gettrace(), _thread_getprofile())
        _thread_settrace(saved[2])
        _thread_setprofile(saved[3])
    for hook, ours, what in zip(now, (tracer, profiler, thread_tracer, thread_profiler),
                                ("sys.settrace", "sys.setprofile", "threading.settrace",
                                 "threading.setprofile")):
        if hook is not ours:
            found["replaced the function installed with %s" % what] = None
    if counts[3] != counts[1]:      # the tracer missed calls the profiler saw, or the reverse
        found["switched tracing off for part of the call"] = None
    elif counts[4] != counts[5]:    # a frame returned without its line tracer
        found["switched off line tracing in a frame (frame.f_trace)"] = None
    return Steps(lines=counts[0], calls=counts[1], c_calls=counts[2]), tuple(found)


def _measure_once(fn, make_args, n):
    args = _arguments(make_args, n)
    _collect()                      # no garbage left over to be finalized during the call
    gc_was_enabled = _gc_isenabled()
    _gc_disable()
    try:
        return _traced_call(fn, args)
    finally:
        if gc_was_enabled:
            _gc_enable()


def measure_python_work(fn, make_args, *, sizes=DEFAULT_SIZES):
    """
    Count the Python-level steps (lines, Python calls, builtin calls) that fn runs per
    example, in every file and frame, from a call at each of two sizes.

    fn runs once untraced at the small size first (first calls may import or cache),
    then once traced at each size. Garbage collection is off during the traced calls.

    Inputs:
    - fn: the function to measure, e.g. svm_loss_vectorized.
    - make_args: function of n returning the tuple of arguments of fn for n examples,
      e.g. lambda n: (W, np.random.randn(n, 5), np.random.randint(3, size=n), 0.1).
      It runs untraced, and anew for every call.
    - sizes: (n_small, n_large), the two numbers of examples, n_small < n_large.

    Returns:
    - a PythonWork: the Steps at each size, per_example (the steps each extra example
      costs: about 0 when vectorized, at least about 1 with a loop over the examples),
      and tampering (a tuple of phrases; tampered is True if fn switched or read the
      tracer or profiler, or started a thread or a process).
    """
    if not callable(fn):
        raise TypeError("expected fn to be a function, got %s instead" % type(fn).__name__)
    if not callable(make_args):
        raise TypeError("expected make_args to be a function of n returning fn's arguments, "
                        "got %s instead" % type(make_args).__name__)
    n_small, n_large = _check_sizes(sizes)
    fn(*_arguments(make_args, n_small))  # warm-up: lazy imports and caches of the first call
    small, tampering_small = _measure_once(fn, make_args, n_small)
    large, tampering_large = _measure_once(fn, make_args, n_large)
    per_example = (large.total - small.total) / float(n_large - n_small)
    tampering = tuple(dict.fromkeys(tampering_small + tampering_large))
    return PythonWork(sizes=(n_small, n_large), small=small, large=large,
                      per_example=per_example, tampering=tampering)


def check_vectorized(fn, make_args, *, what=None, sizes=DEFAULT_SIZES,
                     max_per_example=MAX_STEPS_PER_EXAMPLE):
    """
    Raise AssertionError unless fn is vectorized: no Python-level work per example (see
    measure_python_work) and no tampering with the measurement.

    Inputs:
    - fn, make_args, sizes: as for measure_python_work.
    - what: name of fn in the message (default: fn.__name__).
    - max_per_example: the most Python-level steps per extra example that still count
      as vectorized.

    Returns:
    - the PythonWork measured, when fn passes.
    """
    what = what or getattr(fn, "__name__", repr(fn))
    work = measure_python_work(fn, make_args, sizes=sizes)
    if work.tampered:
        raise AssertionError(
            _("%s interfered with the count of its Python-level steps: it %s; expected a "
              "function that only computes, got one that does more instead")
            % (what, "; ".join(work.tampering)))
    if work.per_example > max_per_example:
        raise AssertionError(
            _("%s ran about %.1f Python-level steps per example (lines, calls) between "
              "N = {:,} and N = {:,}; expected no loop over the examples, got one instead")
            .format(*work.sizes) % (what, work.per_example))
    return work



def best_time(fn, repeats=7):
    """
    Seconds one call of fn() takes, measured so that a busy machine distorts it least.

    timeit's autorange picks how many calls make one run last at least 0.2 s (a single fast
    call is too short to time), and the fastest of `repeats` runs counts: other work on the
    machine can only ever add time, never take it away. Compare two functions measured
    one right after the other, not numbers from different moments.

    Inputs:
    - fn: a function of no arguments, e.g. lambda: svm_loss_naive(W, X, y, 0.0).
    - repeats: how many runs to take the fastest of.

    Returns:
    - seconds per call (float).
    """
    import timeit
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=repeats, number=number)) / number


def _main(argv=None):
    """Measure the vectorized losses of classifiers/ in the current folder and print them."""
    import argparse
    from . import __version__
    parser = argparse.ArgumentParser(
        prog="python -m utils.vectorization",
        description=_("Tell whether the vectorized losses of classifiers/ in the current folder "
                      "still loop over the examples."))
    parser.add_argument("--version", action="version", version="%(prog)s " + __version__)
    parser.parse_args(argv)
    sys.path.insert(0, os.getcwd())
    rng = np.random.default_rng(0)
    W = 0.5 * rng.standard_normal((5, 3))

    def make_args(n):
        return W, rng.standard_normal((n, 5)), rng.integers(0, 3, size=n), 0.1

    failed = 0
    for module, name in (("classifiers.linear_svm", "svm_loss_vectorized"),
                         ("classifiers.softmax", "softmax_loss_vectorized")):
        try:
            fn = getattr(__import__(module, fromlist=[name]), name)
            work = measure_python_work(fn, make_args)
        except NotImplementedError:
            print(_("%s: not implemented yet") % name)
            continue
        except Exception as err:
            failed += 1
            print(_("%s: raised %s: %s") % (name, type(err).__name__, err))
            continue
        vectorized = not work.tampered and work.per_example <= MAX_STEPS_PER_EXAMPLE
        failed += not vectorized
        print((_("%s: vectorized (%s)") if vectorized else _("%s: NOT vectorized (%s)")) % (name, work))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(_main())
