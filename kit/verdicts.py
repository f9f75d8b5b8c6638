"""What the kit tells a student about each test cell: words the kit wrote, nothing else.

A test cell runs hidden tests in the student's process, so anything that process sends
back (printed text, an exception's message, a traceback, an object's repr inside an
assert message) can carry hidden-test source that student code read from the kernel.
Feedback therefore never quotes it. A test cell's feedback is built only from:
- what the grader itself decided (a timeout, a dead kernel, the trusted checks);
- the cell's visible source (the line that failed, if it is visible; the line number
  comes from the traceback and at worst points at another visible line);
- the name of the exception, if it is one of a short list of common built-in ones;
- one frame in the student's own code, built from the student's file as the grader read
  it: the file's path, the whole name of a function that file defines, a line inside that
  function, and that line's own text from the file.
The kernel's text only points: it chooses which visible line, which listed exception name
and which (function, line) of the student's own file are shown, never a character of what
is shown. A cell's feedback can so carry at most a few bits chosen by the kernel
(log2 of the visible lines, of the names, of the student's own lines), never hidden text.
"""
import ast
import re
from typing import NamedTuple

from .cells import first_error
from .mistakes import UNNAMED, words
from .notebook_rules import hidden_flags  # noqa: F401 (what of a test cell students see)
from .phrases import CODE_INDENT, N_

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CELL_FRAME = re.compile(r"(?:Cell In\s*\[\d*\]|<ipython-input-[^>]*>|File <string>)\D*line (\d+)")
FILE_FRAME = re.compile(r"(classifiers/\w{1,60}\.py):(\d{1,6}), in ([\w.]{1,120})")
# The exception names feedback may show (others are "an error"): the common ones only, so
# that the kernel's choice among them says little.
SHOWN_ERRORS = frozenset((
    "AssertionError", "AttributeError", "FloatingPointError", "ImportError", "IndexError",
    "KeyError", "MemoryError", "ModuleNotFoundError", "NameError", "NotImplementedError",
    "OverflowError", "RecursionError", "RuntimeError", "SyntaxError", "TypeError",
    "UnboundLocalError", "ValueError", "ZeroDivisionError"))
# Every line below is stored in English and translated when rendered (kit/phrases.py).
PASSED = [N_("passed")]
HIDDEN_FAILED = N_("A hidden test of this cell failed: compare your function with the task's "
                   "description, including edge cases (one example, reg = 0, large scores).")
MAX_SHOWN_LINE = 120   # characters of the student's own line shown under its frame


def visible_line(source, number):
    """Line `number` (1-based, as a traceback counts) of a test cell, if students see it; else None."""
    lines = source.splitlines()
    if not 1 <= number <= len(lines) or list(hidden_flags(lines))[number - 1]:
        return None
    return lines[number - 1].strip() or None


class Function(NamedTuple):
    """A function or method a student's file defines: its names and its lines (1-based)."""
    qualname: str
    name: str
    first: int
    last: int


def _functions_of(tree):
    found = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                qualname = prefix + child.name
                found.append(Function(qualname, child.name, child.lineno, child.end_lineno or child.lineno))
                visit(child, qualname + ".<locals>.")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")
            else:
                visit(child, prefix)
    visit(tree, "")
    return found


def defined_functions(files):
    """{relative path: ([Function], the file's lines)} of the student's .py files, as the
    grader read them (the only source of what a frame shows)."""
    result = {}
    for rel, data in files.items():
        if not rel.endswith(".py"):
            continue
        try:
            text = data.decode("utf-8") if isinstance(data, bytes) else data
            tree = ast.parse(text)
        except (SyntaxError, ValueError, UnicodeDecodeError):
            continue
        result[rel] = (_functions_of(tree), text.splitlines())
    return result


def student_frame(text, functions):
    """The one frame of the traceback text to show, rebuilt from the student's file, or None.

    The traceback is the kernel's text: a frame it names is shown only if its file is a
    student's file the grader read, its function's whole name (bare or qualified) is a
    function that file defines and its line lies inside that function; what is shown is
    the grader's own path, name and line text. The last such frame wins (the innermost).
    """
    shown = None
    for match in FILE_FRAME.finditer(text):
        rel, line, name = match.group(1), int(match.group(2)), match.group(3)
        defined, lines = functions.get(rel, ((), ()))
        for function in defined:
            if name in (function.qualname, function.name) and function.first <= line <= function.last:
                own = lines[line - 1].strip()[:MAX_SHOWN_LINE] if line <= len(lines) else ""
                shown = ["  " + N_("{file}, line {line}, in {function}").format(
                    file=rel, line=line, function=function.qualname)] + ([f"      {own}"] if own else [])
                break
    return shown


def test_cell_feedback(cell, *, grader_note=None, disagreements=(), functions=None, mistakes=()):
    """Lines of feedback for one test cell after the checking kernel ran it.

    Inputs:
    - cell: the test cell (full source, with its hidden tests; its outputs from the kernel);
    - grader_note: the grader's own words when it stopped the cell (timeout, dead kernel);
    - disagreements: the trusted checks' findings when they contradict a passing cell;
    - functions: defined_functions() of the submission, to rebuild a frame in the student's code;
    - mistakes: names of known mistakes the trusted checks recognised (kit/mistakes.py).
    Returns a list of plain-text lines, none of them taken from the kernel's output.
    """
    if grader_note:
        return [N_("Not graded: {reason}.").format(reason=grader_note)]
    error = first_error(cell)
    if error is None and not disagreements:
        return list(PASSED)
    if error is None:
        return [N_("The grader's own check of your code disagrees with this test cell's result:"),
                *[f"  {finding}" for finding in disagreements], *mistake_lines(mistakes)]
    output = next(o for o in cell.outputs if o.get("output_type") == "error")
    text = ANSI.sub("", "\n".join(str(line) for line in output.get("traceback") or []))
    frame = CELL_FRAME.search(text)
    line = int(frame.group(1)) if frame else None
    ename = output.get("ename")
    kind = f"{ename}" if ename in SHOWN_ERRORS else N_("an error")
    shown = visible_line(cell.source, line) if line is not None else None
    if shown is not None:
        lines = [N_("Failed with {error} at line {line} of this test cell:").format(error=kind, line=line),
                 " " * CODE_INDENT + shown]
    else:
        lines = [HIDDEN_FAILED]
    frame = student_frame(text, functions or {})
    if frame:
        lines += [N_("In your code:"), *frame]
    return lines + mistake_lines(mistakes)


def mistake_lines(names):
    """The kit's words for the known mistakes found (none for "other": nothing to name; none
    for a missing result's cause: the cell's own error says more)."""
    known = [name for name in dict.fromkeys(names) if name not in UNNAMED]
    return [N_("The grader's check recognised a common mistake:") if len(known) == 1 else
            N_("The grader's check recognised common mistakes:"), *[f"  - {words(n)}" for n in known]] if known else []
