"""How large a submitted notebook's structure may be: cells, JSON nesting, JSON containers.

Why: every stage after collect (restoring, grading, sanitizing, nbconvert's rendering in
`kit feedback` and formgrader) spends time per cell and recurses per level of nesting. A
notebook of 100,000 tiny cells is a few megabytes, well within collect's byte limits, yet
took `kit feedback` six minutes and 2 GB; JSON nested a few thousand levels deep makes
json, copy.deepcopy and jsonschema hit Python's recursion limit.

The limits, and why they are generous:
- MAX_CELLS: the released notebooks have 59 (svm) and 46 (softmax) cells; a student who
  adds a scratch cell under each of them and dozens of their own stays below 200. 1,000
  is 17 times the larger notebook, and keeps a full notebook's feedback within a few
  times a normal one's time (nbconvert renders ~7 ms per cell here).
- MAX_DEPTH: the released notebooks nest 6 levels deep (notebook, cells, cell, outputs,
  output, data); 32 leaves room for any tool's nested metadata and stays far below the
  recursion limit (1,000 frames, several per level in jsonschema and deepcopy).
- MAX_CONTAINERS: JSON objects and arrays; the released notebooks have ~250, a graded
  one with outputs and widget state a few thousand. 500,000 bounds what json.loads builds
  to tens of MB (100 MB of "[]," within collect's byte limits would be 33 million lists,
  gigabytes), and is above what a notebook of 100,000 tiny cells has (2 or 3 per cell),
  so such a notebook is refused for its cells, the message a student understands.

`check_text(text, where)` is the one check: collect refuses a submission that fails it
(kit/collect.py), and the grader reads a notebook that fails it as an unreadable notebook
(kit/autograde/task.py, which nbgrader's own autograde also goes through), so nothing
after them meets a notebook over these limits. kit/sanitize.py keeps its own per-notebook
budgets for graded notebooks that did not come from the kit's grader.
"""
import json
import re

MAX_CELLS = 1_000
MAX_DEPTH = 32
MAX_CONTAINERS = 500_000

# A JSON string, escapes included; unrolled ("normal* (special normal*)*") so that the
# regex engine moves through long strings without backtracking.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKET = re.compile(r"[\[\]{}]")


class NotebookTooLarge(ValueError):
    """A notebook over one of this module's limits; the message says which, where and the limit."""


def check_text(text, where):
    """Refuse notebook JSON over the limits, before it is parsed into objects.

    Inputs: text, the notebook file's text (str); where, how to name it in a message
    (e.g. "alice.zip: member 'svm.ipynb'").
    Returns None when the text is within the limits, or is not JSON at all (whoever parses
    it next reports that as they always have).
    Raises NotebookTooLarge naming what is over which limit.
    """
    if not isinstance(text, str):
        raise TypeError(f"expected the notebook's text as str, got {type(text).__name__} instead")
    # Strings removed, only structure is left: brackets outside strings are containers.
    skeleton = _STRING.sub("", text)
    containers = skeleton.count("[") + skeleton.count("{")
    if containers > MAX_CONTAINERS:
        raise NotebookTooLarge(f"{where} has {containers:,} JSON objects and arrays (cells, outputs, "
                               f"metadata), over the limit of {MAX_CONTAINERS:,}")
    depth = deepest = 0
    for match in _BRACKET.finditer(skeleton):   # at most 2 * MAX_CONTAINERS brackets: bounded time
        depth += 1 if match.group() in "[{" else -1
        deepest = max(deepest, depth)
    if deepest > MAX_DEPTH:
        raise NotebookTooLarge(f"{where} is nested {deepest} levels deep (lists and objects "
                               f"inside each other), over the limit of {MAX_DEPTH}")
    try:
        nb = json.loads(text)
    except (ValueError, RecursionError):
        return None
    found = nb.get("cells") if isinstance(nb, dict) else None
    if isinstance(found, list) and len(found) > MAX_CELLS:
        raise NotebookTooLarge(f"{where} has {len(found):,} cells, over the limit of "
                               f"{MAX_CELLS:,} cells per notebook")
    return None
