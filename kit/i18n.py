"""Editions of the assignment in other languages, kept in step with the English source.

The English files are the one source of truth: the notebooks' markdown cells, the
docstrings and comments of classifiers/, and the student README. A translation lives
beside them in `i18n/<lang>/<same path>.yaml`, one entry per unit of text:

    <unit id>:
      en_sha256: <fingerprint of the English the translation was made from>
      ko: |-
        <the translated text>

Units are a notebook cell's whole source (id: its nbgrader grade_id), a docstring
(id: `<function>.__doc__`, the literal with its quotes), a run of comment lines
(id: `<function>#<n>`, the lines as written), a message a student sees when the code runs
(id: `<function>$<n>`: the string literal, quotes included, that is the first argument of a
`print(...)` or of a raised exception), and a whole markdown file (id: `text`). The stubs the
release puts where solutions were (the answer and code cells' placeholders, nbgrader's, and
the `raise NotImplementedError(...)` of classifiers/, the kit's) are units too, in
`i18n/<lang>/stubs.yaml` (ids: `STUBS`).
When the English of a unit changes, its fingerprint no longer matches and the unit is
reported as stale, the way gettext marks a translation fuzzy; `problems()` lists these
and the units without a translation, and the release refuses to build while there are any.

Code never changes: code and test cells are not units at all, and a translated .py file
(or code stub) must have the same syntax tree as the English one once docstrings and those
message literals are set aside.

Terms: `i18n/<lang>/glossary.yaml` names the words the edition uses for the course's terms
(and the words it must not use); `problems()` checks every translated unit against it.
"""
import ast
import hashlib
import io
import json
import re
import textwrap
import tokenize
from pathlib import Path

import yaml

from .course import KIT_ROOT, KitError
from .notebook_rules import MARKER_WORDS, NOTEBOOKS, solution_regions
from .version import version

LANGUAGES = ("en", "ko")
DEFAULT_LANGUAGE = "en"
# The student-facing English files that have a translation, relative to the kit's root.
SOURCES = (*(f"notebooks/{nb}" for nb in NOTEBOOKS),
           "classifiers/linear_classifier.py", "classifiers/linear_svm.py",
           "classifiers/softmax.py", "student/README.md")
# The student tools whose messages are translated with gettext (`_("...")`, utils/messages.py):
# their catalogue is i18n/<lang>/utils.po, compiled into the release's utils/locale/.
MESSAGE_SOURCES = ("utils/check.py", "utils/gradient_check.py", "utils/data_utils.py",
                   "utils/download_cifar10.py", "utils/vectorization.py")
MESSAGE_DOMAIN = "utils"
# The kit's own sentences to students and instructors (feedback, verdicts, the class report),
# marked `N_("...")` and translated when a page is rendered (kit/phrases.py): their catalogue
# is i18n/<lang>/kit.po, read by the kit and never shipped.
KIT_MESSAGE_SOURCES = ("kit/mistakes.py", "kit/verdicts.py", "kit/check_results.py", "kit/judging.py",
                       "kit/cells.py", "kit/feedback.py", "kit/report.py", "kit/late.py",
                       "kit/autograde/grading.py")
