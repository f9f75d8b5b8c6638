"""`python -m kit COMMAND`: the instructor's command line (students have `python -m utils.check`).

Every command's arguments are parsed here, in one place; each command then calls one
stage's keyword-only `run(*, ...)`. Defaults shown in the help are read from the code
(the stage's or the course configuration's), never written twice.
"""
import argparse
import os
import sys
from pathlib import Path

from .course import DEFAULT_COURSE, DEFAULT_DEMO_COURSE, DEFAULT_DIST, KIT_ROOT, KitError
from .settings import OPTIONS, given
from .version import version

# Exit codes, the same for every command (documented in --help and the README).
EXIT_OK = 0        # done
EXIT_FAILED = 1    # done, but something failed or needs a look (listed on the terminal)
EXIT_USAGE = 2     # the command line itself is wrong (argparse's code)
EXIT_REFUSED = 3   # the input was refused before anything changed (the message says why)
EXIT_INTERRUPTED = 130
EXIT_CODES = f"""exit codes:
  {EXIT_OK}    done
  {EXIT_FAILED}    done, but something failed or needs a look: grader errors, refused
       submissions, students an export could not match (all listed)
  {EXIT_USAGE}    the command line is wrong (unknown option, bad value)
  {EXIT_REFUSED}    the input was refused before anything changed: no course or release,
       a bad configuration, data, folder or file (the message says what and how to fix it)
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C)"""


def whole_number(minimum):
    """An argparse type: a whole number of at least `minimum`."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"expected a whole number of at least {minimum}, got {text!r} instead")
        return value
    return parse


positive_int = whole_number(1)
non_negative_int = whole_number(0)


def percent(text):
    """An argparse type: a number from 0 to 100."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"expected a percentage from 0 to 100, got {text!r} instead")
    return value


def positive_float(text):
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r} instead")
    return value


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the epilog's layout (the exit codes table)."""


def invoked_as():
    """How the user called the kit, for its usage and version lines: `kit` (the installed
    command) or `python -m kit`."""
    return "kit" if Path(sys.argv[0] if sys.argv else "").name == "kit" else "python -m kit"


def add_version(parser):
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}",
                        help="print the kit's version and exit")


def subcommand(commands, name, help):
    parser = commands.add_parser(name, help=help, description=help, epilog=EXIT_CODES,
                                 formatter_class=Formatter)
    add_version(parser)
    return parser


def add_course_option(parser, default=DEFAULT_COURSE):
    parser.add_argument("--course", type=Path, default=default, metavar="DIR",
                        help="the nbgrader course folder (default: %(default)s)")


def add_students(parser, what):
    parser.add_argument("students", nargs="*", metavar="STUDENT", help=f"student ids (default: every {what})")


def add_grading_options(parser, course_default=DEFAULT_COURSE):
    from .autograde.cluster import NO_WORKER_TIMEOUT
    add_course_option(parser, course_default)
    parser.add_argument("--jobs", type=positive_int, default=1, metavar="N",
                        help="submissions graded at once (default: %(default)s)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="grade on a Dask cluster secured with the course's certificates (see the "
                             "`certificates` command), e.g. tls://10.0.0.5:8786, instead of locally; a "
                             "plain tcp:// scheduler is refused (anyone who reaches it can forge grades)")
    parser.add_argument("--certificates", type=Path, default=None, metavar="DIR",
                        help="with --scheduler: the folder holding this client's ca.pem, cert.pem and "
                             "key.pem (default: COURSE/.dask-tls/client)")
    parser.add_argument("--no-worker-timeout", type=positive_float, default=None, metavar="SECONDS",
                        help="with --scheduler: seconds to wait while the cluster has no worker at all "
                             "before the submissions still waiting become grader errors (default: "
                             f"{NO_WORKER_TIMEOUT:g})")
    for option in OPTIONS:   # the settings' options (kit/settings.py), one per KitGrading trait
        if option.flag_only:
            parser.add_argument(option.flag, action="store_true", help=option.help_text())
        else:
            parser.add_argument(option.flag, type=Path if option.setting == "data_dir" else positive_float,
                                default=None, metavar=option.metavar, help=option.help_text())


