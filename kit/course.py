"""Where things live: the kit's repository, the nbgrader course directory and its assignment.

Every stage takes these paths as arguments; this module only knows the defaults and
how an nbgrader course directory is laid out, so that nbgrader's own commands and
formgrader keep working on the same folder.
"""
import copy
import os
import shutil
import sys
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from . import config_file
from .errors import KitError
from .locations import KIT_ROOT, WORK_ROOT
from .settings import KitGrading, KitLatePenalty, config_lines

ASSIGNMENT = "linear_classifiers"
COURSE_ID = "linear_classifiers_course"
DEFAULT_COURSE = WORK_ROOT / "course"
DEFAULT_DIST = WORK_ROOT / "dist"
DEFAULT_DEMO_COURSE = WORK_ROOT / "demo-course"

# What a student writes (kept from the submission) and what the kit owns (always
# restored from the master copy before grading), as paths relative to the assignment.
STUDENT_FILES = ("classifiers/*.py",)
# ...but for these: `classifiers/__init__.py` only re-exports names, so the master copy is
# used (a tampered one could hide the student's functions).
MASTER_ONLY = ("classifiers/__init__.py",)
# The instructor tooling (kit/) never ships: it holds the grader's reference losses.
MASTER_PACKAGES = ("classifiers", "utils")
# What no copy of the assignment carries (caches, checkpoints, the desktop's droppings).
JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", ".DS_Store")


def student_owned(folder: Path):
    """The student-owned files in an assignment folder, as sorted relative posix paths:
    STUDENT_FILES but MASTER_ONLY (symbolic links included; callers refuse them)."""
    found = {p.relative_to(folder).as_posix() for pattern in STUDENT_FILES for p in Path(folder).glob(pattern)}
    return sorted(found - set(MASTER_ONLY))


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


# Each course configuration's text, executed once per process: {(path, bytes): Config}.
# Every stage asks for the settings (grading, late policy, markers); the file is Python,
# so running it again for each of them (three times per student, once) was pure cost.
_LOADED = {}