KIT_DOMAIN = "kit"
# Each catalogue: the files its messages come from and the function that marks them.
DOMAINS = {MESSAGE_DOMAIN: (MESSAGE_SOURCES, "_"), KIT_DOMAIN: (KIT_MESSAGE_SOURCES, "N_")}
# Placeholders a translated message must keep: %-conversions in order, {fields} by name.
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[-#0 +]*\d*(?:\.\d+)?[sdrifeEgGxXc%]|\{[^{}]*\}")
# nbgrader's region markers must stay exactly where they are in a translated cell.
MARKERS = MARKER_WORDS


# What the release puts in place of a solution, by stub id (see stubs()). The answer and code
# cells' are nbgrader's own defaults (ClearSolutions), the function's is the kit's
# (kit/release.py cut_solutions: "{name}" becomes the function's name).
FUNCTION_STUB = ('# YOUR CODE HERE (see the TODO above)\n'
                 'raise NotImplementedError("{name}: not implemented yet; see the TODO above")')
STUBS_TABLE = "stubs"   # i18n/<lang>/stubs.yaml
GLOSSARY = "glossary.yaml"   # i18n/<lang>/glossary.yaml


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


# --- checking and applying a translation --------------------------------------------------

def problems(*, kit_root=KIT_ROOT, lang):
    """Every reason the `lang` edition of `kit_root` is not complete and current.

    Inputs: kit_root (the repository), lang (a language code other than English).
    Returns: a list of messages, each naming the file and the cell or unit; [] when complete.
    """
    if lang == DEFAULT_LANGUAGE:
        return []
    found = []
    glossary = load_glossary(kit_root, lang)
    for source in SOURCES:
        path = Path(kit_root) / source
        table = load_table(table_path(kit_root, lang, source))
        english_text = path.read_text(encoding="utf-8")
        units = units_of(path, english_text)
        here = []
        for uid, (_, _, english) in units.items():
            here += unit_problems(source, uid, english, table.get(uid), lang, glossary)
        here += [f"{source}: {uid!r} is translated but no longer in the English: remove it"
                 for uid in table if uid not in units]
        if source.endswith(".py") and not any("translation yet" in f or "changed in English" in f
                                               for f in here):
            try:  # a message literal translated into something that is no longer one
                translate_text(source, english_text, table, lang)
            except KitError as err:
                here.append(str(err))
            except SyntaxError as err:
                here.append(f"{source}: a translated message is no longer a string literal: {err}")
        found += here
    found += stub_problems(kit_root, lang, glossary)
    return found + [p for domain in DOMAINS for p in message_problems(kit_root, lang, domain, glossary)]


def unit_problems(where, uid, english, entry, lang, glossary):
    """What is wrong with the translation `entry` of one unit of English (see problems())."""
    if not english.strip():
        return []
    if not isinstance(entry, dict) or not isinstance(entry.get(lang), str):
        return [f"{where}: {uid!r} has no {lang} translation yet"]
    if entry.get("en_sha256") != fingerprint(english):
        return [f"{where}: {uid!r} changed in English after it was translated "
                f"(expected en_sha256 {fingerprint(english)}, got "
                f"{str(entry.get('en_sha256'))[:12]}... instead): update the "
                f"translation, then its en_sha256"]
    text = entry[lang]
    found = []
    if [m for m in MARKERS for _ in range(english.count(m))] != \
            [m for m in MARKERS for _ in range(text.count(m))]:
        found.append(f"{where}: {uid!r}: the translation must keep the English's "
                     f"solution and hidden-test markers, one for one")
    if "$" in uid and placeholders(text) != placeholders(english):
        found.append(f"{where}: {uid!r}: the translation must keep the placeholders "
                     f"{PLACEHOLDER.findall(english)}")
    return found + glossary_problems(where, uid, english, text, glossary, lang)


def stub_problems(kit_root, lang, glossary):
    """The stubs' translations (i18n/<lang>/stubs.yaml): present, current, with the English's
    placeholders, and for code the same code (only the comment and the message differ)."""
    table = load_table(table_path(kit_root, lang, STUBS_TABLE))
    where = str(table_path(kit_root, lang, STUBS_TABLE).relative_to(kit_root))
    found = []
    english = english_stubs()
    for uid, text in english.items():
        problems_here = unit_problems(where, uid, text, table.get(uid), lang, glossary)
        found += problems_here
        if not problems_here and uid == "answer cell":
            found += answer_stub_problems(kit_root, lang, where, text, table[uid][lang])
        if problems_here or uid == "answer cell":
            continue
        translated = table[uid][lang]
        if placeholders(translated) != placeholders(text):
            found.append(f"{where}: {uid!r}: the translation must keep the placeholders "
                         f"{PLACEHOLDER.findall(text)}")
            continue
        try:
            same = code_of(translated.replace("{name}", "f")) == code_of(text.replace("{name}", "f"))
        except SyntaxError:
            same = False
        if not same:
            found.append(f"{where}: {uid!r}: the translation changed code, not only the comment "
                         f"and the message; compare it with the English")
    found += [f"{where}: {uid!r} is translated but is no stub the release writes: remove it"
              for uid in table if uid not in english]
    return found


def answer_stub_problems(kit_root, lang, where, english, translated):
    """The answer cells' placeholder is what the student check (utils/check.py) reads as "not
    answered yet": it must be a sentence, and the check's message catalogue must translate
    nbgrader's placeholder into exactly it (else a Korean cell left as handed out counts as
    written)."""
    if not translated.strip():
        return [f"{where}: 'answer cell': the placeholder is empty; write the sentence an answer "
                f"cell holds until the student answers (utils.po translates {english!r} the same)"]
    catalog = read_catalog(kit_root, lang)
    entry = catalog.get(english) if catalog is not None else None
    if entry is None or entry.string.strip() != translated.strip():
        return [f"{where}: 'answer cell': {catalog_path(kit_root, lang).relative_to(kit_root)} must "
                f"translate {english!r} as {translated.strip()!r} (the student check reads that "
                f"placeholder as unanswered); it has {entry.string if entry else None!r}"]
    return []


def load_glossary(kit_root, lang):
    """The `lang` edition's rules for terms (i18n/<lang>/glossary.yaml; none without it):
    `use`: where the English matches `en`, the translation holds `ko` (a regular expression);
    `avoid`: the translation never matches `ko`, unless the English matches `unless_en`."""
    path = Path(kit_root) / "i18n" / lang / GLOSSARY
    if not path.exists():
        return {"use": [], "avoid": []}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    rules = {"use": data.get("use") or [], "avoid": data.get("avoid") or []}
    for kind, keys in (("use", ("en", lang)), ("avoid", (lang,))):
        for rule in rules[kind]:
            if not isinstance(rule, dict) or any(not isinstance(rule.get(k), str) for k in keys):
                raise KitError(f"{path}: expected each {kind!r} rule to be a mapping with "
                               f"{' and '.join(keys)} (regular expressions), got {rule!r} instead")
    return rules


def glossary_problems(where, uid, english, text, glossary, lang="ko"):
    """The glossary's rules that the translation `text` of `english` breaks."""
    found = []
    for rule in glossary["use"]:
        if re.search(rule["en"], english) and not re.search(rule[lang], text):
            found.append(f"{where}: {uid!r}: the English says {re.search(rule['en'], english).group(0)!r}; "
                         f"the glossary's word for it is {rule[lang]!r} (i18n/{lang}/{GLOSSARY})")
    for rule in glossary["avoid"]:
        match = re.search(rule[lang], text)
        if match and not (rule.get("unless_en") and re.search(rule["unless_en"], english)):
            found.append(f"{where}: {uid!r}: {match.group(0).strip()!r} is not the glossary's word; use "
                         f"{rule.get('instead', 'another')} (i18n/{lang}/{GLOSSARY})")
    return found


def catalog_path(kit_root, lang, domain=MESSAGE_DOMAIN):
    return Path(kit_root) / "i18n" / lang / f"{domain}.po"


def english_messages(kit_root, domain=MESSAGE_DOMAIN):
    """{English message: "file:line"} of every marked message of a domain (`_("...")` in the
    student tools, `N_("...")` in the kit)."""
    from babel.messages.extract import extract_from_file
    sources, keyword = DOMAINS[domain]
    found = {}
    for source in sources:
        for lineno, message, _, _ in extract_from_file("python", str(Path(kit_root) / source),
                                                       keywords={keyword: None}):
            found.setdefault(message, f"{source}:{lineno}")
    return found


def read_catalog(kit_root, lang, domain=MESSAGE_DOMAIN):
    from babel.messages.pofile import read_po
    path = catalog_path(kit_root, lang, domain)
    if not path.exists():
        return None
    with path.open("rb") as f:
        return read_po(f, locale=lang)


def message_problems(kit_root, lang, domain=MESSAGE_DOMAIN, glossary=None):
    """The gettext side of problems(): a message's msgid is its English, so a changed English
    message has no translation any more (its old entry is reported as unused)."""
    glossary = glossary or {"use": [], "avoid": []}
    catalog = read_catalog(kit_root, lang, domain)
    english = english_messages(kit_root, domain)
    path = catalog_path(kit_root, lang, domain).relative_to(kit_root)
    if catalog is None:
        return [f"{path}: missing; it translates {len(english)} messages of "
                + ("the student tools" if domain == MESSAGE_DOMAIN else "the kit (feedback and the report)")]
    found = []
    for message, where in english.items():
        entry = catalog.get(message)
        if entry is None or not entry.string:
            found.append(f"{where}: message {message[:60]!r} has no {lang} translation yet")
        elif entry.fuzzy:
            found.append(f"{where}: message {message[:60]!r} is marked fuzzy in {path}: review it")
        elif placeholders(entry.string) != placeholders(message):
            found.append(f"{where}: message {message[:60]!r}: the translation must keep the "
                         f"placeholders {PLACEHOLDER.findall(message)} (%-ones and {{}} ones each in order)")
        else:
            found += glossary_problems(where, message[:60], message, entry.string, glossary, lang)
    found += [f"{path}: {m.id[:60]!r} is translated but no longer in the English: remove it"
              for m in catalog if m.id and m.id not in english]
    return found


def placeholders(text):
    """What a translation must keep of a message's placeholders: positional ones (%s, {},
    {:,}) in their order, named ones ({name}) in any order."""
    found = PLACEHOLDER.findall(text)
    named = sorted(p for p in found if re.match(r"\{[A-Za-z_]", p))
    # %-conversions and positional {} fields are filled by two different operators:
    # each kind keeps its own order.
    return ([p for p in found if p.startswith("%")],
            [p for p in found if p.startswith("{") and p not in named], named)


def write_messages(kit_root, target, lang):
    """Compile the catalogue into `target`/utils/locale/ and name the language there."""
    from babel.messages.mofile import write_mo
    locale = Path(target) / "utils" / "locale"
    (locale / lang / "LC_MESSAGES").mkdir(parents=True, exist_ok=True)
    with (locale / lang / "LC_MESSAGES" / f"{MESSAGE_DOMAIN}.mo").open("wb") as f:
        write_mo(f, read_catalog(kit_root, lang))
    (locale / "LANGUAGE").write_text(lang + "\n", encoding="utf-8")


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


def apply(*, kit_root=KIT_ROOT, target, lang):
    """Write the `lang` edition of every translated source into `target`, a folder laid out
    like nbgrader's source (notebooks and README at the top, the packages below).

    Inputs: kit_root, target (the assembled source folder), lang.
    Raises KitError naming every missing or stale unit when the translation is not complete.
    """
    if lang == DEFAULT_LANGUAGE:
        return
    if lang not in LANGUAGES:
        raise KitError(f"expected a language among {', '.join(LANGUAGES)}, got {lang!r} instead")
    missing = problems(kit_root=kit_root, lang=lang)
    if missing:
        raise KitError(f"the {lang} edition is not complete; translate these in i18n/{lang}/:\n  "
                       + "\n  ".join(missing))
    for source in SOURCES:
        table = load_table(table_path(kit_root, lang, source))
        english = (Path(kit_root) / source).read_text(encoding="utf-8")
        relative = re.sub(r"^(notebooks|student)/", "", source)
        (Path(target) / relative).write_text(translate_text(source, english, table, lang),
                                             encoding="utf-8")
    write_messages(kit_root, target, lang)


def main(argv=None):
    """`python -m kit.i18n LANG`: list what the LANG edition lacks (exit 1 if anything)."""
    import argparse
    parser = argparse.ArgumentParser(prog="python -m kit.i18n",
                                     description="List every text of the LANG edition that has no "
                                                 "translation yet or whose English changed since.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    parser.add_argument("lang", metavar="LANG", choices=[l for l in LANGUAGES if l != DEFAULT_LANGUAGE],
                        help="the edition to check (%(choices)s)")
    args = parser.parse_args(argv)
    found = problems(lang=args.lang)
    print("\n".join(found) or f"the {args.lang} edition is complete and current")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