def grading_kwargs(args):
    """Only what the command line says: the rest comes from the course's configuration."""
    settings = given(args)
    tests_only = settings.pop("tests_only")
    return dict(jobs=args.jobs, scheduler=args.scheduler, certificates=args.certificates,
                no_worker_timeout=args.no_worker_timeout,
                run_notebooks=None if tests_only is None else not tests_only, **settings)


def build_parser():
    parser = argparse.ArgumentParser(prog=invoked_as(), description=__doc__.splitlines()[0],
                                     epilog=EXIT_CODES, formatter_class=Formatter)
    add_version(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    release = subcommand(commands, "release", "build the student release and dist/linear_classifiers.zip")
    release.add_argument("--dist", type=Path, default=DEFAULT_DIST, metavar="DIR",
                         help="where the zip for students goes (default: %(default)s)")
    add_course_option(release)
    add_language_option(release)

    add_collect_arguments(subcommand(commands, "collect", "take in submissions (zip files or folders)"))

    autograde = subcommand(commands, "autograde", "grade submissions; write the gradebook, grades.csv "
                                                  "and the common-mistakes report")
    add_students(autograde, "collected submission")
    add_grading_options(autograde)

    feedback = subcommand(commands, "feedback", "feedback HTML per graded notebook (after hand grading)")
    add_students(feedback, "graded submission")
    add_course_option(feedback)
    feedback.add_argument("--jobs", type=positive_int, default=1, metavar="N",
                          help="notebooks rendered at once (default: %(default)s)")

    report = subcommand(commands, "report", "common mistakes per function, scores and pass rates "
                                            "(reports/report.html, .csv, .json)")
    add_course_option(report)

    add_similarity_arguments(subcommand(commands, "similarity", "compare the submissions' code with each "
                                                                "other and with known solutions"))
    add_export_arguments(subcommand(commands, "export", "grades as a Canvas or Moodle import (or plain CSV)"))

    add_certificate_arguments(subcommand(
        commands, "certificates", "write the course's CA and the TLS certificates of its Dask "
                                  "scheduler, workers and `autograde --scheduler` (mutual TLS)"))

    add_hub_arguments(subcommand(commands, "hub", "run the course on a JupyterHub on this machine: "
                                                  "students fetch and submit in JupyterLab, graders "
                                                  "use formgrader as a hub service"))
    hub_env = subcommand(commands, "hub-env", "make the Python environment the hub and every user's "
                                              "server run in (from the system Python)")
    hub_env.add_argument("folder", type=Path, metavar="DIR", help="where, e.g. /opt/kit-hub-env")
    hub_env.add_argument("--base-python", type=Path, default=None, metavar="PYTHON",
                         help="the Python to make it from (default: /usr/bin/python3)")

    demo = subcommand(commands, "demo", "release, then grade three example submissions and check them")
    demo.add_argument("--dist", type=Path, default=DEFAULT_DIST, metavar="DIR",
                      help="where the zip for students goes (default: %(default)s)")
    add_grading_options(demo, course_default=DEFAULT_DEMO_COURSE)
    demo.add_argument("--notebooks", action="store_true",
                      help="also run the notebooks in full, as `autograde` does by default (minutes); "
                           "the demo's quick look grades the test cells only, on every core")
    # The quick look: a submission per core at once (the reference timing is skipped).
    demo.set_defaults(jobs=max(1, min(3, os.cpu_count() or 1)))
    add_language_option(demo)
    return parser


def add_language_option(parser):
    from .i18n import DEFAULT_LANGUAGE, LANGUAGES
    parser.add_argument("--lang", choices=LANGUAGES, default=DEFAULT_LANGUAGE,
                        help="language of the students' text (notebooks' markdown, docstrings and "
                             "comments, README); code and tests are the same in every language "
                             "(default: %(default)s)")


def add_collect_arguments(parser):
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="submission zip files or folders, one per student")
    parser.add_argument("--student", metavar="ID", default=None,
                        help="student id (only with one PATH); default: from the file or "
                             "folder name, e.g. alice.zip or alice_linear_classifiers.zip -> alice")
    add_course_option(parser)
    parser.add_argument("--time", metavar="TIME", default=None,
                        help="the time the submission(s) arrived, with its zone, e.g. '2026-12-01 "
                             "16:53 Europe/Paris' (from the LMS or the e-mail); it decides lateness "
                             "(default: now)")


