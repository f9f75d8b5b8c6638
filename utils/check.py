"""`python -m utils.check`: check your assignment folder before you hand it in.

It prints, in a few dozen lines:
- the visible test cells of both notebooks, run against your classifiers/ the way the
  grader runs them (the notebook's first code cell, then the test cells, in a fresh
  kernel that none of your other cells has touched: training and the search are not
  run here), and the visible points they earn;
- code still to write: functions in classifiers/ and notebook code cells that still
  raise `NotImplementedError`;
- written answers still to give, each named with its points (they are graded by hand);
- notebooks saved without the outputs of their cells.

Hidden tests are not in your copy (they were removed before the assignment was handed
out) and run only when your submission is graded; should a notebook hold one anyway, the
check drops it before running the cell. Passing here is necessary, not sufficient.

Inputs: the assignment folder (default: the current folder); `--data DIR` for CIFAR-10
(default: $CIFAR10_DIR, else data/cifar-10-batches-py).
Returns (exit status): 0 when everything the check sees is done, 1 while something is
not, 2 when the folder cannot be checked.
"""
import argparse
import ast
import os
import re
import sys
import unicodedata
from pathlib import Path

from .cell_names import grading, heading_before, is_written_answer, question_name
from .messages import _

NOTEBOOKS = ("svm.ipynb", "softmax.ipynb")
CELL_TIMEOUT = 300   # seconds per cell: a slow naive loss on a laptop still finishes
WIDTH = 110          # screen columns of the longest line the report prints (longer text is
                     # wrapped, error messages are cut to fit; Hangul takes two columns a letter)

# The text an unanswered written answer holds, and the lines that start and end a hidden
# test (should one reach your notebook, the check leaves it out).
ANSWER_PLACEHOLDER = "YOUR ANSWER HERE"
BEGIN_HIDDEN, END_HIDDEN = "BEGIN " + "HIDDEN TESTS", "END " + "HIDDEN TESTS"
# The placeholder in your edition's language (the Korean edition's answer cells hold its
# Korean sentence); nbgrader's English one is recognised in every edition.
ANSWER_PLACEHOLDERS = tuple(dict.fromkeys((ANSWER_PLACEHOLDER, _("YOUR ANSWER HERE"))))
# What else an answer cell holds when you get it: the "**Your answer:**" prompt (in the
# Korean edition "**답변:**").
ANSWER_PROMPT = re.compile(r"(your answer|답변)\s*:?", re.IGNORECASE)
RAISE_NOT_IMPLEMENTED = re.compile(r"^\s*raise\s+NotImplementedError\b", re.MULTILINE)


class CheckError(Exception):
    """The folder cannot be checked; the message says why and what to do."""


def run(*, folder, data_dir=None):
    """Check the assignment in `folder` and print the report.

    Inputs: folder, the student's assignment folder (the notebooks beside classifiers/);
    data_dir, a CIFAR-10 folder or None for the notebooks' own default.
    Returns: the exit status (0: everything the check sees is done; 1: something is not).
    Raises CheckError when `folder` is not an assignment folder.
    """
    folder = Path(folder).resolve()
    present = [name for name in NOTEBOOKS if (folder / name).is_file()]
    if not present or not (folder / "classifiers").is_dir():
        raise CheckError(_("expected {notebooks} beside classifiers/ in {folder}, found none; "
                           "run `python -m utils.check` inside your assignment folder").format(
                               notebooks=" and ".join(NOTEBOOKS), folder=folder))
    env = {**os.environ, **({"CIFAR10_DIR": str(data_dir)} if data_dir else {})}
    problems = [_("{name} is missing").format(name=name) for name in NOTEBOOKS if name not in present]
    notebooks = {}
    for name in present:
        try:
            notebooks[name] = read_notebook(folder / name)
        except ValueError as err:
            problems.append(_("{name} cannot be read ({err}); take it from the handed-out zip "
                              "again").format(name=name, err=err))
    results = [row for name, nb in notebooks.items() for row in run_visible_tests(folder / name, nb, env)]
    failed = print_tests(results)
    todo = print_code_to_write(folder, notebooks)
    missing = print_answers_to_write(notebooks)
    unrun = print_unrun(notebooks)
    return print_verdict(problems, failed, todo, missing, unrun)


def read_notebook(path):
    """The notebook at `path` (nbformat 4); ValueError when it is not one."""
    import nbformat
    try:
        return nbformat.read(path, as_version=4)
    except Exception as err:  # invalid JSON or not a notebook: one message for both
        raise ValueError(f"{type(err).__name__}: {str(err).strip()[:80]}") from None


