"""Keep the English catalogue complete: ``python -m webapp.i18n_tool [--check]``.

Extracts every message from the Python code and the templates, adds new ones to
``translations/en/LC_MESSAGES/messages.po`` (keeping existing translations, dropping unused ones)
and lists the messages that still lack an English text. ``--check`` changes nothing and exits 1
when any message is untranslated (the tests run the same check).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).parent
PO = ROOT / "translations" / "en" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {"_": None, "gettext": None, "lazy_gettext": None, "_l": None, "ngettext": (1, 2)}
METHODS = [
    ("**/templates/**.html", "jinja2.ext:babel_extract"),
    ("**.py", "python"),
]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}


def extract() -> Catalog:
    catalog = Catalog(locale="en", project="consult")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), METHODS, options_map=OPTIONS, keywords=KEYWORDS
    ):
        if filename.startswith("i18n_tool"):
            continue
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def current() -> Catalog:
    with PO.open("rb") as f:
        return read_po(f, locale="en")


def missing(template: Catalog, translated: Catalog) -> list[str]:
    out = []
    for message in template:
        if not message.id:
            continue
        found = translated.get(message.id, message.context)
        if (
            found is None
            or not found.string
            or (isinstance(found.string, tuple) and not all(found.string))
        ):
            out.append(message.id if isinstance(message.id, str) else message.id[0])
    return out


def update() -> list[str]:
    template = extract()
    old = current()
    new = Catalog(locale="en", project="consult")
    for message in template:
        if not message.id:
            continue
        found = old.get(message.id, message.context)
        new.add(
            message.id, found.string if found else None, message.locations, context=message.context
        )
    with PO.open("wb") as f:
        write_po(f, new, width=0, omit_header=False, sort_output=False, include_lineno=False)
    return missing(template, new)


def main(argv: list[str]) -> int:
    lacking = missing(extract(), current()) if "--check" in argv else update()
    for m in lacking:
        print(f"untranslated: {m}")
    print(f"{len(lacking)} untranslated")
    return 1 if lacking and "--check" in argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
