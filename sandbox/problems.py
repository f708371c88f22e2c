"""Error bodies as Visma's ASP.NET service writes them: ProblemDetails and SalesOrderValidationProblemDetails."""

from __future__ import annotations

import secrets

_RFC9110 = "https://tools.ietf.org/html/rfc9110#section-"
_PROBLEM_TYPES = {
    400: f"{_RFC9110}15.5.1",
    401: f"{_RFC9110}15.5.2",
    403: f"{_RFC9110}15.5.4",
    404: f"{_RFC9110}15.5.5",
    405: f"{_RFC9110}15.5.6",
    409: f"{_RFC9110}15.5.10",
    412: f"{_RFC9110}15.5.13",
    415: f"{_RFC9110}15.5.16",
    428: "https://tools.ietf.org/html/rfc6585#section-3",
    429: "https://tools.ietf.org/html/rfc6585#section-4",
    500: f"{_RFC9110}15.6.1",
    503: f"{_RFC9110}15.6.4",
}

Problem = tuple[str, str, str]  # (property path, Visma error code from x-visma-erp-error-codes, message)


def trace_id() -> str:
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"


def problem(status: int, title: str, detail: str = "", **extra) -> dict:
    body = {"type": _PROBLEM_TYPES.get(status, f"{_RFC9110}15.{5 if status < 500 else 6}"), "title": title}
    body.update({"status": status, "detail": detail or None, "instance": None, **extra, "traceId": trace_id()})
    return body


def validation_problem(errors: dict[str, list[str]], **extra) -> dict:
    """ASP.NET Core's body for a request that fails model validation."""
    return {
        "type": _PROBLEM_TYPES[400],
        "title": "One or more validation errors occurred.",
        "status": 400,
        "errors": errors,
        **extra,
        "traceId": trace_id(),
    }


def validation_response(problems: list[Problem]) -> tuple[int, dict, dict]:
    """400 with ASP.NET's `errors` and Visma's `details`, each naming its property."""
    errors: dict[str, list[str]] = {}
    for path, _code, message in problems:
        errors.setdefault(path, []).append(message)
    details = [{"code": code, "message": message, "parameters": {"property": path}} for path, code, message in problems]
    return 400, {}, validation_problem(errors, details=details)


def not_found(order_type: str, order_id: str) -> tuple[int, dict, dict]:
    return 404, {}, problem(404, "Not Found", f"Sales order {order_type} {order_id} was not found.")
