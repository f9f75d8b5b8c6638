"""The translation tables of the editions (kit/i18n.py describes their format): the units of
text of each English source (notebook cells, docstrings, comments, messages, markdown files),
their fingerprints, the stubs the release writes, and one source's text translated by its
table, with its code proved unchanged."""
import ast
import hashlib
import io
import json
import textwrap
import tokenize
from pathlib import Path

import yaml

from .course import KIT_ROOT, KitError
from .notebook_rules import NOTEBOOKS, solution_regions

LANGUAGES = ("en", "ko")
DEFAULT_LANGUAGE = "en"
# The student-facing English files that have a translation, relative to the kit's root.
SOURCES = (*(f"notebooks/{nb}" for nb in NOTEBOOKS),
           "classifiers/linear_classifier.py", "classifiers/linear_svm.py",
           "classifiers/softmax.py", "student/README.md")


# What the release puts in place of a solution, by stub id (see stubs()). The answer and code
# cells' are nbgrader's own defaults (ClearSolutions), the function's is the kit's
# (kit/release.py cut_solutions: "{name}" becomes the function's name).
FUNCTION_STUB = ('# YOUR CODE HERE (see the TODO above)\n'
                 'raise NotImplementedError("{name}: not implemented yet; see the TODO above")')
STUBS_TABLE = "stubs"   # i18n/<lang>/stubs.yaml


def english_stubs():
    """{stub id: English text} of the stubs the release writes."""
    from nbgrader.preprocessors import ClearSolutions
    return {"answer cell": ClearSolutions.text_stub.default_value,
            "code cell": ClearSolutions().code_stub["python"],
            "function": FUNCTION_STUB}


def stubs(*, kit_root=KIT_ROOT, lang):
    """{stub id: text} in `lang` (English when `lang` is, or for a stub not translated yet:
    problems() reports that, and the release refuses before it asks)."""
    english = english_stubs()
    if lang == DEFAULT_LANGUAGE:
        return english
    table = load_table(table_path(kit_root, lang, STUBS_TABLE))
    return {uid: table[uid][lang] if isinstance(table.get(uid), dict)
            and isinstance(table[uid].get(lang), str) else text for uid, text in english.items()}


def fingerprint(text):
    """sha256 of the English with trailing spaces and surrounding blank lines ignored
    (an editor's whitespace does not make a translation stale; a changed word does)."""
    normal = "\n".join(line.rstrip() for line in text.strip("\n").splitlines())
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


def table_path(kit_root, lang, source):
    return Path(kit_root) / "i18n" / lang / f"{source}.yaml"


def load_table(path):
    """The entries of one translation file ({} when there is none).

    Returns: {unit id: {"en_sha256": str, <lang>: str}}.
    """
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise KitError(f"{path}: expected a mapping of unit ids to entries, "
                       f"got {type(data).__name__} instead; see kit/i18n.py for the format")
    return data


# --- the units of text of each kind of source ---------------------------------------------

def units_of(path, text):
    """The translatable units of one English source.

    Inputs: path (decides the kind by its suffix), text (its content).
    Returns: {unit id: (start, end, English)} with character offsets into `text` for .py
    files, and None offsets for notebook cells and markdown files (replaced whole).
    """
    suffix = Path(path).suffix
    if suffix == ".ipynb":
        cells = json.loads(text)["cells"]
        return {cell_id(cell, i): (None, None, "".join(cell["source"]))
                for i, cell in enumerate(cells) if cell["cell_type"] == "markdown"}
    if suffix == ".py":
        return python_units(text)
    if suffix == ".md":
        return {"text": (None, None, text)}
    raise KitError(f"expected a .ipynb, .py or .md source to translate, got {path} instead")


def cell_id(cell, index):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"cell {index}"


