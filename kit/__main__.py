"""`python -m kit COMMAND`: the instructor's command line (students have `python -m utils.check`).

A thin wrapper: each command parses its arguments and calls one stage's `run(*, ...)`.
"""
import argparse
import sys
from pathlib import Path

from .course import DEFAULT_COURSE, DEFAULT_DIST, KIT_ROOT, KitError


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text} instead")
    return value


def positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text} instead")
    return value


def add_course_option(parser, default=DEFAULT_COURSE):
    parser.add_argument("--course", type=Path, default=default,
                        help=f"the nbgrader course directory (default {default})")


def add_grading_options(parser, course_default=DEFAULT_COURSE):
    add_course_option(parser, course_default)
    parser.add_argument("--jobs", type=positive_int, default=1, help="submissions graded at once (default 1)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="grade on a Dask cluster, e.g. tcp://10.0.0.5:8786, instead of locally")
    parser.add_argument("--cell-timeout", type=positive_float, default=None,
                        help="seconds one cell may run (default: the course's c.KitGrading.cell_timeout, 120)")
    parser.add_argument("--submission-timeout", type=positive_float, default=None,
                        help="seconds one whole submission may take (default: the course's setting, 1200)")
    parser.add_argument("--tests-only", action="store_true",
                        help="run only the setup and test cells, not the whole notebooks (same scores)")
    parser.add_argument("--allow-unisolated", action="store_true",
                        help="grade even where the sandbox (bubblewrap) cannot isolate student code "
                             "(resource limits only; by default grading refuses)")
    parser.add_argument("--data", type=Path, default=None,
                        help="CIFAR-10 folder (default: $CIFAR10_DIR, else data/cifar-10-batches-py)")


def grading_kwargs(args):
    """Only what the command line says: the rest comes from the course's configuration."""
    return dict(jobs=args.jobs, scheduler=args.scheduler,
                cell_timeout=args.cell_timeout, submission_timeout=args.submission_timeout,
                run_notebooks=False if args.tests_only else None,
                allow_unisolated=True if args.allow_unisolated else None, data_dir=args.data)


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m kit", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    release = commands.add_parser("release", help="build the student release and dist/linear_classifiers.zip")
    release.add_argument("--dist", type=Path, default=DEFAULT_DIST)
    add_course_option(release)

    from . import collect
    collect.add_arguments(commands.add_parser("collect", help="take in submissions (zip files or folders)"))

    autograde = commands.add_parser("autograde", help="grade submissions; write the gradebook and grades.csv")
    autograde.add_argument("students", nargs="*", help="student ids (default: every submission)")
    add_grading_options(autograde)

    feedback = commands.add_parser("feedback", help="feedback HTML per graded notebook (after hand grading)")
    feedback.add_argument("students", nargs="*", help="student ids (default: every graded submission)")
    add_course_option(feedback)
    feedback.add_argument("--jobs", type=positive_int, default=1, help="notebooks rendered at once (default 1)")

    report = commands.add_parser("report", help="common mistakes per function, scores and pass rates "
                                                "(reports/report.html, .csv, .json)")
    add_course_option(report)

    demo = commands.add_parser("demo", help="release, then grade three example submissions and check them")
    demo.add_argument("--dist", type=Path, default=DEFAULT_DIST)
    add_grading_options(demo, course_default=KIT_ROOT / "demo-course")

    from . import export, similarity
    similarity.add_arguments(commands.add_parser(
        "similarity", help="compare the submissions' code with each other and with known solutions"))
    export.add_arguments(commands.add_parser("export", help="grades as Canvas or Moodle import (or plain CSV)"))
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return dispatch(args)
    except KitError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def dispatch(args):
    if args.command == "release":
        from . import release
        release.run(kit_root=KIT_ROOT, course=args.course, dist=args.dist)
        return 0
    if args.command == "collect":
        from . import collect
        return collect.main(args)
    if args.command == "autograde":
        from . import autograde
        results = autograde.run(course=args.course, students=args.students, **grading_kwargs(args))
        return 1 if autograde.grader_errors(results) else 0
    if args.command == "feedback":
        from . import feedback
        feedback.run(course=args.course, students=args.students, jobs=args.jobs)
        return 0
    if args.command == "report":
        from . import report
        report.run(course=args.course)
        return 0
    if args.command == "demo":
        from . import demo
        return demo.run(course=args.course, dist=args.dist, **grading_kwargs(args))
    if args.command == "similarity":
        from . import similarity
        return similarity.main(args)
    if args.command == "export":
        from . import export
        return export.main(args)
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
