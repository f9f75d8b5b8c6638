"""The course's nbgrader_config.py, rewritten by every `kit release` without losing the
instructor's settings.

The file is Python that the instructor edits (due date, timeouts, nbgrader's own
settings such as `c.Exchange.root`). A release only owns the *generated* statements:
where the kit and the course are (they move with the folders), which files students own
(they follow classifiers/), and the kit's parts in nbgrader's pipelines (what makes
nbgrader's own commands grade and render the kit's way). Every other statement, comment
and blank line of an existing file is kept as it stands; a setting of the template the
file does not have yet is added at its end with the kit's default. So the instructor's
values always win, and the kit's wiring is always current.

Statements are found with `ast` (top level only, by what they assign), so the
instructor's layout, comments and multi-line values are never re-parsed line by line.
The file the release replaces is copied beside it first (`nbgrader_config.py.<time>.bak`).
"""
import ast
import datetime
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .errors import KitError

CONFIG_NAME = "nbgrader_config.py"
SYS_PATH = "sys.path"   # the `if ... not in sys.path: sys.path.append(...)` block
# The statements a release rewrites every time; all others are the instructor's.
GENERATED = frozenset({
    SYS_PATH,
    "c.CourseDirectory.root",
    "c.Autograde.exclude_overwriting",
    "c.Autograde.sanitize_preprocessors",
    "c.Autograde.autograde_preprocessors",
    "c.AssignLatePenalties.plugin_class",
    "c.GenerateFeedback.preprocessors",
    "c.ExchangeFactory.release_assignment",
    "c.HTMLExporter.sanitize_html",
    "c.HTMLExporter.preprocessors",
    "c.HTMLExporter.extra_template_basedirs",
})
# Needed before any statement that is added at the end of an existing file.
PREAMBLE = "import sys\nc = get_config()\n"


@dataclass
class Plan:
    """What a release will do to the course's configuration file."""
    path: Path
    text: str                                     # the file's new content
    old_text: str = None                          # None: no file yet
    updated: list = field(default_factory=list)   # generated statements whose value changed
    added: list = field(default_factory=list)     # template statements the file did not have

    @property
    def changes(self):
        return self.old_text is not None and self.old_text != self.text


def key_of(statement):
    """What a top-level statement sets: `c.Section.name`, SYS_PATH, or None (anything else)."""
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        parts, node = [], statement.targets[0]
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id == "c" and parts:
            return ".".join(["c", *reversed(parts)])
    if isinstance(statement, ast.If) and "sys.path" in ast.unparse(statement.test):
        return SYS_PATH
    return None


def statements(text, path):
    """[(key, first line, last line (1-based, inclusive), statement)] of the module's top level."""
    try:
        tree = ast.parse(text, filename=str(path))
    except SyntaxError as err:
        raise KitError(f"{path}: expected the course configuration as Python, got a syntax error on "
                       f"line {err.lineno} ({err.msg}) instead; fix that line (or move the file away "
                       "to have a fresh one written) and run `python -m kit release` again") from None
    found = [(key_of(s), s.lineno, s.end_lineno, s) for s in tree.body]
    # A generated statement sharing a line with another (`a = 1; c.X.y = 2`) cannot be
    # replaced without touching the other.
    lines = {}
    for key, first, last, _ in found:
        for number in range(first, last + 1):
            lines.setdefault(number, []).append(key)
    for number, keys in lines.items():
        if len(keys) > 1 and any(k in GENERATED for k in keys):
            raise KitError(f"{path}, line {number}: expected one statement on a line the release "
                           f"rewrites ({', '.join(k for k in keys if k in GENERATED)}), got {len(keys)} "
                           "instead; put each statement on its own line and release again")
    return found


def plan(course, fresh_text):
    """The course's configuration as the release will write it: `fresh_text` (the template
    filled in) when there is no file, else the existing file with its generated statements
    replaced by the template's and the template's missing statements added at its end."""
    path = Path(course) / CONFIG_NAME
    if not path.exists():
        return Plan(path=path, text=fresh_text)
    if not path.is_file():
        raise KitError(f"expected {path} to be a file, got a folder or other thing instead; move it away")
    try:
        old = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise KitError(f"{path}: expected a readable UTF-8 file, got {type(err).__name__}: {err} "
                       "instead; fix it or move it away, then release again") from None
    fresh_lines = fresh_text.splitlines(keepends=True)
    fresh = {key: "".join(fresh_lines[first - 1:last])
             for key, first, last, _ in statements(fresh_text, "the kit's template") if key}
    lines = old.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    result = Plan(path=path, text="", old_text=old)
    present = set()
    # Replace from the bottom up, so earlier line numbers stay valid.
    for key, first, last, statement in reversed(statements(old, path)):
        present.add(key)
        if key not in GENERATED or key not in fresh:
            continue
        new = fresh[key]
        if ast.dump(ast.parse(new).body[0]) != ast.dump(statement):
            result.updated.append(key)
        lines[first - 1:last] = [new]
    result.updated.reverse()
    missing = [key for key in fresh if key not in present]
    if missing:
        result.added = missing
        lines.append("\n# Added by `python -m kit release`: settings this file did not have yet "
                     "(the kit's defaults).\n" + PREAMBLE)
        lines += [fresh[key] for key in missing]
    result.text = "".join(lines)
    return result


def write(plan_):
    """Write the planned file; a file it replaces is backed up first. Returns the backup's path."""
    backup = None
    if plan_.changes:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        backup = plan_.path.with_name(f"{CONFIG_NAME}.{stamp}.bak")
        number = 1
        while backup.exists():
            number += 1
            backup = plan_.path.with_name(f"{CONFIG_NAME}.{stamp}-{number}.bak")
        shutil.copy2(plan_.path, backup)
    if plan_.old_text is None or plan_.changes:
        plan_.path.parent.mkdir(parents=True, exist_ok=True)
        partial = plan_.path.with_name(CONFIG_NAME + ".partial")
        partial.write_text(plan_.text, encoding="utf-8")
        partial.replace(plan_.path)
    return backup


def describe(plan_, backup):
    """One line for the terminal: what the release did to the configuration."""
    if plan_.old_text is None:
        return f"Wrote the course configuration {plan_.path}"
    if not plan_.changes:
        return f"Kept the course configuration {plan_.path} unchanged"
    parts = []
    if plan_.updated:
        parts.append("updated the kit's " + ", ".join(plan_.updated))
    if plan_.added:
        parts.append("added " + ", ".join(plan_.added) + " (defaults)")
    return (f"Kept your settings in {plan_.path}; " + "; ".join(parts or ["reformatted"])
            + f". The previous file is in {backup}")
