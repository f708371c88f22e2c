"""Names sorted the way the user's formats sort them (Norwegian: … X Y Z Æ Ø Å), by the database.

PostgreSQL sorts with an ICU collation when the server has it (`nb-NO-x-icu`, `en-x-icu`); SQLite with a collation
the portal registers on every connection (`portal_nb`, `portal_en`). Where neither is available the names sort as the
database sorts text, which is still a stable order. The formats are the active ones (a user's own choice when it is
set), else the site's LANGUAGE_CODE (core.format_locales).
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

from django.db import connection
from django.db.models import F
from django.db.models.functions import Collate

from . import format_locales


@dataclass(frozen=True)
class Collation:
    postgresql: str
    sqlite: str


NORWEGIAN = Collation(postgresql="nb-NO-x-icu", sqlite="portal_nb")
ENGLISH = Collation(postgresql="en-x-icu", sqlite="portal_en")
BY_FORMATS = {format_locales.NORWEGIAN: NORWEGIAN, format_locales.ENGLISH: ENGLISH}

# Norwegian letters after Z, and the letters Norwegian dictionaries file with them (ä with æ, ö with ø, ü with y).
_NORWEGIAN_LETTERS = {"æ": "{", "ä": "{", "ø": "|", "ö": "|", "å": "}", "ü": "y"}
_ENGLISH_LETTERS = {"æ": "ae", "ø": "o", "œ": "oe", "ß": "ss", "đ": "d", "ł": "l"}


def _fold(text: str, letters: dict[str, str]) -> str:
    out = []
    for char in text.casefold():
        if char in letters:
            out.append(letters[char])
            continue
        base = unicodedata.normalize("NFD", char)[0]
        out.append(letters.get(base, base))
    return "".join(out)


@functools.lru_cache(maxsize=65536)
def norwegian_key(text: str) -> tuple[str, str]:
    return _fold(text, _NORWEGIAN_LETTERS), text


@functools.lru_cache(maxsize=65536)
def english_key(text: str) -> tuple[str, str]:
    return _fold(text, _ENGLISH_LETTERS), text


def _comparer(key):
    def compare(a: str, b: str) -> int:
        ka, kb = key(a), key(b)
        return (ka > kb) - (ka < kb)

    return compare


SQLITE_COLLATIONS = {NORWEGIAN.sqlite: _comparer(norwegian_key), ENGLISH.sqlite: _comparer(english_key)}


def register_sqlite_collations(sender, connection, **kwargs) -> None:
    """`connection_created` receiver: every SQLite connection knows the portal's collations (its indexes use them)."""
    if connection.vendor == "sqlite":
        for name, compare in SQLITE_COLLATIONS.items():
            connection.connection.create_collation(name, compare)
    connection.portal_collations = None


def for_language(language: str | None = None) -> Collation:
    """The collation of a language's formats ("en-no", "nb", "nb-NO": Norwegian), the active one's by default."""
    return BY_FORMATS[format_locales.active(language)]


def postgresql_collations() -> set[str]:
    """The ICU collations this PostgreSQL server has, of those the portal uses; asked once per connection."""
    known = getattr(connection, "portal_collations", None)
    if known is None:
        wanted = [collation.postgresql for collation in (NORWEGIAN, ENGLISH)]
        with connection.cursor() as cursor:
            cursor.execute("SELECT collname FROM pg_collation WHERE collname = ANY(%s)", [wanted])
            known = {row[0] for row in cursor.fetchall()}
        connection.portal_collations = known
    return known


def collated(field: str, language: str | None = None):
    """An expression to order `field` by in the language's order, or the plain field where the database cannot."""
    collation = for_language(language)
    if connection.vendor == "sqlite":
        return Collate(F(field), collation.sqlite)
    if connection.vendor == "postgresql" and collation.postgresql in postgresql_collations():
        return Collate(F(field), collation.postgresql)
    return F(field)