class Course(os.PathLike):
    """One nbgrader course folder, typed: where its parts are, its configuration and settings,
    its gradebook. Every stage makes one from the folder it is given (`Course(folder)`; a
    Course passes through unchanged) and hands it down.

    It is a path too (os.PathLike, `course / "grades.csv"`, `str(course)`), so what only
    needs the folder takes it as it is.
    """
    __slots__ = ("root",)

    def __init__(self, root):
        object.__setattr__(self, "root", root.root if isinstance(root, Course) else Path(root))

    def __setattr__(self, name, value):
        raise AttributeError("a Course does not change; make another")

    def __fspath__(self):
        return os.fspath(self.root)

    def __truediv__(self, part):
        return self.root / part

    def __str__(self):
        return str(self.root)

    def __repr__(self):
        return f"Course({str(self.root)!r})"

    def __eq__(self, other):
        return isinstance(other, Course) and other.root == self.root

    def __hash__(self):
        return hash(self.root)

    def __reduce__(self):   # to a process pool or a Dask worker: the folder is enough
        return (Course, (self.root,))

    # ---- where things are (nbgrader's layout, so its commands and formgrader share the folder)

    @property
    def source(self) -> Path:
        """The instructor's assignment, solutions and hidden tests in it."""
        return self.root / "source" / ASSIGNMENT

    @property
    def release(self) -> Path:
        """The assignment as students receive it."""
        return self.root / "release" / ASSIGNMENT

    def submitted(self, student: str = None) -> Path:
        """A student's collected submission (None: the folder of every student's)."""
        root = self.root / "submitted"
        return root if student is None else root / student / ASSIGNMENT

    def autograded(self, student: str = None) -> Path:
        """A student's graded submission (None: the folder of every student's)."""
        root = self.root / "autograded"
        return root if student is None else root / student / ASSIGNMENT

    def feedback(self, student: str = None) -> Path:
        """A student's feedback pages (None: the folder of every student's)."""
        root = self.root / "feedback"
        return root if student is None else root / student / ASSIGNMENT

    @property
    def gradebook_file(self) -> Path:
        return self.root / "gradebook.db"

    @property
    def gradebook_url(self) -> str:
        return "sqlite:///" + str(self.gradebook_file.resolve())

    # ---- its configuration and settings

    @property
    def config(self):
        """The course's configuration (its nbgrader_config.py), as a traitlets Config (a copy
        the caller may change); empty when the course has none yet. Never the cwd's: the
        course folder is what counts. A file is executed once per process for each text it has."""
        path = self.root / "nbgrader_config.py"
        if not path.is_file():
            return Config()
        key = (str(path.resolve()), path.read_bytes())
        if key not in _LOADED:
            try:
                _LOADED[key] = PyFileConfigLoader(path.name, path=str(path.parent)).load_config()
            except Exception as err:
                raise KitError(f"{path}: the course configuration could not be read "
                               f"({type(err).__name__}: {err}); fix it or run `python -m kit release` "
                               "again") from None
        return copy.deepcopy(_LOADED[key])

    def grading(self):
        """The course's grading settings (KitGrading, kit/settings.py) as its configuration sets them."""
        return KitGrading(config=self.config)

    def coursedir(self):
        """An nbgrader CourseDirectory for the course, configured by its nbgrader_config.py."""
        from nbgrader.coursedir import CourseDirectory
        return CourseDirectory(config=self.config, root=str(self.root.resolve()), db_url=self.gradebook_url)

    @property
    def course_id(self):
        return self.coursedir().course_id

    def gradebook(self):
        """nbgrader's gradebook of the course, to open with `with` (score_store.current_gradebook
        is the way to open it for grades: late penalties brought up to date)."""
        from nbgrader.api import Gradebook
        return Gradebook(self.gradebook_url, self.course_id)


