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

This module checks an edition and writes it (`problems()`, `apply()`, `python -m kit.i18n`);
the parts live beside it: the tables, their units and one text's translation in
kit/i18n_tables.py, the glossary in kit/i18n_glossary.py, the gettext catalogues in
kit/i18n_catalogs.py. Every name of theirs is importable from here too.
"""
import re
from pathlib import Path

from .course import KIT_ROOT, KitError
from .i18n_catalogs import (DOMAINS, KIT_DOMAIN, KIT_MESSAGE_SOURCES, MESSAGE_DOMAIN, MESSAGE_SOURCES,
                            PLACEHOLDER, catalog_path, english_messages, message_problems,
                            placeholders, read_catalog, write_messages)
from .i18n_glossary import GLOSSARY, glossary_problems, load_glossary
from .i18n_tables import (DEFAULT_LANGUAGE, FUNCTION_STUB, LANGUAGES, SOURCES, STUBS_TABLE, cell_id,
                          code_of, docstring_node, english_stubs, fingerprint, load_table,
                          message_literals, python_units, qualified_names, stubs, table_path,
                          translate_text, units_of)
from .notebook_rules import MARKER_WORDS
from .version import version

# The public entry of the editions: what this module checks and applies, and what the other
# modules hold (the tables and their units, the glossary, the message catalogues), by name.
__all__ = [
    "LANGUAGES", "DEFAULT_LANGUAGE", "SOURCES", "FUNCTION_STUB", "STUBS_TABLE", "english_stubs", "stubs",
    "fingerprint", "table_path", "load_table", "units_of", "cell_id", "python_units",
    "qualified_names", "message_literals", "docstring_node", "translate_text", "code_of",
    "GLOSSARY", "load_glossary", "glossary_problems",
    "MESSAGE_SOURCES", "MESSAGE_DOMAIN", "KIT_MESSAGE_SOURCES", "KIT_DOMAIN", "DOMAINS", "PLACEHOLDER",
    "catalog_path", "english_messages", "read_catalog", "message_problems", "placeholders",
    "write_messages",
    "MARKERS", "problems", "unit_problems", "stub_problems", "answer_stub_problems", "apply", "main",
]

# nbgrader's region markers must stay exactly where they are in a translated cell.
MARKERS = MARKER_WORDS


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
