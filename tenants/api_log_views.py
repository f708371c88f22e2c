from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.decorators import permission_required
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.views.decorators.http import require_GET

from core.dates import day_problem
from core.listing import Sorting, page_of
from core.text import querystring_without, search_text

from .api_log import ApiCall
from .models import Tenant

STATUS_CLASSES = {
    "2xx": ("Success (2xx)", Q(status__gte=200, status__lt=300)),
    "4xx": ("Rejected (4xx)", Q(status__gte=400, status__lt=500)),
    "5xx": ("Server error (5xx)", Q(status__gte=500)),
    "errors": ("No answer (network)", Q(status__isnull=True)),
    "failures": ("Anything but 2xx", ~Q(status__gte=200, status__lt=300) | Q(status__isnull=True)),
}
PERIODS = {
    "hour": ("Last hour", timedelta(hours=1)),
    "day": ("Last 24 hours", timedelta(days=1)),
    "week": ("Last 7 days", timedelta(days=7)),
}
PAGE_SIZE = 100


def _moment(value: str, label: str, *, end: bool = False) -> tuple[datetime | None, str]:
    """A datetime-local or date from the filter form, in the staff's time zone; a bare date covers the whole day.
    (None, why) for what cannot be searched for, (None, "") when empty."""
    value = (value or "").strip()[:32]
    if not value:
        return None, ""
    try:
        moment = parse_datetime(value) if "T" in value or " " in value else None
        day = moment.date() if moment else parse_date(value)
    except ValueError:
        moment = day = None
    if problem := day_problem(day, label, value):
        return None, problem
    if moment is None:
        moment = datetime.combine(day, datetime.min.time()) + (timedelta(days=1) if end else timedelta())
    return (timezone.make_aware(moment) if timezone.is_naive(moment) else moment), ""


SORTS = {"time": ("started_at",), "duration": ("duration_ms",)}
SORT_LABELS = {"time": "Time", "duration": "Duration"}


def filter_calls(params, tenants: list[Tenant]) -> tuple[QuerySet, dict]:
    """The calls the filter parameters ask for, and what was chosen; `chosen["errors"]` says, per field, what was
    left out and why."""
    tenant = next((t for t in tenants if str(t.pk) == params.get("tenant")), None)
    status = params.get("status", "")
    status = status if status in STATUS_CLASSES else ""
    period = params.get("period", "")
    period = period if period in PERIODS else ""
    context = search_text(params.get("context"))
    typed_since, typed_until = str(params.get("from", "")).strip()[:32], str(params.get("to", "")).strip()[:32]
    since, since_problem = _moment(typed_since, "From")
    until, until_problem = _moment(typed_until, "To", end=True)
    errors = {name: problem for name, problem in (("from", since_problem), ("to", until_problem)) if problem}
    if since and until and since >= until:
        errors["from"] = f"From ({typed_since}) is after To ({typed_until}); the list is shown without these dates."
        since = until = None
    calls = ApiCall.objects.all()
    if tenant:
        calls = calls.filter(tenant=tenant)
    if status:
        calls = calls.filter(STATUS_CLASSES[status][1])
    if period:
        calls = calls.filter(started_at__gte=timezone.now() - PERIODS[period][1])
    if since:
        calls = calls.filter(started_at__gte=since)
    if until:
        calls = calls.filter(started_at__lt=until)
    if context:
        calls = calls.filter(context=context)
    chosen = {
        "tenant": tenant,
        "status": status,
        "period": period,
        "context": context,
        "since": typed_since,
        "until": typed_until,
        "errors": errors,
        "filtered": bool(tenant or status or period or context or typed_since or typed_until),
    }
    return calls, chosen


@require_GET
@permission_required("tenants.view_apicall", raise_exception=True)
def api_call_list(request: HttpRequest) -> HttpResponse:
    """Every call to Visma, newest first: filter by tenant, status class, time and the work it belonged to."""
    tenants = list(Tenant.objects.order_by("name"))
    calls, chosen = filter_calls(request.GET, tenants)
    sort = Sorting(request.GET, SORTS, "-time", SORT_LABELS)
    calls = calls.order_by(*sort.order_by())
    page = page_of(calls, PAGE_SIZE, request.GET.get("page"), rows=ApiCall.objects.select_related("tenant"))
    context = {
        **chosen,
        "page": page,
        "tenants": tenants,
        "sort": sort,
        "columns": sort.headers,
        "clear_url": "" if sort.is_default else f"?sort={sort.value}",
        "status_classes": {key: label for key, (label, _) in STATUS_CLASSES.items()},
        "periods": {key: label for key, (label, _) in PERIODS.items()},
        "querystring": querystring_without(request.GET, "page"),
        "retention_days": settings.API_LOG_DAYS,
    }
    return render(request, "tenants/api_call_list.html", context)
