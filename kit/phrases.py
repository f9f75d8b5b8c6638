"""The kit's own sentences (feedback, verdicts, the class report) in the course's edition.

English is the source. Each sentence is written where it is used and marked with N_(),
which returns it unchanged; the catalogue i18n/<lang>/kit.po translates it (its msgid is
the English, `{name}` fields kept by name), and kit/i18n.py reports a missing or stale
entry there as it does for the student tools' utils.po. A course's language is the one
its release was built in (course_language): `kit release --lang ko` writes it into the
release, and feedback and the report read it back from there.

Feedback lines are stored in English (grading.json and the graded notebooks' `kit.feedback`
metadata: the report, grades.csv and nbgrader's hooks read them, whatever the edition) and
translated when a page is rendered: Translator.line() matches a stored line against the
catalogue's sentences, translating the fields it captures the same way. A line indented as
quoted code (CODE_INDENT) is the student's or the test's own code and stays as it is.
"""
import functools
import re

from . import i18n
from .course import KIT_ROOT, Course

DOMAIN = i18n.KIT_DOMAIN
# A `{name}` or `{name:spec}` field of a sentence.
FIELD = re.compile(r"\{(\w+)(?::[^{}]*)?\}")
# verdicts.py quotes code with at least this many spaces in front (its sentences have fewer).
CODE_INDENT = 4
# The bullet verdicts.py puts before each named mistake.
BULLET = "- "


def N_(text):
    """Mark an English sentence for the catalogue; returns it unchanged (translation happens
    when a page is rendered, in the course's language)."""
    return text


def course_language(course):
    """The language the course's release was built in: the code `kit release --lang` wrote
    into the release's utils/locale/LANGUAGE (utils/messages.py reads the same file), else
    English (an English release writes none)."""
    path = Course(course).release / "utils" / "locale" / "LANGUAGE"
    try:
        lang = path.read_text(encoding="utf-8").strip()
    except OSError:
        return i18n.DEFAULT_LANGUAGE
    return lang if lang in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE


def pattern_of(english):
    """A regular expression matching the sentence with any text in its fields, each field a
    named group (a field used twice must hold the same text twice)."""
    parts, seen, end = [], set(), 0
    for match in FIELD.finditer(english):
        parts.append(re.escape(english[end:match.start()]))
        name = match.group(1)
        parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
        seen.add(name)
        end = match.end()
    parts.append(re.escape(english[end:]))
    return re.compile("".join(parts), re.DOTALL)


def literal_length(english):
    return len(FIELD.sub("", english))


class Translator:
    """The kit's sentences in one language: say() for a sentence and its fields, line() for a
    stored English line."""

    def __init__(self, lang, catalog):
        self.lang, self.catalog = lang, dict(catalog)
        # The most specific sentence first: "{function}: {reason} (case '{case}')" before
        # "{function}: {reason}".
        templated = sorted((e for e in self.catalog if FIELD.search(e) and literal_length(e)),
                           key=literal_length, reverse=True)
        self.patterns = [(pattern_of(e), e) for e in templated]

    def say(self, english, **fields):
        """The translation of `english` (itself where there is none) with its fields filled."""
        return self.catalog.get(english, english).format(**fields)

    def text(self, text):
        """A whole English sentence as the kit wrote it, in this language; text no sentence of
        the catalogue matches stays as it is."""
        return self.parse(text)[0]

    def parse(self, text):
        """(the translation of `text`, how many of its characters the catalogue's sentences
        account for). Of the sentences that match, the reading that accounts for the most wins:
        "f: the loss is not finite (case 'x')" is "{function}: {reason}" holding a sentence
        that ends in "(case '{case}')", not "{reason} (case '{case}')" holding "f: ..."."""
        if text in self.catalog:
            return self.catalog[text], len(text)
        best = (text, 0)
        for pattern, english in self.patterns:
            match = pattern.fullmatch(text)
            if not match:
                continue
            covered, fields = literal_length(english), {}
            for name, value in match.groupdict().items():
                fields[name], found = self.parse(value)
                covered += found
            if covered > best[1]:
                # The captured fields are text already: a format spec ({got:g}) no longer applies.
                best = (FIELD.sub(r"{\1}", self.catalog[english]).format(**fields), covered)
        return best

    def line(self, line):
        """One stored feedback line: its indentation and bullet kept, quoted code untouched."""
        body = line.lstrip(" ")
        indent = line[:len(line) - len(body)]
        if len(indent) >= CODE_INDENT:
            return line
        bullet = BULLET if body.startswith(BULLET) else ""
        return indent + bullet + self.text(body[len(bullet):])

    def lines(self, lines):
        return [self.line(line) for line in lines]


@functools.lru_cache(maxsize=None)
def translator(lang, kit_root=KIT_ROOT):
    """The Translator of `lang`: English is the identity; another language reads its
    catalogue (a sentence without a translation, or one marked fuzzy, stays English)."""
    if lang == i18n.DEFAULT_LANGUAGE:
        return Translator(lang, {})
    catalog = i18n.read_catalog(kit_root, lang, DOMAIN)
    if catalog is None:
        raise i18n.KitError(f"expected the catalogue {i18n.catalog_path(kit_root, lang, DOMAIN)} of the "
                            f"kit's {lang} sentences, found nothing there; see kit/phrases.py")
    return Translator(lang, {m.id: m.string for m in catalog
                             if m.id and isinstance(m.id, str) and m.string and not m.fuzzy})
