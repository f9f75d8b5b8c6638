"""`python -m utils.check`: check your assignment folder before you hand it in.

Runs the visible test cells of both notebooks against your classifiers/ the way the
grader runs them (the notebook's setup cell, then the test cells, in a fresh kernel
that none of your notebook cells has touched), prints a table of what passes, then runs
nbgrader's validate on each notebook. Exits 1 while anything fails. Your copy has no
hidden tests, so none can run here: passing this check is necessary, not sufficient.
"""
import argparse
import os
import subprocess
import sys
from pathlib import Path

NOTEBOOKS = ("svm.ipynb", "softmax.ipynb")
CELL_TIMEOUT = 300   # seconds per cell: a slow naive loss on a laptop still finishes


class CheckError(Exception):
    """The folder cannot be checked; the message says why and what to do."""


def run(*, folder, validate=True, data_dir=None):
    """Check `folder`; return the exit status (0: everything passes)."""
    folder = Path(folder).resolve()
    present = [nb for nb in NOTEBOOKS if (folder / nb).is_file()]
    if not present or not (folder / "classifiers").is_dir():
        raise CheckError(f"expected {' and '.join(NOTEBOOKS)} beside classifiers/ in {folder}, "
                         "found none; run `python -m utils.check` inside your assignment folder")
    env = {**os.environ, "KIT_QUICK": "1", **({"CIFAR10_DIR": str(data_dir)} if data_dir else {})}
    rows = [row for name in present for row in check_notebook(folder / name, env)]
    failed = print_table(rows)
    missing = [nb for nb in NOTEBOOKS if nb not in present]
    for nb in missing:
        print(f"{nb}: missing from {folder}")
    invalid = [nb for nb in present if validate and not validate_notebook(folder / nb, env)]
    return 1 if failed or missing or invalid else 0


def is_test(cell):
    """nbgrader's test cell: graded code that is not a solution (the grader's rule too)."""
    grading = cell.get("metadata", {}).get("nbgrader") or {}
    return cell.get("cell_type") == "code" and bool(grading.get("grade")) and not grading.get("solution")


def check_notebook(path, env):
    """[(notebook, test cell id, points, first error or None)] for each test cell of `path`."""
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(path, as_version=4)
    tests = [cell for cell in nb.cells if is_test(cell)]
    setup = next((cell for cell in nb.cells if cell.cell_type == "code"), None)
    if not tests or setup is None:
        return []
    scratch = nbformat.v4.new_notebook(cells=[setup, *tests], metadata=nb.metadata)
    for cell in scratch.cells:
        cell.outputs = []
    client = NotebookClient(scratch, timeout=CELL_TIMEOUT, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute(env=env)
    except Exception as err:  # a cell that hangs or kills the kernel: the rest did not run
        note = f"{type(err).__name__}: {str(err).strip().splitlines()[-1] if str(err).strip() else ''}"
        for cell in scratch.cells:
            if not cell.get("execution_count"):
                cell.outputs = [nbformat.v4.new_output("error", ename="NotRun", evalue=note)]
    return [(path.name, cell.metadata["nbgrader"].get("grade_id", "?"),
             cell.metadata["nbgrader"].get("points", 0), first_error(cell)) for cell in scratch.cells[1:]]


def first_error(cell):
    """"Name: message" of a cell's first error output, or None (the grader's rule too)."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename')}: {output.get('evalue')}"
    return None


def print_table(rows):
    """Print one line per test cell; return how many failed."""
    width = max([len(r[1]) for r in rows] + [10])
    failed = 0
    print(f"{'notebook':<14} {'test cell':<{width}} {'points':>6}  result")
    for notebook, gid, points, error in rows:
        failed += error is not None
        result = "passed" if error is None else "FAILED  " + error.splitlines()[0][:100]
        print(f"{notebook:<14} {gid:<{width}} {points:>6g}  {result}")
    print(f"{len(rows) - failed} of {len(rows)} visible test cells pass "
          "(hidden tests run only when your submission is graded).")
    return failed


def validate_notebook(path, env):
    """nbgrader's own validate, in its own process (it changes directory while it runs)."""
    print(f"\nnbgrader validate {path.name}:")
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "validate", str(path),
                           f"--Execute.timeout={2 * CELL_TIMEOUT}"], env=env,
                          capture_output=True, text=True, cwd=path.parent)
    print(proc.stdout.strip() or proc.stderr.strip())
    return proc.returncode == 0 and "failed" not in proc.stdout.lower()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m utils.check", description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=Path.cwd(),
                        help="your assignment folder (default: the current folder)")
    parser.add_argument("--no-validate", action="store_true", help="skip nbgrader's validate step")
    parser.add_argument("--data", type=Path, default=None,
                        help="CIFAR-10 folder (default: $CIFAR10_DIR, else data/cifar-10-batches-py)")
    args = parser.parse_args(argv)
    try:
        return run(folder=args.folder, validate=not args.no_validate, data_dir=args.data)
    except CheckError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