def is_test(cell):
    """nbgrader's test cell: graded code that is not a solution (the grader's rule too)."""
    meta = grading(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def first_error(cell):
    """"Name: message" of a cell's first error output, or None (the grader's rule too)."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename')}: {output.get('evalue')}"
    return None


def visible_source(source):
    """`source` without any hidden-test region: the check never runs nor shows a hidden test."""
    kept, hidden = [], False
    for line in source.splitlines(keepends=True):
        if BEGIN_HIDDEN in line:
            hidden = True
        elif END_HIDDEN in line:
            hidden = False
        elif not hidden:
            kept.append(line)
    return "".join(kept)


def run_visible_tests(path, nb, env):
    """[(notebook, test cell id, points, first error or None)] for each test cell of `nb`.

    Runs the notebook's first code cell (its setup) and then its test cells, nothing else,
    in a fresh kernel started in the notebook's folder.
    """
    import nbformat
    from nbclient import NotebookClient
    tests = [cell for cell in nb.cells if is_test(cell)]
    setup = next((cell for cell in nb.cells if cell.cell_type == "code"), None)
    if not tests or setup is None:
        return []
    cells = [nbformat.v4.new_code_cell(visible_source(cell.source), metadata=cell.metadata)
             for cell in [setup, *tests]]
    scratch = nbformat.v4.new_notebook(cells=cells, metadata=nb.metadata)
    client = NotebookClient(scratch, timeout=CELL_TIMEOUT, allow_errors=True, kernel_name="python3",
                            config=kernel_config(), resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute(env=env)
    except Exception as err:  # a cell that hangs or kills the kernel: the rest did not run
        note = f"{type(err).__name__}: {str(err).strip().splitlines()[-1] if str(err).strip() else ''}"
        for cell in scratch.cells:
            if not cell.get("execution_count"):
                cell.outputs = [nbformat.v4.new_output("error", ename="NotRun", evalue=note)]
    return [(path.name, grading(cell).get("grade_id", "?"), grading(cell).get("points") or 0,
             first_error(cell)) for cell in scratch.cells[1:]]


def kernel_config():
    """Ask jupyter_client to encrypt the kernel's connection where it can.

    Kernels (ipykernel 7) warn "Kernel is running over TCP without encryption" on every
    start otherwise: their local ports are open to other users of the machine. With
    "auto" the kernel manager gives the kernel CurveZMQ keys when its kernelspec supports
    them; older jupyter_client versions have no such setting, and their kernels do not warn.
    """
    from jupyter_client import KernelManager
    from traitlets.config import Config
    import zmq
    if "transport_encryption" not in KernelManager.class_trait_names() or not zmq.has("curve"):
        return Config()
    return Config({"KernelManager": {"transport_encryption": "auto"}})


def print_tests(results):
    """One line per visible test cell under its notebook, then the visible points;
    return how many test cells failed."""
    width = max([len(r[1]) for r in results] + [10])
    failed = earned = total = 0
    previous = None
    for notebook, gid, points, error in results:
        if notebook != previous:
            print(_("Visible tests of {notebook} (points earned / points):").format(notebook=notebook))
            previous = notebook
        total += points
        earned += points if error is None else 0
        failed += error is not None
        result = _("passed") if error is None else " ".join([_("FAILED"), *error.strip().splitlines()[:1]])
        print(cut(f"  {gid:<{width}} {points if error is None else 0:>2g}/{points:<3g} {result}"))
    show(_("Visible points: {earned:g} of {total:g} ({passed} of {cells} visible test cells pass; "
            "hidden tests run when your work is graded)").format(
                earned=earned, total=total, passed=len(results) - failed, cells=len(results)))
    return failed


def columns(text):
    """The screen columns `text` takes in a terminal: wide and fullwidth East Asian characters
    (Hangul, CJK) take two, combining marks none, others one."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
               for c in text)


def cut(line):
    """`line` cut to the report's width in screen columns (error messages can be long)."""
    if columns(line) <= WIDTH:
        return line
    kept, used = [], 0
    for char in line:
        used += columns(char)
        if used > WIDTH - 3:
            break
        kept.append(char)
    return "".join(kept) + "..."


def wrap(text, indent="  "):
    """`text` broken at spaces into lines of at most WIDTH screen columns (its own line breaks
    kept; a word longer than a line is cut), the lines after the first of each indented."""
    lines = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if line and columns(candidate) > WIDTH:
                lines.append(cut(line))
                line = indent + word
            else:
                line = candidate
        lines.append(cut(line))
    return "\n".join(lines)


def show(text):
    """Print a sentence of the report, wrapped to its width."""
    print(wrap(text))


def print_code_to_write(folder, notebooks):
    """List the functions and notebook code cells that still raise NotImplementedError
    (and files that do not parse); return how many places there are."""
    lines, places = [], 0
    for path in sorted((folder / "classifiers").glob("*.py")):
        try:
            names = stubbed_functions(path.read_text(encoding="utf-8", errors="replace"))
        except SyntaxError as err:
            lines.append(_("classifiers/{file}: does not parse (line {line}: {msg})").format(
                file=path.name, line=err.lineno, msg=err.msg))
            places += 1
            continue
        if names:
            lines.append(f"classifiers/{path.name}: {', '.join(names)}")
            places += len(names)
    for name, nb in notebooks.items():
        for index, cell in enumerate(nb.cells):
            if (cell.cell_type == "code" and grading(cell).get("solution")
                    and RAISE_NOT_IMPLEMENTED.search(cell.source)):
                lines.append(_("{name}: the code cell under \"{heading}\"").format(
                    name=name, heading=heading_before(nb.cells, index)))
                places += 1
    show("\n" + (_("Code still to write (it raises NotImplementedError):") if lines
                  else _("Code still to write: none")))
    for line in lines:
        print(cut("  " + line))
    return places


