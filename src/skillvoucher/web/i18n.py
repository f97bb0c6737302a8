"""The user's language and the translations of the pages.

Messages are written in English in the code and templates (``_("…")``) and translated into
Chinese in ``locale/zh_CN/LC_MESSAGES/*.po``, one catalogue per portal so that each stays small.
The catalogues are read with Babel when the app starts; no compiled ``.mo`` file is committed.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from importlib import resources

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.requests import Request

CHINESE = "zh-CN"
ENGLISH = "en"
LANGUAGES = (CHINESE, ENGLISH)
DEFAULT_LANGUAGE = CHINESE
LANGUAGE_COOKIE = "sv_lang"
LANGUAGE_NAMES = {CHINESE: "中文", ENGLISH: "English"}


def request_language(request: Request) -> str:
    """The language the person chose (cookie), else the first one their browser asks for that
    we have, else Chinese."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return CHINESE
        if tag.startswith("en"):
            return ENGLISH
    return DEFAULT_LANGUAGE


def chinese_catalogue() -> Catalog:
    """Every ``.po`` catalogue of the package merged into one (later files do not override)."""
    merged = Catalog(locale="zh_CN")
    folder = resources.files("skillvoucher.web").joinpath("locale/zh_CN/LC_MESSAGES")
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if not entry.name.endswith(".po"):
            continue
        with entry.open("rb") as handle:
            catalogue = read_po(handle, locale="zh_CN")
        for message in catalogue:
            if message.id and message.string and message.id not in merged:
                merged.add(message.id, message.string)
    return merged


@cache
def translations(language: str) -> gettext.NullTranslations:
    if language != CHINESE:
        return gettext.NullTranslations()
    compiled = io.BytesIO()
    write_mo(compiled, chinese_catalogue())
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def translate(language: str, message: str) -> str:
    return translations(language).gettext(message)


def N_(message: str) -> str:
    """Marks a message for the catalogue where it is defined; it is translated where shown."""
    return message
