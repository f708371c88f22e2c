from __future__ import annotations

from django.http import QueryDict


def strip_nul_from_query_string(get_response):
    """Drop NUL characters from query-string parameters, which PostgreSQL refuses in any text it is asked to match.

    Forms reject NUL with a message of their own; a search box or a filter link simply searches without it.
    """

    def middleware(request):
        raw = request.META.get("QUERY_STRING", "")
        if "%00" in raw or "\x00" in raw:
            cleaned = QueryDict(mutable=True)
            for key, values in request.GET.lists():
                cleaned.setlist(key.replace("\x00", ""), [value.replace("\x00", "") for value in values])
            cleaned._mutable = False
            request.GET = cleaned
        return get_response(request)

    return middleware
