"""Languages: Chinese (zh-CN) by default, complete English.

Messages are written in Chinese in the code and templates; ``translations/en/.../messages.po`` gives
the English. The catalogue is compiled in memory when the application starts, so a fresh checkout
needs no build step. The domain's own texts come as (Chinese, English) pairs: :func:`pick` chooses.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import Flask, request
from flask_babel import Babel, Domain, get_locale  # type: ignore[import-untyped]
from flask_babel import gettext as _gettext
from flask_babel import lazy_gettext as _lazy_gettext

LOCALES = {"zh_CN": "中文", "en": "English"}
DEFAULT_LOCALE = "zh_CN"
LANG_COOKIE = "lang"
CATALOGUE_DIR = Path(__file__).parent / "translations"

gettext = _gettext
lazy_gettext = _lazy_gettext
_ = _gettext


def load_catalogue(locale: str) -> Translations:
    """Compile ``translations/<locale>/LC_MESSAGES/messages.po`` in memory."""
    path = CATALOGUE_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        catalog = read_po(f, locale=locale)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer, domain="messages")


class CatalogueDomain(Domain):
    """Flask-Babel's domain, served from catalogues compiled at start-up."""

    def __init__(self, catalogues: dict[str, NullTranslations]) -> None:
        super().__init__()
        self.catalogues = catalogues
        self.null = NullTranslations()

    def get_translations(self) -> NullTranslations:
        locale = get_locale()
        if locale is None:
            return self.null
        return self.catalogues.get(locale.language, self.null)


def select_locale() -> str:
    wanted = request.args.get("lang") or request.cookies.get(LANG_COOKIE) or ""
    if wanted in LOCALES:
        return wanted
    if wanted.startswith("zh"):
        return DEFAULT_LOCALE
    if request.path.startswith("/api/") and not wanted:
        best = request.accept_languages.best_match(["zh", "en"])
        return "en" if best == "en" else DEFAULT_LOCALE
    return DEFAULT_LOCALE


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    babel = Babel(app, locale_selector=select_locale, default_timezone="UTC")
    babel.domain_instance = CatalogueDomain({"en": load_catalogue("en")})
    app.jinja_env.globals.update(
        pick=pick, lang=lang, LOCALES=LOCALES, current_locale=current_locale, **PUNCTUATION
    )


def _punctuation(zh: str, en: str) -> Any:
    def mark() -> str:
        return en if lang() == "en" else zh

    return mark


#: Punctuation between template pieces: full width in Chinese, ASCII with spaces in English.
PUNCTUATION = {
    "colon": _punctuation("：", ": "),
    "semi": _punctuation("；", "; "),
    "lp": _punctuation("（", " ("),
    "rp": _punctuation("）", ")"),
    "comma": _punctuation("、", ", "),
    "stop": _punctuation("。", ". "),
}


def current_locale() -> str:
    locale = get_locale()
    return DEFAULT_LOCALE if locale is None or locale.language == "zh" else str(locale)


def lang() -> str:
    """``zh`` or ``en``: the key the domain's messages use."""
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh"


def html_lang() -> str:
    return "en" if lang() == "en" else "zh-CN"


def pick(pair: Any) -> str:
    """The current language's half of a (Chinese, English) pair or a {"zh", "en"} mapping."""
    if pair is None:
        return ""
    if isinstance(pair, dict):
        return str(pair.get(lang()) or pair.get("zh") or "")
    zh, en = pair
    return str(en if lang() == "en" else zh)
