"""The ways of writing numbers and dates a user may choose, and what each one means to Django and the browser.

The portal's text is English whatever the choice. Each choice activates an English Django language whose format
module writes numbers and dates the chosen way: Norwegian bokmål formats are Django's "en-no" (English as used in
Norway, formats from config/formats/en_NO). So Django's own text (the admin, standard form errors, "4 minutes ago")
stays English, and the admin's `<html lang>` and the Content-Language header say truthfully what the page is in.

The choice's code ("en-gb", "nb") is what a profile stores and what LANGUAGE_CODE in the environment names; the
settings turn it into the Django language. Money (core.money) and name sorting (core.collation) key their rules by
the FormatLocale this module gives for the active language.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils import translation


@dataclass(frozen=True)
class FormatLocale:
    code: str  # the user's choice and the environment's LANGUAGE_CODE
    label: str
    language: str  # the Django language activated for it: English text, numbers and dates from its format module
    intl: str  # the browser's Intl locale that writes numbers the same way (static/portal/orders.js)


ENGLISH = FormatLocale(code="en-gb", label="English", language="en-gb", intl="en-GB")
NORWEGIAN = FormatLocale(code="nb", label="Norsk bokmål", language="en-no", intl="nb-NO")
FORMAT_LOCALES = (ENGLISH, NORWEGIAN)
CHOICES = [(locale.code, locale.label) for locale in FORMAT_LOCALES]
_BY_CODE = {code: locale for locale in FORMAT_LOCALES for code in (locale.code, locale.language)}
_BY_PRIMARY_LANGUAGE = {locale.code.split("-")[0]: locale for locale in FORMAT_LOCALES}  # "nb-NO" → Norwegian


def named(code: str | None) -> FormatLocale | None:
    """The formats chosen by their code ("en-gb", "nb", in any case); None for anything else."""
    wanted = (code or "").strip().lower()
    return next((locale for locale in FORMAT_LOCALES if locale.code == wanted), None)


def of_language(language: str | None) -> FormatLocale:
    """The formats a language code stands for: a Django language ("en-no"), a choice ("nb") or a tag of its
    language ("nb-NO"); English for any other."""
    code = (language or "").strip().lower().replace("_", "-")
    return _BY_CODE.get(code) or _BY_PRIMARY_LANGUAGE.get(code.split("-")[0], ENGLISH)


def active(language: str | None = None) -> FormatLocale:
    """The formats of `language`, else of the active language (the user's choice in a request), else the site's."""
    return of_language(language or translation.get_language() or settings.LANGUAGE_CODE)
