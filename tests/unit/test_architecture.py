"""The house rules of kit/ (docs/architecture.md), read from the source with `ast`:
imports only run down the floors (no cycle, with function-local imports counted too), the
settings at the ground floor import nothing of the kit, no function-local import of the
kit but the command dispatcher's, and modules stay small."""
import ast
from pathlib import Path

import pytest

KIT = Path(__file__).resolve().parents[2] / "kit"
# No module over 400 lines, and no exemption: a module that outgrows it splits along its own
# sections (as i18n.py did into i18n_tables, i18n_glossary and i18n_catalogs, and hub/setup.py
# into hub/plan, hub/checks and hub/config_files).
MAX_LINES = 400
# The command dispatcher loads only the command it runs (start-up time), all downward.
LAZY_IMPORTERS = {"kit.__main__"}


def module_name(path):
    parts = list(path.relative_to(KIT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in KIT.rglob("*.py")}


def imported(name, path, node):
    """The kit modules one import statement loads (a submodule's packages included, but the
    importer's own packages, which are loading already)."""
    if isinstance(node, ast.ImportFrom):
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        if node.level:
            base = package.split(".")
            base = ".".join(base[:len(base) - node.level + 1])
            target = f"{base}.{node.module}" if node.module else base
        else:
            target = node.module or ""
        candidates = [f"{target}.{alias.name}" if f"{target}.{alias.name}" in MODULES else target
                      for alias in node.names]
    else:
        candidates = [alias.name for alias in node.names]
    found = set()
    for target in candidates:
        while target in MODULES and target != name and not name.startswith(target + "."):
            found.add(target)
            target = target.rpartition(".")[0]
    return found


def graph():
    """{module: {module it imports: [(line, at top level)]}} over every kit import."""
    edges = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        top = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in imported(name, path, node):
                    edges.setdefault(name, {}).setdefault(target, []).append((node.lineno, id(node) in top))
    return edges


def find_cycle(edges):
    """One import cycle as a list of modules, or None (depth-first search)."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, {})):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle_in_the_kit():
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_one():
    assert find_cycle({"a": {"b": []}, "b": {"c": []}, "c": {"a": []}}) is not None
    assert find_cycle({"a": {"b": []}, "b": {"c": []}}) is None
    # A package's submodule imported from outside loads the package too.
    path = KIT / "nbgrader_hooks.py"
    node = ast.parse("from .autograde import stage").body[0]
    assert imported("kit.nbgrader_hooks", path, node) == {"kit.autograde", "kit.autograde.stage"}


def test_no_function_local_import_of_the_kit():
    """A function-local import is how a cycle hides: only the dispatcher may load lazily."""
    local = [f"{name} line {line} imports {target}" for name, targets in graph().items()
             if name not in LAZY_IMPORTERS for target, places in targets.items()
             for line, at_top in places if not at_top]
    assert not local, local


@pytest.mark.parametrize("ground", ["kit.settings", "kit.errors", "kit.version"])
def test_the_ground_floor_imports_nothing_of_the_kit(ground):
    assert not graph().get(ground), graph().get(ground)


def test_modules_stay_small():
    sizes = {p.relative_to(KIT).as_posix(): len(p.read_text().splitlines()) for p in KIT.rglob("*.py")}
    over = {name: n for name, n in sizes.items() if n > MAX_LINES}
    assert not over, f"over {MAX_LINES} lines (split them): {over}"


def test_every_module_with_the_kits_sentences_is_in_their_catalogue():
    """A sentence marked N_ in a module the catalogue does not read would go untranslated."""
    from kit.i18n import KIT_MESSAGE_SOURCES
    marking = {p.relative_to(KIT.parent).as_posix() for p in KIT.rglob("*.py")
               if "N_(" in p.read_text() and p.name not in ("phrases.py", "i18n_catalogs.py")}
    assert marking <= set(KIT_MESSAGE_SOURCES), marking - set(KIT_MESSAGE_SOURCES)


@pytest.mark.parametrize("stage", ["release", "collect", "autograde.stage", "feedback", "report",
                                   "export", "similarity", "certificates", "demo"])
def test_every_stage_is_one_keyword_only_run(stage):
    import importlib
    import inspect
    run = importlib.import_module(f"kit.{stage}").run
    kinds = {p.kind for p in inspect.signature(run).parameters.values()}
    assert kinds <= {inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.VAR_KEYWORD}, (stage, kinds)


def test_no_unused_import_or_name_pyflakes_finds():
    """kit/, tests/ and utils/ stay as clean as pyflakes reads them (a name the kit re-exports
    is imported from its real home instead, or used where it is, as kit.late.KitLatePenalty)."""
    import io

    api = pytest.importorskip("pyflakes.api")
    reporter = pytest.importorskip("pyflakes.reporter")
    out = io.StringIO()
    root = KIT.parent
    api.checkRecursive([str(root / folder) for folder in ("kit", "tests", "utils")],
                       reporter.Reporter(out, out))
    assert not out.getvalue(), out.getvalue()