def add_similarity_arguments(parser):
    from . import similarity
    add_course_option(parser)
    parser.add_argument("--known", type=Path, default=None, metavar="FOLDER",
                        help="a folder of known solutions (.py files, notebooks) to compare with too")
    parser.add_argument("--base", type=Path, action="append", default=[], metavar="FOLDER",
                        help="a folder of code that never counts, e.g. the course's starter files of "
                             "every year unzipped into it (.py files, notebooks; repeat for more)")
    parser.add_argument("--threshold", type=percent, default=100 * similarity.THRESHOLD, metavar="PERCENT",
                        help="list the pairs where one side has at least this share of its own code "
                             "in the other (default: %(default).0f; see the README)")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="where similarity.html and similarity.csv go (default: COURSE/similarity)")
    parser.add_argument("--show", type=non_negative_int, default=similarity.DEFAULT_SHOWN, metavar="N",
                        help="pairs shown side by side in the HTML report (default: %(default)s)")


def add_certificate_arguments(parser):
    from . import certificates
    add_course_option(parser)
    parser.add_argument("--host", action="append", default=[], metavar="NAME_OR_IP", dest="hosts",
                        help="a name or IP address of the scheduler or a grading machine, written into "
                             "their certificates (repeat for each; always: "
                             f"{', '.join(certificates.DEFAULT_HOSTS)})")
    parser.add_argument("--days", type=whole_number(1), default=certificates.DEFAULT_DAYS, metavar="N",
                        help=f"days the certificates are valid, at most {certificates.MAX_DAYS} "
                             "(default: %(default)s)")
    parser.add_argument("--force", action="store_true",
                        help="replace certificates written before (every machine then needs the new "
                             "ones); by default existing files are never overwritten")


def add_hub_arguments(parser):
    from .hub import setup
    add_course_option(parser)
    parser.add_argument("--instructors", required=False, default="", metavar="NAMES",
                        help="OS users who grade and release (comma-separated)")
    parser.add_argument("--graders", default="", metavar="NAMES",
                        help="OS users who grade in formgrader too, e.g. teaching assistants")
    parser.add_argument("--students", default="", metavar="NAMES", help="the students' OS users")
    parser.add_argument("--grader-account", default=None, metavar="USER",
                        help="the OS user formgrader runs as (default: the course folder's owner; "
                             "never root)")
    parser.add_argument("--hub-dir", type=Path, default=None, metavar="DIR",
                        help=f"the hub's own files (default: {setup.DEFAULT_HUB_DIR}/COURSE_ID)")
    parser.add_argument("--exchange", type=Path, default=setup.DEFAULT_EXCHANGE, metavar="DIR",
                        help="nbgrader's exchange (default: %(default)s)")
    parser.add_argument("--python", type=Path, default=None, metavar="PYTHON",
                        help="the Python of the hub's environment (`kit hub-env`; default: this one)")
    parser.add_argument("--ip", default="127.0.0.1", help="address the hub listens on (default: %(default)s)")
    parser.add_argument("--port", type=positive_int, default=setup.DEFAULT_PORT,
                        help="its port (default: %(default)s)")
    parser.add_argument("--auth", choices=("pam", "shared"), default="pam",
                        help="pam: the OS users' passwords; shared: one password for all, from "
                             "--password-file (for a trial) (default: %(default)s)")
    parser.add_argument("--password-file", type=Path, default=None, metavar="FILE",
                        help="with --auth shared: the file holding the shared password")
    parser.add_argument("--data", type=Path, default=None, metavar="DIR",
                        help="CIFAR-10 (cifar-10-batches-py) every student reads, as their CIFAR10_DIR "
                             "(default: none; each student downloads it)")
    parser.add_argument("--config-only", action="store_true",
                        help="check and write the configuration and the exchange, do not start the hub")


