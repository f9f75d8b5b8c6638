"""The hub the isolation and Korean tests share (one start for both): the Korean edition
released (`kit release --lang ko`), both students' submissions in its exchange."""
from pathlib import Path

import pytest

from hub_helpers import ALICE, ASSIGNMENT, BOB, GRADER, Course, course_id, nbgrader_as, ok, skip_unless_ready, submit
OUTPUT_DIR = Path(__file__).resolve().parents[2] / "test-output" / "hub-isolation"


@pytest.fixture(scope="package")
def hub(cifar10_dir):
    skip_unless_ready()
    course = Course(lang="ko")
    try:
        password_file = course.setup(cifar10_dir)
        course.start(password_file)
        yield course
    finally:
        course.cleanup(keep_log_in=OUTPUT_DIR)


@pytest.fixture(scope="package")
def exchange(hub):
    """Released, fetched by both students, submitted by both: the course's exchange folder."""
    ok(nbgrader_as(hub, GRADER, "release_assignment", ASSIGNMENT, graders=True))
    for student in (ALICE, BOB):
        ok(nbgrader_as(hub, student, "fetch_assignment", ASSIGNMENT))
        ok(submit(hub, student))
    return hub.exchange / course_id(hub)


