"""Whole submissions graded ahead of nbgrader's own autograde, in a process pool.

`nbgrader autograde` converts one notebook of one submission at a time, in this process:
graded one by one, a class's submissions keep one kernel chain busy while other cores
wait. Here, at its first notebook, the kit reads which submissions this nbgrader run
will convert (the converter's own list, and its own rule for skipping those already
graded), and grades whole submissions, as `kit autograde` does, in a pool of processes
(one per core), keeping the pool full in nbgrader's order. Each of nbgrader's calls then
takes its notebook's part of its submission's result. A submission nbgrader did not list
(or a machine with one core) is graded on the spot, one notebook at a time, as before.

Inputs: the converter running KitAutograde, a function making each student's GradingTask
(whole submission, given the BLAS threads per kernel).
Returns: GradingResults restricted to the notebook nbgrader asks for.
"""
import atexit
import os
import re
import weakref
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from multiprocessing import get_context

from .autograde import GradingResult, grade_or_fail
from .autograde.executors import result_or_failure
from .autograde.result import failed_result

_RUNS = weakref.WeakKeyDictionary()   # converter -> its GradingAhead


def converter_of(preprocessor):
    """The nbgrader converter running this preprocessor (it holds the list of submissions)."""
    node = preprocessor
    while node is not None:
        if isinstance(getattr(node, "assignments", None), dict) and hasattr(node, "coursedir"):
            return node
        node = getattr(node, "parent", None)
    return None


def will_convert(converter):
    """Students whose submission this nbgrader run converts, in its order: its list of
    submission folders, less those its init_destination would skip (excluded, or graded
    already with nothing newer and no --force). Read only: nothing is removed here."""
    coursedir = converter.coursedir
    # Autograde's own input folder changes between its passes: name the folders outright.
    pattern = coursedir.format_path(coursedir.submitted_directory, "(?P<student_id>.*)",
                                    "(?P<assignment_id>.*)", escape=True)
    excluded = set(filter(None, (coursedir.student_id_exclude or "").split(",")))
    students = []
    for folder in sorted(converter.assignments):
        match = re.match(pattern, folder)
        if match is None:
            continue
        assignment, student = match.group("assignment_id"), match.group("student_id")
        if student in excluded:
            continue
        dest = os.path.normpath(coursedir.format_path(coursedir.autograded_directory, student, assignment))
        src = coursedir.format_path(coursedir.submitted_directory, student, assignment)
        new, old = (coursedir.get_existing_timestamp(p) for p in (src, dest))
        if not os.path.exists(dest) or converter.force or (new and old and new > old):
            students.append(student)
    return students


class GradingAhead:
    """A pool grading whole submissions, at most `jobs` at a time, in `students` order."""

    def __init__(self, students, make_task, jobs):
        self.waiting, self.make_task, self.jobs = list(students), make_task, jobs
        self.futures, self.results, self.served = {}, {}, {}
        self.pool = ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"))
        atexit.register(self.close)
        self._fill()

    def _fill(self):
        while self.waiting and len(self.futures) < self.jobs:
            student = self.waiting.pop(0)
            try:
                task = self.make_task(student)
            except Exception as err:  # e.g. a folder removed meanwhile: that student's row
                self.results[student] = failed_result(GradingResult(student=student),
                                                      f"{type(err).__name__}: {err}")
                continue
            self.futures[student] = (self.pool.submit(grade_or_fail, task), task)

    def notebook(self, student, name):
        """`name`'s part of the student's result; the whole result is let go once every
        notebook in it has been asked for."""
        result = self.result(student)
        served = self.served.setdefault(student, set())
        served.add(name)
        if served >= set(result.notebooks):
            self.results.pop(student, None)
        return notebook_part(result, name)

    def covers(self, student, name):
        return (student in self.results or student in self.futures or student in self.waiting) \
            and name not in self.served.get(student, ())

    def result(self, student):
        """The whole submission's GradingResult (waiting for it)."""
        if student in self.waiting:   # asked out of order: bring it forward
            self.waiting.remove(student)
            self.waiting.insert(0, student)
            self._fill()
        if student not in self.results:
            while student not in self.futures:   # the pool is full of others: they finish first
                self._collect(next(iter(self.futures)))
            self._collect(student)
        if not self.waiting and not self.futures:
            self.close()
        return self.results[student]

    def _collect(self, student):
        future, task = self.futures.pop(student)
        self.results[student] = result_or_failure(future, task)
        self._fill()

    def close(self):
        self.pool.shutdown(wait=False, cancel_futures=True)


def notebook_part(result, name):
    """The result of one notebook: its NotebookResult, the submission's own problems."""
    if result.failed or name not in result.notebooks:
        return result
    return replace(result, notebooks={name: result.notebooks[name]})


def graded_notebook(preprocessor, student, name, make_task, grade_one):
    """The GradingResult of `name` in `student`'s submission: from the pool grading this
    nbgrader run's submissions ahead, else `grade_one()` on the spot."""
    converter = converter_of(preprocessor)
    cores = os.cpu_count() or 1
    if converter is not None and cores > 1:
        ahead = _RUNS.get(converter)
        if ahead is None:
            # nbgrader made the asking student's folder just now: it is converting it.
            students = [student] + [s for s in will_convert(converter) if s != student]
            jobs = min(cores, len(students))
            ahead = _RUNS[converter] = GradingAhead(
                students, lambda s: make_task(s, max(1, cores // jobs)), jobs) if jobs > 1 else False
        if ahead and ahead.covers(student, name):
            return ahead.notebook(student, name)
    return grade_one()