def add_export_arguments(parser):
    from . import export
    parser.add_argument("--format", choices=export.FORMATS, required=True,
                        help="canvas: Canvas gradebook import; moodle: Moodle grade import; csv: every column")
    parser.add_argument("--roster", type=Path, default=None, metavar="FILE",
                        help="CSV with a column `id` (the nbgrader student id) and any of "
                             + ", ".join(export.ROSTER_FIELDS[1:]))
    parser.add_argument("--out", type=Path, default=None, metavar="FILE",
                        help="where to write (default: COURSE/export-FORMAT.csv)")
    add_course_option(parser)
    parser.add_argument("--title", default=export.ASSIGNMENT,
                        help="the assignment's name in the LMS (default: %(default)s)")
    parser.add_argument("--lms-assignment-id", default=None, metavar="ID",
                        help="Canvas: the assignment's id, so the column is `TITLE (ID)` and Canvas "
                             "updates that assignment instead of creating one")


def parse(argv=None):
    """The arguments; an option the command does not know is refused with that command's
    usage (argparse would show the top level's: subcommands pass unknown options up)."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        commands.choices[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


def main(argv=None):
    args = parse(argv)
    from .collect import CollectError
    try:
        return dispatch(args)
    except (KitError, CollectError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_REFUSED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:   # no traceback reaches a user; KIT_TRACEBACK=1 shows it
        if os.environ.get("KIT_TRACEBACK"):
            raise
        print(f"error: {type(err).__name__}: {err}\n(unexpected: the kit did not check for this; "
              "run again with KIT_TRACEBACK=1 for the traceback, and report it)", file=sys.stderr)
        return EXIT_FAILED


def dispatch(args):
    if args.command == "release":
        from . import release
        release.run(kit_root=KIT_ROOT, course=args.course, dist=args.dist, lang=args.lang)
        return EXIT_OK
    if args.command == "collect":
        from . import collect
        results = collect.run(paths=args.paths, student=args.student, course_dir=args.course,
                              now=collect.parse_arrival(args.time) if args.time else None)
        return EXIT_FAILED if any(r.refused for r in results) else EXIT_OK
    if args.command == "autograde":
        from . import autograde
        results = autograde.run(course=args.course, students=args.students, **grading_kwargs(args))
        return EXIT_FAILED if autograde.grader_errors(results) else EXIT_OK
    if args.command == "feedback":
        from . import feedback
        feedback.run(course=args.course, students=args.students, jobs=args.jobs)
        return EXIT_OK
    if args.command == "report":
        from . import report
        report.run(course=args.course)
        return EXIT_OK
    if args.command == "similarity":
        from . import similarity
        similarity.run(course=args.course, known=args.known, base=args.base, out=args.out, show=args.show,
                       threshold=args.threshold / 100)
        return EXIT_OK
    if args.command == "export":
        from . import export
        result = export.run(course=args.course, format=args.format, roster=args.roster, out=args.out,
                            title=args.title, lms_assignment_id=args.lms_assignment_id)
        unresolved = (result["not_on_roster"] or result["not_graded"] or result["unmatched"]
                      or result["time_unknown"])
        return EXIT_FAILED if unresolved else EXIT_OK
    if args.command == "certificates":
        from . import certificates
        certificates.run(course=args.course, hosts=args.hosts, days=args.days, force=args.force)
        return EXIT_OK
    if args.command == "hub":
        from .hub import setup
        setup.run(start=not args.config_only, course=args.course, instructors=args.instructors,
                  graders=args.graders, students=args.students, grader_account=args.grader_account,
                  hub_dir=args.hub_dir, exchange=args.exchange, python=args.python, ip=args.ip,
                  port=args.port, auth=args.auth, password_file=args.password_file, data=args.data)
        return EXIT_OK
    if args.command == "hub-env":
        from .hub import env
        env.run(folder=args.folder, base_python=args.base_python)
        return EXIT_OK
    if args.command == "demo":
        from . import demo
        grading = grading_kwargs(args)
        if not args.notebooks:
            grading.update(run_notebooks=False, reference_limits=False)
        return demo.run(course=args.course, dist=args.dist, lang=args.lang, **grading)
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
