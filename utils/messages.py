"""The language of the messages the student tools print and raise.

English unless the release ships a translation: `kit release --lang ko` writes the compiled
gettext catalogue utils/locale/ko/LC_MESSAGES/utils.mo and the file utils/locale/LANGUAGE
holding "ko". The code is the same in every edition; only these data files differ.
Messages are wrapped as `_("... %s ...") % value` (the English text is the gettext msgid).
"""
import gettext
import os

LOCALE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "locale")
DOMAIN = "utils"


def language():
    """The edition's language code from utils/locale/LANGUAGE, or None (English)."""
    try:
        with open(os.path.join(LOCALE_DIR, "LANGUAGE"), encoding="utf-8") as f:
            return f.read().strip() or None
    except OSError:
        return None


def _translation():
    lang = language()
    if not lang:
        return gettext.NullTranslations()
    # fallback: a missing or damaged catalogue leaves the English, never a crash.
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True)


_ = _translation().gettext
