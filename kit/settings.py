"""Every setting of a course, with its default, in one place (the ground floor: nothing of
the kit is imported here, so every module may read the settings).

A setting is written once, as a trait: its default, its help and the short comment the
written `nbgrader_config.py` carries come from here, and so do
- the course configuration's `c.KitGrading.*` and `c.KitLatePenalty.*` lines
  (`config_lines`, used by kit/course.py's template);
- the command-line options that override a setting for one run (`OPTIONS`, used by
  kit/__main__.py, applied by `override`), as nbgrader's own apps map their flags onto traits;
- the `GradingTask` defaults (kit/autograde/task.py).
nbgrader reads the same classes by name from the configuration file
(`c.AssignLatePenalties.plugin_class = "kit.late.KitLatePenalty"`: kit/late.py re-exports it).
"""
import json
import math
from dataclasses import dataclass

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Bool, Enum, Float, Unicode
from traitlets.config import Configurable

# Seconds: the most any one cell may run (a cell the reference solution has gets less, see
# kit/autograde/limits.py); a full-size hyperparameter search on a busy grader needs minutes.
DEFAULT_CELL_TIMEOUT = 300
DEFAULT_SUBMISSION_TIMEOUT = 1200
DAY = 24 * 3600


class KitGrading(Configurable):
    """Grading settings of a course (`c.KitGrading.<name>` in its nbgrader_config.py)."""
    cell_timeout = Float(DEFAULT_CELL_TIMEOUT, help="Seconds one cell may run at most (cells the "
                                                     "reference solution has: see reference_limits)."
                         ).tag(config=True)
    submission_timeout = Float(DEFAULT_SUBMISSION_TIMEOUT,
                               help="Seconds one whole submission may take.").tag(config=True)
    tests_only = Bool(False, help="Run only setup and test cells (same scores, faster).").tag(
        config=True, comment="True: only setup and test cells run (same scores)")
    allow_unisolated = Bool(False, help="Grade even where bubblewrap cannot isolate student "
                                        "code (resource limits only).").tag(
        config=True, comment="True: grade without bubblewrap (limits only)")
    data_dir = Unicode("", help="CIFAR-10 folder (default: $CIFAR10_DIR, else the kit's "
                                "data/cifar-10-batches-py).").tag(
        config=True, comment="CIFAR-10 folder; \"\": $CIFAR10_DIR, else the kit's data/")
    share_data = Bool(True, help="Prepare the notebooks' CIFAR-10 arrays once per batch and map "
                                 "them read-only into every kernel (same grades, less time and "
                                 "memory).").tag(
        config=True, comment="CIFAR-10 arrays prepared once, mapped read-only into kernels")
    reference_limits = Bool(True, help="Limit each cell to 10x the reference solution's time on "
                                       "this machine (at least 30 s, at most cell_timeout); "
                                       "False: cell_timeout for every cell.").tag(
        config=True, comment="each cell: 10x the reference's time here (>= 30 s, <= cell_timeout)")
    duedate = Unicode("", help="The assignment's due date with its time zone, e.g. '2026-12-01 "
                               "17:00:00 Europe/Paris' (written to the gradebook when grades are "
                               "stored); '': the gradebook's own (formgrader's).").tag(
        config=True, comment="e.g. \"2026-12-01 17:00:00 Europe/Paris\"; \"\": the gradebook's")


class KitLatePenalty(LateSubmissionPlugin):
    """nbgrader's late-penalty methods plus a grace period and a penalty per day late.

    `c.KitLatePenalty.penalty_method`: 'none' (no penalty), 'zero' (the notebook scores 0)
    or 'per_day' (`per_day` of the notebook's score per started day after the due date,
    at most the whole score). A submission at most `grace_period_hours` late is on time.
    """
    penalty_method = Enum(("none", "zero", "per_day"), default_value="none",
                          help="'none', 'zero' or 'per_day' (see per_day)").tag(
        config=True, comment="\"none\", \"zero\" (score 0) or \"per_day\"")
    per_day = Float(0.1, help="Fraction of the score taken per started day late "
                              "('per_day' method).").tag(
        config=True, comment="\"per_day\": this fraction of the score per started day")
    grace_period_hours = Float(0.0, help="Hours after the due date a submission still counts "
                                         "as on time.").tag(
        config=True, comment="this late still counts as on time")

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        if total_seconds_late <= self.grace_period_hours * 3600:
            return None
        if self.penalty_method == "per_day":
            days = math.ceil(total_seconds_late / DAY)
            return min(score, score * self.per_day * days)
        return super().late_submission_penalty(student_id, score, total_seconds_late)


def config_value(value):
    """A default as the configuration file spells it: strings in double quotes, numbers as floats."""
    if isinstance(value, str):
        return json.dumps(value)
    return repr(float(value)) if isinstance(value, (int, float)) and not isinstance(value, bool) else repr(value)


def config_lines(cls, names, column):
    """`c.<cls>.<name> = <default>` lines for the written configuration, each trait's
    comment (tag `comment`) starting at `column`."""
    lines = []
    for name in names:
        trait = cls.class_traits()[name]
        line = f"c.{cls.__name__}.{name} = {config_value(trait.default_value)}"
        comment = trait.metadata.get("comment")
        lines.append(f"{line.ljust(column - 1)} # {comment}" if comment else line)
    return "\n".join(lines)


@dataclass(frozen=True)
class Option:
    """A command-line option that overrides one KitGrading setting for one run."""
    flag: str            # e.g. "--cell-timeout"
    setting: str         # the KitGrading trait it sets
    help: str            # {setting} and {default} are filled in from the trait
    flag_only: bool = False   # a flag without a value: it sets the (boolean) setting to True
    metavar: str = None

    @property
    def dest(self):
        return self.flag.lstrip("-").replace("-", "_")

    def help_text(self):
        default = KitGrading.class_traits()[self.setting].default_value
        return self.help.format(setting=f"c.KitGrading.{self.setting}",
                                default=f"{default:g}" if isinstance(default, float) else default)


# `kit autograde` and `kit demo`'s options mapped onto the traits (nbgrader's aliases and
# flags do the same for its apps). Left out on the command line: the course's value.
OPTIONS = (
    Option("--cell-timeout", "cell_timeout", metavar="SECONDS",
           help="seconds one cell may run (default: the course's {setting}, {default} unless set)"),
    Option("--submission-timeout", "submission_timeout", metavar="SECONDS",
           help="seconds one whole submission may take (default: the course's {setting}, "
                "{default} unless set)"),
    Option("--tests-only", "tests_only", flag_only=True,
           help="run only the setup and test cells, not the whole notebooks (same scores, faster; "
                "the graded notebooks then show no student outputs)"),
    Option("--allow-unisolated", "allow_unisolated", flag_only=True,
           help="grade even where the sandbox (bubblewrap) cannot isolate student code (resource "
                "limits only; by default grading refuses)"),
    Option("--data", "data_dir", metavar="DIR",
           help="CIFAR-10 folder (default: the course's {setting}, else $CIFAR10_DIR, else "
                "data/cifar-10-batches-py)"),
)


def given(args):
    """{setting: value} of the OPTIONS a parsed command line gave (None: not given)."""
    values = {}
    for option in OPTIONS:
        value = getattr(args, option.dest)
        values[option.setting] = (True if value else None) if option.flag_only else value
    return values


def override(grading, **values):
    """`grading` (a KitGrading) with every setting given a value that is not None replaced;
    the one place a command-line value wins over the course's."""
    for name, value in values.items():
        if value is not None:
            setattr(grading, name, str(value) if name == "data_dir" else value)
    return grading
