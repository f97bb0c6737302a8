"""Chinese first: every message the pages can show has its Chinese translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import skillvoucher.web
from skillvoucher.web.i18n import chinese_catalogue

WEB = Path(skillvoucher.web.__file__).parent
METHODS = [("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def messages_in_the_code() -> dict[str, str]:
    """Every message the templates and the web modules mark, with where it was first seen."""
    found: dict[str, str] = {}
    for filename, line, message, _comments, _context in extract_from_dir(
        str(WEB), METHODS, keywords=KEYWORDS
    ):
        for text in message if isinstance(message, tuple) else (message,):
            if text:
                found.setdefault(text, f"{filename}:{line}")
    return found


def test_every_message_has_a_chinese_translation() -> None:
    catalogue = chinese_catalogue()
    found = messages_in_the_code()
    assert len(found) > 30  # the extraction really read the templates and modules
    untranslated = {
        text: where
        for text, where in found.items()
        if (entry := catalogue.get(text)) is None or not entry.string
    }
    assert untranslated == {}, "add these to a .po file under web/locale/zh_CN/LC_MESSAGES"


def test_catalogues_carry_no_message_the_code_no_longer_uses() -> None:
    found = messages_in_the_code()
    stale = sorted(m.id for m in chinese_catalogue() if m.id and m.id not in found)
    assert stale == []


def test_a_message_in_two_catalogues_means_the_same_in_both() -> None:
    """The catalogues merge into one; a message two portals share must not change its Chinese
    depending on which file is read first (shared words belong in common.po)."""
    seen: dict[str, tuple[str, str]] = {}
    clashes: list[str] = []
    for path in sorted((WEB / "locale" / "zh_CN" / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale="zh_CN"):
                if not message.id:
                    continue
                text = str(message.string)
                first = seen.setdefault(str(message.id), (path.name, text))
                if first[1] != text:
                    clashes.append(f"{message.id!r}: {first[0]} {first[1]} ≠ {path.name} {text}")
    assert clashes == []