def stubbed_functions(text):
    """Names of the functions of a module's source that raise NotImplementedError.

    A method that a subclass in the same module overrides is left out: raising there is
    on purpose (LinearClassifier.loss says "subclasses define the loss").
    Raises SyntaxError when `text` is not Python.
    """
    tree = ast.parse(text)
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    overridden = {(base.id, item.name) for cls in classes for base in cls.bases
                  if isinstance(base, ast.Name) for item in cls.body
                  if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))}
    functions = [(None, node) for node in tree.body]
    functions += [(cls.name, node) for cls in classes for node in cls.body]
    return [f"{owner}.{node.name}" if owner else node.name for owner, node in functions
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and (owner, node.name) not in overridden and raises_not_implemented(node)]


def raises_not_implemented(function):
    for node in ast.walk(function):
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                return True
    return False


def print_answers_to_write(notebooks):
    """Name the written answers still to give, with their points, a few to a line per
    notebook; return how many there are."""
    missing = {name: [_("{question} ({points:g} points)").format(
                          question=question_name(nb.cells, index), points=grading(cell).get("points") or 0)
                      for index, cell in enumerate(nb.cells)
                      if is_written_answer(cell) and unanswered(cell.source)]
               for name, nb in notebooks.items()}
    count = sum(len(names) for names in missing.values())
    points = sum(grading(cell).get("points") or 0 for nb in notebooks.values() for cell in nb.cells
                 if is_written_answer(cell) and unanswered(cell.source))
    given = sum(is_written_answer(cell) for nb in notebooks.values() for cell in nb.cells) - count
    if not count:
        show("\n" + _("Written answers: all {given} given (graded by hand)").format(given=given))
        return 0
    show("\n" + _("Written answers still to give ({count}, {points:g} points, graded by hand; "
                   "{given} given):").format(count=count, points=points, given=given))
    for name, names in missing.items():
        line = f"  {name}:"
        for index, question in enumerate(names):
            item = f" {question}" + ("," if index < len(names) - 1 else "")
            if columns(line) + columns(item) > WIDTH:  # a new line, never inside "Question 1 (2 points)"
                print(line)
                line = "   "
            line += item
        if names:
            print(line)
    return count


def unanswered(source):
    """True when an answer cell holds nothing but what the release put there
    (the placeholder, the "Your answer:" prompt, markdown marks and blanks)."""
    if any(placeholder in source for placeholder in ANSWER_PLACEHOLDERS):
        return True
    return not re.sub(r"[\W_]+", "", ANSWER_PROMPT.sub("", source))


def print_unrun(notebooks):
    """Remind that notebooks are handed in with their outputs (they show the figures and
    results the written answers are about)."""
    counts = [(name, sum(1 for c in nb.cells if c.cell_type == "code" and c.get("execution_count") is None),
               sum(1 for c in nb.cells if c.cell_type == "code")) for name, nb in notebooks.items()]
    unrun = [_("{name} {n} of {total}").format(name=name, n=n, total=total)
             for name, n, total in counts if n]
    if unrun:
        show("\n" + _("Code cells not run: {cells}; run all cells and save before you hand "
                       "in.").format(cells=", ".join(unrun)))
    return len(unrun)


def print_verdict(problems, failed, todo, missing, unrun):
    """The last line: what is left, or that everything the check sees is done.
    Returns the exit status: 1 while tests fail or code or answers are missing, else 0
    (notebooks saved without outputs are only a reminder: grading runs them again)."""
    left = problems + [what.format(count=count) for count, what in (
        (failed, _("{count} visible test cells fail")),
        (todo, _("{count} places raise NotImplementedError")),
        (missing, _("{count} written answers missing"))) if count]
    if left:
        show("\n" + _("Not done yet: {left}.").format(left=", ".join(left)))
        return 1
    show("\n" + (_("Everything this check can see is done (save the notebooks run); hidden tests "
                    "run when it is graded.") if unrun else
                  _("Everything this check can see is done; hidden tests run when it is graded.")))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m utils.check", description=__doc__.splitlines()[0])
    from . import __version__
    parser.add_argument("--version", action="version", version="%(prog)s " + __version__)
    parser.add_argument("folder", nargs="?", type=Path, default=Path.cwd(),
                        help="your assignment folder (default: the current folder)")
    parser.add_argument("--data", type=Path, default=None,
                        help="CIFAR-10 folder (default: $CIFAR10_DIR, else data/cifar-10-batches-py)")
    args = parser.parse_args(argv)
    try:
        return run(folder=args.folder, data_dir=args.data)
    except CheckError as err:
        print(_("error: {err}").format(err=err), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
