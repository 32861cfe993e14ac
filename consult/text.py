"""Free text as the platform accepts it, whichever door it comes through (web forms, the JSON API,
the command line).

:func:`clean_text` is the one check: no NUL or other control characters (tab and line breaks in
multi-line text only), no lone surrogates, no characters that override the direction of the text
(U+202A–U+202E, U+2066–U+2069); surrounding blanks dropped, normalised to NFC, at most
``max_length`` characters. A refusal is a :class:`TextError` saying why in Chinese and English.
:data:`SINGLE_LINE` and :data:`MULTI_LINE` are the same rules as JSON Schema patterns.
"""

from __future__ import annotations

import unicodedata

from consult.validation import invalid

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
LINE_BREAKS = frozenset("\n\r")
#: What ECMAScript's ``\s`` (and so the JSON Schema patterns below) counts as blank.
BLANKS = "\t\n\x0b\x0c\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"

_REFUSED = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
#: The characters of single-line text (no tab, no line break) as a JSON Schema pattern class.
SINGLE_LINE = r"[^\t\n\r" + _REFUSED + "]"
#: The characters of multi-line text: tab and line breaks allowed.
MULTI_LINE = "[^" + _REFUSED + "]"


class TextError(ValueError):
    """Text refused, with the reason in both languages."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh = zh
        self.en = en

    @property
    def names(self) -> tuple[str, str]:
        return (self.zh, self.en)


def pattern(*, multiline: bool, required: bool) -> str:
    """The JSON Schema pattern of text :func:`clean_text` accepts (``required``: not blank)."""
    allowed = MULTI_LINE if multiline else SINGLE_LINE
    if not required:
        return f"^{allowed}*$"
    not_blank = "[^\\s" + _REFUSED + "]"
    return f"^{allowed}*{not_blank}{allowed}*$"


def clean_text(value: str, *, multiline: bool = False, max_length: int | None = None) -> str:
    """``value`` without surrounding blanks, in NFC; :class:`TextError` if it may not be stored."""
    for char in value:
        if char in BIDI_CONTROLS:
            raise TextError(
                "不能包含改变文字方向的控制字符",
                "must not contain characters that change the text direction",
            )
        category = unicodedata.category(char)
        if category == "Cs":
            raise TextError(
                "含有无效的字符（单独的代理码位）",
                "contains an invalid character (a lone surrogate)",
            )
        if category == "Cc" and not (multiline and (char == "\t" or char in LINE_BREAKS)):
            if char in LINE_BREAKS or char == "\t":
                raise TextError(
                    "须为一行文字，不能换行或含制表符", "must be one line, without tabs"
                )
            raise TextError(
                "不能包含控制字符（如 NUL）", "must not contain control characters (such as NUL)"
            )
    text = unicodedata.normalize("NFC", value.strip(BLANKS))
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if max_length is not None and len(text) > max_length:
        raise TextError(f"不能超过{max_length}个字", f"must be at most {max_length} characters")
    return text


def checked_text(
    value: str,
    field: str,
    label: str,
    label_en: str,
    *,
    multiline: bool = False,
    max_length: int | None = 200,
    required: bool = True,
) -> str:
    """:func:`clean_text` for a command's argument: a refusal is the domain's ValidationError
    naming the field (as the command line shows it)."""
    try:
        text = clean_text(value, multiline=multiline, max_length=max_length)
    except TextError as error:
        raise invalid(field, (label, label_en), (error.zh, error.en)) from None
    if required and not text:
        raise invalid(field, (label, label_en), "blank")
    return text
