"""What every list page shares: sorting by a whitelisted column, a from/to pair of filter dates, prefix search that an
index can answer, and deep pages that read the index before they read the rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Q, QuerySet

from .dates import filter_day
from .text import querystring_without

# After the last code point: a string that starts with the prefix sorts below prefix + this, byte-wise and in UTF-8.
_AFTER_EVERYTHING = "\U0010ffff"


@dataclass(frozen=True)
class Column:
    """A sortable column's header: the link that sorts by it (or reverses it), its arrow and its `aria-sort`."""

    key: str
    label: str
    url: str
    aria_sort: str  # "ascending", "descending" or "" when the list is not sorted by it
    arrow: str


class Sorting:
    """`?sort=key` sorts ascending, `?sort=-key` descending. Only keys in `columns` are honoured; anything else
    (a hostile or stale link) gets the default, never an error.

    `columns` maps each key to the fields it orders by ascending; the primary key always breaks ties in the same
    direction, so an index on (field, id) serves both directions.
    """

    def __init__(self, params, columns: dict[str, tuple], default: str, labels: dict[str, str]):
        self.columns, self.labels, self.default = columns, labels, default
        wanted = str(params.get("sort", ""))[:40]
        self.value = wanted if wanted.lstrip("-") in columns and wanted.count("-") <= 1 else default
        self.descending = self.value.startswith("-")
        self.key = self.value.lstrip("-")
        self._base = querystring_without(params, "page", "sort")

    @property
    def is_default(self) -> bool:
        return self.value == self.default

    def order_by(self) -> list:
        fields = [*self.columns[self.key], "pk"]
        return [_direction(field, self.descending) for field in fields]

    def header(self, key: str) -> Column:
        active = key == self.key
        # A first click sorts the way the default sorts its own column (newest first for dates), then toggles.
        first_descending = self.default.startswith("-") and self.default.lstrip("-") == key
        descending_next = not self.descending if active else first_descending
        value = f"{'-' if descending_next else ''}{key}"
        url = "?" + "&".join(part for part in (self._base, f"sort={value}") if part)
        aria = ("descending" if self.descending else "ascending") if active else ""
        arrow = ("▼" if self.descending else "▲") if active else ""
        return Column(key=key, label=self.labels[key], url=url, aria_sort=aria, arrow=arrow)

    @property
    def headers(self) -> dict[str, Column]:
        return {key: self.header(key) for key in self.columns}


def _direction(field, descending: bool):
    if isinstance(field, str):
        if descending:
            return field[1:] if field.startswith("-") else f"-{field}"
        return field
    return field.desc() if descending else field.asc()


@dataclass
class DateRange:
    start: date | None
    end: date | None
    typed_start: str
    typed_end: str
    errors: dict[str, str]

    @property
    def active(self) -> bool:
        return bool(self.typed_start or self.typed_end)


def date_range(params, start_label: str, end_label: str) -> DateRange:
    """The from/to filter days. A day that cannot be read, or a from-day after the to-day, is an error for that
    field (shown next to it); the list is then shown without that day, and what was typed stays in the field."""
    typed_start = str(params.get("from", "")).strip()[:32]
    typed_end = str(params.get("to", "")).strip()[:32]
    start, start_problem = filter_day(typed_start, start_label)
    end, end_problem = filter_day(typed_end, end_label)
    errors = {name: problem for name, problem in (("from", start_problem), ("to", end_problem)) if problem}
    if start and end and start > end:
        errors["from"] = (
            f"{start_label} ({start.isoformat()}) is after the to-date ({end.isoformat()}); "
            "the list is shown without the dates."
        )
        start = end = None
    return DateRange(start, end, typed_start, typed_end, errors)


def prefix_q(field: str, prefix: str) -> Q:
    """Rows whose `field` starts with `prefix`, as a condition an ordinary index answers.

    SQLite's LIKE ignores case, so it cannot use a plain index: a range on the binary order can. PostgreSQL answers
    LIKE 'x%' from an index with the pattern operator class (see the models' indexes)."""
    if connection.vendor == "postgresql":
        return Q(**{f"{field}__startswith": prefix})
    return Q(**{f"{field}__gte": prefix, f"{field}__lt": prefix + _AFTER_EVERYTHING})


def case_variants(text: str) -> list[str]:
    """What staff typed, and in upper case (references and order numbers are mostly upper case), deduplicated."""
    return list(dict.fromkeys([text, text.upper()]))


def page_of(queryset: QuerySet, page_size: int, number, *, rows=None, count: int | None = None) -> Page:
    """The requested page (the last one when out of range) of an ordered queryset, in one query.

    The page's primary keys are picked by a subquery that reads only the index ordering the list; the rows, with
    their related rows and per-row figures (`rows`: a queryset of the same model that adds them), are fetched for
    those keys alone, so a deep page never joins or computes anything for the rows it skips. `count`: already
    known, so no COUNT query is made."""
    paginator = Paginator(queryset, page_size)
    if count is not None:
        paginator.count = count
    page = paginator.get_page(number)
    start = (page.number - 1) * page_size
    keys = queryset.values("pk")[start : start + page_size]
    fetch = rows if rows is not None else queryset.model._default_manager.all()
    page.object_list = list(fetch.filter(pk__in=keys).order_by(*queryset.query.order_by)) if paginator.count else []
    return page
