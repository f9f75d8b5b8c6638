"""The pieces of the benchmark's item 10 (bench/hog.py): the hog's busy processes stop by
themselves and are forked once per process, the reference's arrival is noted without
changing grading, and the rows say when the reference lost points.

Nothing here grades or measures time (item 10 costs about a minute even with --smoke:
`python -m bench --smoke --items 10` runs it; the smoke test of tests/e2e/test_bench.py
leaves it out).
"""
import subprocess
import sys
from types import SimpleNamespace

import pytest

from bench import benchmark, hog
from bench.__main__ import item_list
from bench.report import FULL, SMOKE, Report
from kit.autograde.result import GradingResult, NotebookResult
from kit.scores import CellScore

# Import the hog twice in one process, then wait for every child: only the first import forks,
# and the children end by themselves (the subprocess's timeout would say otherwise).
TWICE = """
import os
source = {source!r}
exec(source, {{}})
exec(source, {{}})
children = 0
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
    children += 1
print(children)
"""


def test_hog_forks_once_per_process_and_its_children_stop_by_themselves():
    source = hog.hog_source(processes=3, seconds=0.5)
    proc = subprocess.run([sys.executable, "-c", TWICE.format(source=source)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "3"


def test_hog_sizes_stay_within_the_sandbox_process_limit():
    from kit.sandbox import Limits
    for sizes in (FULL, SMOKE):
        # The kernel's own threads count too: leave room for them.
        assert 0 < sizes.hog_processes <= Limits().max_processes - 16
        assert 0 < sizes.hog_seconds <= 120 and sizes.hog_repeats >= 1
    compile(hog.hog_source(FULL.hog_processes, FULL.hog_seconds), "linear_svm.py", "exec")


def test_arrival_times_notes_each_result_and_puts_store_back(monkeypatch):
    from kit import score_store
    stored = []
    monkeypatch.setattr(score_store, "store", lambda course, result: stored.append(result.student))
    original = score_store.store
    arrived = {}
    with hog.arrival_times(arrived):
        score_store.store("course", SimpleNamespace(student="h01_reference"))
    assert score_store.store is original
    assert stored == ["h01_reference"] and set(arrived) == {"h01_reference"}


def graded(score, most=5.0, student=hog.STUDENTS["reference"]):
    notebook = NotebookResult(graded="{}", scores={"a": CellScore("a", "auto", score, most),
                                                   "b": CellScore("b", "manual", None, 2.0)})
    return [GradingResult(student=student, notebooks={"svm.ipynb": notebook}),
            GradingResult(student=hog.STUDENTS["hog"])]


def test_rows_give_times_ratios_and_full_marks():
    report = Report(smoke=True, repeats=1)
    outputs = {"alone": [(2.0, graded(5.0))], "beside_quiet": [(3.0, graded(5.0))],
               "beside_hog": [(4.5, graded(5.0))]}
    hog.hog_rows(report, SMOKE, "cgroup v1 cpu.shares", outputs)
    rows = {row.key: row.value for row in report.rows}
    assert rows["hog_cpu_share"] == "cgroup v1 cpu.shares"
    assert rows["hog_slowdown"] == pytest.approx(2.25)
    assert rows["hog_slowdown_vs_quiet"] == pytest.approx(1.5)
    assert rows["hog_reference_full_marks"] is True and report.failures == []
    assert report.results["hog"]["marks"]["beside_hog"] == [(5.0, 5.0)]


def test_rows_fail_when_the_reference_loses_points():
    report = Report(smoke=True, repeats=1)
    hog.hog_rows(report, SMOKE, "nice", {"alone": [(2.0, graded(5.0))], "beside_hog": [(4.0, graded(3.0))]})
    rows = {row.key: row for row in report.rows}
    assert rows["hog_reference_full_marks"].value is False and rows["hog_reference_full_marks"].ok is False
    assert "hog_slowdown_vs_quiet" not in rows
    assert report.failures and "lost points" in report.failures[0]


def test_item_10_is_an_item():
    assert 10 in benchmark.ITEMS and item_list("9,10") == (9, 10)
