"""What the kit tells a student about each test cell: words the kit wrote, nothing else.

A test cell runs hidden tests in the student's process, so anything that process sends
back (printed text, an exception's message, a traceback, an object's repr inside an
assert message) can carry hidden-test source that student code read from the kernel.
Feedback therefore never quotes it. A test cell's feedback is built only from:
- what the grader itself decided (a timeout, a dead kernel, the trusted checks);
- the cell's visible source (the line that failed, if it is visible; the line number
  comes from the traceback and at worst points at another visible line);
- the name of the exception, if it is one of Python's built-in exceptions;
- frames in the student's own files: a file of their submission and a function that
  file defines, with a line number.
"""
import ast
import builtins
import re

from .cells import first_error
from .release import BEGIN_HIDDEN, END_HIDDEN

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CELL_FRAME = re.compile(r"(?:Cell In\s*\[\d*\]|<ipython-input-[^>]*>|File <string>)\D*line (\d+)")
FILE_FRAME = re.compile(r"(classifiers/\w{1,60}\.py):(\d{1,6}), in ([\w.]{1,120})")
BUILTIN_ERRORS = frozenset(name for name in dir(builtins) if isinstance(getattr(builtins, name), type)
                           and issubclass(getattr(builtins, name), BaseException))
PASSED = ["passed"]
HIDDEN_FAILED = ("A hidden test of this cell failed: compare your function with the task's "
                 "description, including edge cases (one example, reg = 0, large scores).")
MAX_FRAMES = 5


def hidden_flags(lines):
    """For each line of a test cell, whether the release leaves it out (a hidden-test line
    or one of the markers around it). The one rule for what of a test cell students see."""
    hidden = False
    for line in lines:
        if BEGIN_HIDDEN in line:
            hidden = True
            yield True
        elif END_HIDDEN in line:
            hidden = False
            yield True
        else:
            yield hidden


def visible_line(source, number):
    """Line `number` (1-based, as a traceback counts) of a test cell, if students see it; else None."""
    lines = source.splitlines()
    if not 1 <= number <= len(lines) or list(hidden_flags(lines))[number - 1]:
        return None
    return lines[number - 1].strip() or None


def defined_functions(files):
    """{relative path: (names of the functions and classes it defines, its number of lines)}
    of the student's .py files."""
    result = {}
    for rel, data in files.items():
        if not rel.endswith(".py"):
            continue
        try:
            tree = ast.parse(data)
        except (SyntaxError, ValueError):
            continue
        names = {node.name for node in ast.walk(tree)
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
        result[rel] = (names, len(data.splitlines()))
    return result


def student_frames(text, functions):
    """Frames of the traceback text that point into the student's own files, checked: the
    traceback is the student's text, so a frame is shown only if its file is one of theirs,
    its line exists there and its function is defined there (nothing else can pass)."""
    frames = []
    for match in FILE_FRAME.finditer(text):
        rel, line, name = match.group(1), match.group(2), match.group(3)
        entry = f"  {rel}, line {int(line)}, in {name}"
        known, length = functions.get(rel, (set(), 0))
        if 1 <= int(line) <= length and all(part in known for part in name.split(".")) \
                and entry not in frames:
            frames.append(entry)
    return frames[-MAX_FRAMES:]


def test_cell_feedback(cell, *, grader_note=None, disagreements=(), functions=None, mistakes=()):
    """Lines of feedback for one test cell after the checking kernel ran it.

    Inputs:
    - cell: the test cell (full source, with its hidden tests; its outputs from the kernel);
    - grader_note: the grader's own words when it stopped the cell (timeout, dead kernel);
    - disagreements: the trusted checks' findings when they contradict a passing cell;
    - functions: defined_functions() of the submission, to name frames in the student's code;
    - mistakes: names of known mistakes the trusted checks recognised (kit/mistakes.py).
    Returns a list of plain-text lines, none of them taken from the kernel's output.
    """
    if grader_note:
        return [f"Not graded: {grader_note}."]
    error = first_error(cell)
    if error is None and not disagreements:
        return list(PASSED)
    if error is None:
        return ["The grader's own check of your code disagrees with this test cell's result:",
                *[f"  {finding}" for finding in disagreements], *mistake_lines(mistakes)]
    output = next(o for o in cell.outputs if o.get("output_type") == "error")
    text = ANSI.sub("", "\n".join(str(line) for line in output.get("traceback") or []))
    frame = CELL_FRAME.search(text)
    line = int(frame.group(1)) if frame else None
    ename = output.get("ename")
    kind = f"{ename}" if ename in BUILTIN_ERRORS else "an error"
    shown = visible_line(cell.source, line) if line is not None else None
    if shown is not None:
        lines = [f"Failed with {kind} at line {line} of this test cell:", "    " + shown]
    else:
        lines = [HIDDEN_FAILED]
    frames = student_frames(text, functions or {})
    if frames:
        lines += ["In your code:", *frames]
    return lines + mistake_lines(mistakes)


def mistake_lines(names):
    """The kit's words for the known mistakes found (none for "other": nothing to name; none
    for "no_result": the cell's own error says more)."""
    from .mistakes import NO_RESULT, OTHER, words
    known = [name for name in dict.fromkeys(names) if name not in (OTHER, NO_RESULT)]
    return ["The grader's check recognised a common mistake:" if len(known) == 1 else
            "The grader's check recognised common mistakes:", *[f"  - {words(n)}" for n in known]] if known else []
