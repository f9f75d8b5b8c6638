"""`python -m bench`: parse the benchmark's options, then call bench.benchmark.run."""
import argparse
import sys
from pathlib import Path

from kit.__main__ import positive_int, version
from kit.course import KitError

from .benchmark import ITEMS, run


def item_list(text):
    """'6,7' -> (6, 7); every item must be one of ITEMS."""
    try:
        items = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        items = ()
    if not items or not set(items) <= set(ITEMS):
        raise argparse.ArgumentTypeError(
            f"expected benchmark items among {min(ITEMS)}-{max(ITEMS)} such as 6,7, got {text!r} instead")
    return items


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m bench",
                                     description="measure losses, training, notebooks and grading")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    parser.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes: proves the benchmark runs, its ratios mean nothing")
    parser.add_argument("--repeats", type=positive_int, default=5,
                        help="runs of each candidate; each figure is their median (default %(default)s)")
    parser.add_argument("--items", type=item_list, default=tuple(ITEMS), metavar="N,N,...",
                        help=f"only these items, e.g. 6,7 (default: all of {min(ITEMS)}-{max(ITEMS)}; "
                             "1 and 2 run together)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return run(json_path=args.json, smoke=args.smoke, repeats=args.repeats, items=args.items)
    except KitError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
