"""Local process pools whose workers start in a fraction of a second.

A "spawn" worker starts a fresh interpreter and imports the grader (numpy, nbclient,
jupyter_client, nbformat, the kit): seconds per worker, paid by every `kit autograde
--jobs N`, every feedback batch and, in a long-lived process (a script calling the kit's
stages, a test session), by every batch again. Here the workers are forked from
Python's forkserver, which has imported the given modules once; the fork is clean (the
server is single-threaded, started before any grading thread or event loop of ours).

A forked worker would otherwise run with the server's environment and import path, as they
were when the server started: each worker takes this process's own, as they are when the
pool is made, so a pool sees what a spawned one would.
"""
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context


def process_pool(jobs, preload):
    """A ProcessPoolExecutor of `jobs` workers forked from a server that has imported the
    modules named in `preload` (their first pool pays for the import, once per process)."""
    context = get_context("forkserver")
    # Read when the server starts (the first pool of this process); later calls add nothing.
    context.set_forkserver_preload(list(preload))
    return ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_as_in_parent,
                               initargs=(dict(os.environ), list(sys.path)))


def _as_in_parent(environ, path):
    os.environ.clear()
    os.environ.update(environ)
    sys.path[:] = path
