"""The words an edition uses for the course's terms, and those it must not use
(`i18n/<lang>/glossary.yaml`): every translated unit and message is checked against them."""
import re
from pathlib import Path

import yaml

from .course import KitError

GLOSSARY = "glossary.yaml"   # i18n/<lang>/glossary.yaml


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