def ensure_alembic_on_path():
    """nbgrader shells out to `alembic` when it creates a gradebook; a venv's bin is not always on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


NBGRADER_CONFIG = '''\
# The course's one configuration, written by `python -m kit release`: nbgrader's own
# commands, formgrader's buttons and `python -m kit` all read it (a kit command-line
# option overrides a setting for one run).
import sys
if {kit_root!r} not in sys.path:
    sys.path.append({kit_root!r})
c = get_config()
c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.root = {root!r}
# Student-owned modules must never be replaced by the instructor's (solution) version
# (exact paths: nbgrader does not expand patterns).
c.Autograde.exclude_overwriting = {{{assignment!r}: {student_files!r}}}

# Grading settings (kit/settings.py, KitGrading).
{grading_settings}

# Late work (kit/late.py), decided by nbgrader: the submission's timestamp.txt (the time
# `kit collect` took it in) against the due date; its AssignLatePenalties stores each
# notebook's penalty, shown in grades.csv ("late penalty") and in feedback.
{duedate_setting}
c.AssignLatePenalties.plugin_class = "kit.late.KitLatePenalty"
{late_settings}

# `nbgrader autograde` (formgrader's Autograde button) grades the kit's way, in steps
# (kit/nbgrader_steps.py): the submitted notebook is copied as it is, then the kit
# restores the instructor's cells, runs the student's code in the sandbox (the whole
# submission's kernels side by side, at its first notebook), lets the trusted checks
# overrule test cells, writes the scores to the gradebook and hands back a sanitized
# graded notebook; nbgrader's own AssignLatePenalties then applies the late policy.
c.Autograde.sanitize_preprocessors = []
c.Autograde.autograde_preprocessors = ["kit.nbgrader_steps.KitRestoreCells",
                                       "kit.nbgrader_steps.KitSandboxedExecute",
                                       "kit.nbgrader_steps.KitTrustedChecks",
                                       "kit.nbgrader_steps.KitSaveGrades",
                                       "nbgrader.preprocessors.AssignLatePenalties"]
# `nbgrader generate_feedback`: test cells show their visible part and the kit's own
# words only; everything else sanitized (see below).
c.GenerateFeedback.preprocessors = ["nbgrader.preprocessors.GetGrades",
                                    "kit.nbgrader_hooks.KitFeedback",
                                    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor"]
# `nbgrader release_assignment` (formgrader's Release button) refuses a release that still
# holds instructor material: formgrader's Generate button copies classifiers/*.py with
# their reference solutions; only `python -m kit release` cuts them (kit/hub/exchange.py).
c.ExchangeFactory.release_assignment = "kit.hub.exchange.KitReleaseAssignment"

# Formgrader renders graded notebooks on the instructor's Jupyter origin with an
# nbconvert HTMLExporter built from this configuration (formgrade template); nbgrader's
# generate_feedback uses one too. Student text and outputs there are untrusted:
# - sanitize_html: no JavaScript or widget output, no widget state, HTML and markdown
#   outputs through nbconvert's clean_html. The formgrade template renders markdown
#   cells itself, without it, so:
# - every notebook first goes through the kit's sanitizer (kit/sanitize.py): student
#   markdown that cannot form a tag or a live link, text and PNG/JPEG outputs only.
#   Without the kit at this path the exporter cannot be built: formgrader does not load
#   (nor does nbgrader's generate_feedback run) rather than show submissions unsanitized.
c.HTMLExporter.sanitize_html = True
c.HTMLExporter.preprocessors = ["kit.sanitize.nbconvert_preprocessor"]
# Maths in formgrader: MathJax from the Jupyter server itself (jupyter-server-mathjax),
# not a CDN, so it renders offline: kit/templates/base/mathjax.html.j2 comes before
# nbconvert's own macro. Formgrader's (and generate_feedback's) templates stay first.
# (One statement, imports inside, so that a release can update it alone.)
c.HTMLExporter.extra_template_basedirs = [
    __import__("os").path.join(__import__("nbgrader").__path__[0], "server_extensions", "formgrader", "templates"),
    {templates!r}]
'''


TEMPLATES = Path(__file__).with_name("templates")   # the kit's nbconvert templates (maths)


# Each setting's line is written from its trait (kit/settings.py): its default and comment
# are never restated here. The comments start at one column per section.
GRADING_SETTINGS = ("cell_timeout", "submission_timeout", "tests_only", "allow_unisolated",
                    "data_dir", "share_data", "reference_limits")
LATE_SETTINGS = ("penalty_method", "per_day", "grace_period_hours")


def written_settings():
    """The template's settings lines, from the traits."""
    return {"grading_settings": config_lines(KitGrading, GRADING_SETTINGS, column=38),
            "duedate_setting": config_lines(KitGrading, ("duedate",), column=38),
            "late_settings": config_lines(KitLatePenalty, LATE_SETTINGS, column=43)}


def nbgrader_config_text(course: Path, student_files):
    """The template filled in for `course`: what a course without a configuration gets."""
    return NBGRADER_CONFIG.format(root=str(Path(course).resolve()), assignment=ASSIGNMENT,
                                  student_files=list(student_files), kit_root=str(KIT_ROOT),
                                  course_id=COURSE_ID, templates=str(TEMPLATES), **written_settings())


def plan_nbgrader_config(course: Path, student_files):
    """What writing the configuration will do (kit/config_file.py: the instructor's settings
    kept, the kit's generated statements updated); raises KitError, changing nothing, on a
    file it cannot merge."""
    return config_file.plan(course, nbgrader_config_text(course, student_files))


def write_nbgrader_config(course: Path, student_files=(), planned=None):
    """Write (or update) the course's nbgrader_config.py; returns the line to print."""
    planned = planned or plan_nbgrader_config(course, student_files)
    backup = config_file.write(planned)
    return config_file.describe(planned, backup)