def python_units(text):
    """Docstrings and comments of Python source, outside solution regions (those are cut
    from the release, and the reference solution stays as the instructor wrote it)."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    hidden = set()
    for begin, end in solution_regions(lines):
        hidden.update(range(begin + 1, end + 2))  # 1-based line numbers, markers included
    tree = ast.parse(text)
    names = qualified_names(tree)
    scopes = [(node.lineno, node.end_lineno, names[node]) for node in names]

    def scope(lineno):
        inside = [s for s in scopes if s[0] <= lineno <= s[1]]
        return min(inside, key=lambda s: s[1] - s[0])[2] if inside else "module"

    units, counts = {}, {}
    for node in ast.walk(tree):
        doc = docstring_node(node)
        if doc is not None:
            start = starts[doc.lineno - 1] + doc.col_offset
            end = starts[doc.end_lineno - 1] + doc.end_col_offset
            name = names.get(node, "module")
            units[f"{name}.__doc__"] = (start, end, text[start:end])
    for node in message_literals(tree):
        if node.lineno in hidden:
            continue
        start = starts[node.lineno - 1] + node.col_offset
        end = starts[node.end_lineno - 1] + node.end_col_offset
        name = scope(node.lineno)
        counts[name, "$"] = counts.get((name, "$"), 0) + 1
        units[f"{name}${counts[name, '$']}"] = (start, end, text[start:end])
    block = None  # [first line, last line] of a run of whole-line comments
    runs = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type != tokenize.COMMENT or tok.start[0] in hidden:
            continue
        row, col = tok.start
        if lines[row - 1][:col].strip():  # a comment after code: a unit of its own
            runs.append((row, row, starts[row - 1] + col, starts[row - 1] + tok.end[1]))
        elif block and block[1] == row - 1:
            block[1] = row
        else:
            block = [row, row]
            runs.append(block)
    for run in runs:
        if isinstance(run, list):  # whole lines, indentation included, without the last newline
            start, end = starts[run[0] - 1], starts[run[1]] - 1
        else:
            start, end = run[2], run[3]
        row = run[0]
        name = scope(row)
        counts[name] = counts.get(name, 0) + 1
        # Without the indentation of the code around it, which the translation gets back.
        units[f"{name}#{counts[name]}"] = (start, end, textwrap.dedent(text[start:end]))
    return units


def qualified_names(tree):
    """{function or class node: "Class.method" style name}, so two methods called `loss`
    in different classes are different units."""
    names = {}

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
                names[child] = prefix + child.name
                visit(child, names[child] + ".")
            else:
                visit(child, prefix)
    visit(tree, "")
    return names


def message_literals(tree):
    """The string literals a student reads when the code runs: the first argument of a
    `print(...)` or of a raised exception (`raise E("...")`, `raise E("..." % x)`), in
    source order. Only these may differ between editions, besides docstrings and comments."""
    found = []
    for node in ast.walk(tree):
        call = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            call = node
        elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            call = node.exc
        if call is None or not call.args:
            continue
        first = call.args[0]
        if isinstance(first, ast.BinOp) and isinstance(first.op, ast.Mod):
            first = first.left  # "... %d ..." % values
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            found.append(first)
    return sorted(found, key=lambda n: (n.lineno, n.col_offset))


def docstring_node(node):
    body = getattr(node, "body", None)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[0].value
    return None


# --- one source translated by its table --------------------------------------------------

def translate_text(source, text, table, lang):
    """`text` (the English of `source`) with every unit replaced by its translation.

    Raises KitError when a translated .py file's code differs from the English one's.
    """
    units = units_of(source, text)
    done = lambda uid: table[uid][lang]  # noqa: E731 (problems() ran first: all present)
    if source.endswith(".ipynb"):
        nb = json.loads(text)
        for i, cell in enumerate(nb["cells"]):
            uid = cell_id(cell, i)
            if uid in units and units[uid][2].strip():
                cell["source"] = done(uid)
        return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    if source.endswith(".md"):
        return done("text").rstrip("\n") + "\n"
    out = text
    for uid, (start, end, english) in sorted(units.items(), key=lambda u: -u[1][0]):
        original = text[start:end]
        indent = original[:len(original) - len(original.lstrip(" \t"))]
        out = out[:start] + textwrap.indent(done(uid), indent) + out[end:]
    if code_of(out) != code_of(text):
        raise KitError(f"{source}: the {lang} translation changed code, not only docstrings "
                       f"and comments; compare it with the English")
    return out


def code_of(text):
    """The syntax tree of Python source with docstrings and message literals left out: what
    must not change."""
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if docstring_node(node) is not None:
            node.body[0].value.value = ""
    for node in message_literals(tree):
        node.value = ""
    return ast.dump(tree)
