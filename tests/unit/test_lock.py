"""One writer per course (kit/lock.py): a second release, autograde or feedback refuses,
naming the holder; a lock whose process is gone is taken over; nbgrader's own autograde
(formgrader's button) and a kit command never wait for each other."""
import json
import os
import socket
import subprocess
import sys

import pytest

from kit import lock
from kit.__main__ import EXIT_REFUSED, main
from kit.course import ASSIGNMENT, KitError


@pytest.fixture
def course(tmp_path):
    """A course as far as the commands check it before they take the lock."""
    course = tmp_path / "course"
    for folder in (f"source/{ASSIGNMENT}", f"release/{ASSIGNMENT}", f"autograded/alice/{ASSIGNMENT}"):
        (course / folder).mkdir(parents=True)
    (course / "gradebook.db").write_bytes(b"")
    (course / f"autograded/alice/{ASSIGNMENT}/grading.json").write_text("{}")
    return course


@pytest.fixture
def other_process():
    """A live process of this host that is not this one."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc.pid
    proc.kill()
    proc.wait()


def hold(course, pid, host=None, command="kit autograde"):
    (course / lock.LOCK_NAME).write_text(json.dumps({
        "pid": pid, "host": host or socket.gethostname(), "start": lock.process_start(pid),
        "command": command, "since": "2026-12-01T17:00:00+01:00"}))


@pytest.mark.parametrize("command", [["autograde"], ["feedback"], ["release"]])
def test_a_second_writer_is_refused_naming_the_holder(course, other_process, command, capsys):
    hold(course, other_process)
    before = sorted(p.relative_to(course) for p in course.rglob("*"))
    assert main([*command, "--course", str(course)]) == EXIT_REFUSED
    err = capsys.readouterr().err
    assert f"`kit autograde` (pid {other_process} on {socket.gethostname()}" in err
    assert str(course / lock.LOCK_NAME) in err and "run this command again" in err
    assert sorted(p.relative_to(course) for p in course.rglob("*")) == before


def test_a_lock_from_another_host_is_refused_with_how_to_check(course):
    hold(course, 4242, host="grader9.example.edu")
    with pytest.raises(KitError, match="check on grader9.example.edu"):
        with lock.course_lock(course):
            pass


def test_a_stale_lock_is_taken_over_and_released_after(course, capsys):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    hold(course, gone.pid)
    with lock.course_lock(course, "kit feedback"):
        holder = json.loads((course / lock.LOCK_NAME).read_text())
        assert holder["pid"] == os.getpid() and holder["command"] == "kit feedback"
    assert "removing the stale lock" in capsys.readouterr().err
    assert not (course / lock.LOCK_NAME).exists()


def test_a_reused_pid_is_stale(course):
    """The pid runs, but not the process that took the lock (it started at another time)."""
    (course / lock.LOCK_NAME).write_text(json.dumps({
        "pid": os.getppid(), "host": socket.gethostname(), "start": 1, "command": "kit autograde"}))
    with lock.course_lock(course):
        pass


def prepared_submission(course):
    """A Submission of `course` as KitRestoreCells leaves it, its kernels run and judged
    already: what is left of each later step is the course lock and the gradebook."""
    import nbformat
    from types import SimpleNamespace
    from kit import nbgrader_steps
    from kit.autograde import GradingResult, NotebookResult
    sub = nbgrader_steps.Submission.__new__(nbgrader_steps.Submission)
    sub.key, sub.course, sub.task, sub.graded, sub.served = None, course, None, {}, set()
    sub.run = SimpleNamespace(judged=[])
    sub.result = GradingResult(student="alice", notebooks={"svm.ipynb": NotebookResult(
        graded=nbformat.writes(nbformat.v4.new_notebook()), scores={})})
    return sub


def test_nbgrader_autograde_refuses_while_a_kit_command_writes(course, other_process, monkeypatch):
    from traitlets.config import Config
    from kit import nbgrader_hooks, nbgrader_steps
    config = Config({"CourseDirectory": {"root": str(course)}})   # as the course's nbgrader_config.py sets it

    def resources():
        return {"nbgrader": {"assignment": ASSIGNMENT, "student": "alice", "notebook": "svm"},
                "kit": {"submission": prepared_submission(course), "name": "svm.ipynb"}}
    hold(course, other_process)
    for step in (nbgrader_steps.KitSandboxedExecute, nbgrader_steps.KitSaveGrades, nbgrader_hooks.KitFeedback):
        with pytest.raises(nbgrader_hooks.GraderFailed, match=f"pid {other_process}"):
            step(config=config).preprocess(None, resources())
    # Called from inside a kit command in this process (its nbgrader run): no self-deadlock.
    (course / lock.LOCK_NAME).unlink()
    monkeypatch.setattr(nbgrader_steps.score_store, "write_gradebook", lambda course, result: None)
    monkeypatch.setattr(nbgrader_steps.score_store, "merge_summary", lambda course, result: None)
    with lock.course_lock(course, "kit autograde"):
        assert nbgrader_steps.KitSandboxedExecute(config=config).preprocess("nb", resources())[0] == "nb"
        graded, _ = nbgrader_steps.KitSaveGrades(config=config).preprocess("nb", resources())
        assert graded.cells == []
        assert (course / lock.LOCK_NAME).exists()   # still the command's
    assert not (course / lock.LOCK_NAME).exists()
