"""Where things live: the kit's repository, the nbgrader course directory and its assignment.

Every stage takes these paths as arguments; this module only knows the defaults and
how an nbgrader course directory is laid out, so that nbgrader's own commands and
formgrader keep working on the same folder.
"""
import os
import sys
from pathlib import Path

ASSIGNMENT = "linear_classifiers"
NOTEBOOKS = ("svm.ipynb", "softmax.ipynb")
KIT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_COURSE = KIT_ROOT / "course"
DEFAULT_DIST = KIT_ROOT / "dist"

# What a student writes (kept from the submission) and what the kit owns (always
# restored from the master copy before grading), as paths relative to the assignment.
STUDENT_FILES = ("classifiers/*.py",)
# The instructor tooling (kit/) never ships: it holds the grader's reference losses.
MASTER_PACKAGES = ("classifiers", "utils")


class KitError(Exception):
    """A problem the user can fix; the CLI prints it without a traceback."""


def choose_students(requested, available, *, kind, root, first):
    """The requested students, or every available one when none is named.

    `kind` names what is available ("collected", "graded"), `root` where it was looked
    for, `first` the command that makes some; unknown names raise a KitError listing them.
    """
    if not requested:
        if not available:
            raise KitError(f"no {kind} submissions under {root}; run `{first}` first")
        return list(available)
    unknown = [s for s in requested if s not in available]
    if unknown:
        raise KitError(f"no {kind} submission for {', '.join(unknown)} under {root} "
                       f"({kind}: {', '.join(available) or 'none'})")
    return list(requested)


def source_dir(course: Path) -> Path:
    return course / "source" / ASSIGNMENT


def release_dir(course: Path) -> Path:
    return course / "release" / ASSIGNMENT


def submitted_dir(course: Path, student: str = None) -> Path:
    root = course / "submitted"
    return root if student is None else root / student / ASSIGNMENT


def autograded_dir(course: Path, student: str) -> Path:
    return course / "autograded" / student / ASSIGNMENT


def feedback_dir(course: Path, student: str) -> Path:
    return course / "feedback" / student / ASSIGNMENT


def gradebook_url(course: Path) -> str:
    return "sqlite:///" + str((course / "gradebook.db").resolve())


def coursedir(course: Path):
    """An nbgrader CourseDirectory for `course`, without reading config from the cwd."""
    from nbgrader.coursedir import CourseDirectory
    return CourseDirectory(root=str(course.resolve()), db_url=gradebook_url(course))


def ensure_alembic_on_path():
    """nbgrader shells out to `alembic` when it creates a gradebook; a venv's bin is not always on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


NBGRADER_CONFIG = '''\
# nbgrader configuration written by `python -m kit release`. The kit passes its own
# settings to nbgrader directly; this file lets nbgrader's own commands and formgrader
# work on this course directory too, with the settings this assignment needs.
c = get_config()
c.CourseDirectory.course_id = "linear_classifiers_course"
c.CourseDirectory.root = {root!r}
# Student-owned modules must never be replaced by the instructor's (solution) version.
c.Autograde.exclude_overwriting = {{{assignment!r}: {student_files!r}}}
c.Execute.timeout = 300
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = ".*Warning:.*"
'''


def write_nbgrader_config(course: Path, student_files):
    course.mkdir(parents=True, exist_ok=True)
    text = NBGRADER_CONFIG.format(root=str(course.resolve()), assignment=ASSIGNMENT,
                                  student_files=list(student_files))
    (course / "nbgrader_config.py").write_text(text)
