"""The gettext message catalogues of the editions: `i18n/<lang>/utils.po` for the student
tools' messages (compiled into the release's utils/locale/) and `i18n/<lang>/kit.po` for the
kit's own sentences (kit/phrases.py): their English messages, what a catalogue lacks, and the
placeholders a translated message must keep."""
import re
from pathlib import Path

from .i18n_glossary import glossary_problems

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

