"""Order import page: upload a CSV, see every problem at its row and column or a summary, then import.

Two steps without keeping the file on disk: the upload is read in memory (`CappedMemoryUploadHandler`), checked,
and its text is kept compressed in the shared cache for an hour under a random token that only the uploading user
can use; the preview's Import button posts that token back. The cache (Redis or the database, shared by every web
process) rather than the session, because the session is loaded on every request and a 10 MB copy would slow every
page; rather than a signed hidden field, because a 10 MB field would be sent twice and exceed Django's form size
limit. Import validates again inside the import's transaction, so a preview that went stale cannot slip through.
"""

from __future__ import annotations

import secrets
import zlib
from dataclasses import dataclass
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from tenants.models import Tenant

from . import imports
from .forms_import import CappedMemoryUploadHandler, OrderImportForm

EXAMPLE_FILE = Path(__file__).with_name("import_example.csv")
STASH_SECONDS = 60 * 60
PREVIEW_ROWS = 200
PREVIEW_ORDERS = 100


@dataclass
class Stashed:
    user_id: int
    tenant_id: int
    file_name: str
    compressed: bytes

    @property
    def text(self) -> str:
        return zlib.decompress(self.compressed).decode("utf-8")


@csrf_exempt  # checked by `_order_import` once the upload handler is in place
@require_http_methods(["GET", "POST"])
@permission_required("orders.import_salesorders", raise_exception=True)
def order_import(request: HttpRequest) -> HttpResponse:
    handler = CappedMemoryUploadHandler(request)
    if request.method == "POST":
        request.upload_handlers = [handler]
    return _order_import(request, handler)


@csrf_protect
def _order_import(request: HttpRequest, handler: CappedMemoryUploadHandler) -> HttpResponse:
    if request.method == "GET":
        return _page(request, OrderImportForm(initial=_initial_tenant()))
    action = request.POST.get("action", "upload")
    if action in ("import", "problems"):
        return _from_stash(request, action)
    form = OrderImportForm(request.POST, request.FILES, too_large=handler.too_large)
    if not form.is_valid():
        return _page(request, form)
    upload, tenant = form.cleaned_data["file"], form.cleaned_data["tenant"]
    try:
        text = imports.decode(upload.read())
        parsed = imports.parse(text)
    except imports.ImportRefused as exc:
        for problem in exc.problems:
            form.add_error("file", str(problem))
        return _page(request, form)
    token = _stash(request, tenant, upload.name, text)
    plan = imports.validate(parsed, tenant)
    fresh_form = OrderImportForm(initial={"tenant": tenant})
    return _page(request, fresh_form, plan, token=token, file_name=upload.name, tenant=tenant)


def _from_stash(request: HttpRequest, action: str) -> HttpResponse:
    token = request.POST.get("token", "")
    stashed = _unstash(request, token)
    tenant = Tenant.objects.filter(pk=stashed.tenant_id).first() if stashed else None
    if stashed is None or tenant is None:
        messages.error(request, "That preview has expired or was already imported. Upload the file again.")
        return redirect("orders:order-import")
    parsed = imports.parse(stashed.text)
    if action == "problems":
        response = HttpResponse(imports.problems_csv(imports.validate(parsed, tenant)), content_type="text/csv")
        response["Content-Disposition"] = content_disposition_header(
            True, f"problems-{Path(stashed.file_name).stem[:60]}.csv"
        )
        return response
    submit = request.POST.get("mode") == "submit"
    if submit and not request.user.has_perm("orders.submit_salesorder"):
        raise PermissionDenied
    plan = imports.import_orders(parsed, tenant, request.user, submit=submit)
    if not plan.ok:
        form = OrderImportForm(initial={"tenant": tenant})
        return _page(request, form, plan, token=token, file_name=stashed.file_name, tenant=tenant)
    cache.delete(_stash_key(token))
    how = "They are queued for Visma." if submit else "They are drafts: review and submit them."
    messages.success(request, f"Imported {plan.summary} from {stashed.file_name}. {how}")
    return redirect("orders:order-list")


def _page(request, form, plan=None, *, token: str = "", file_name: str = "", tenant=None) -> HttpResponse:
    context = {
        "form": form,
        "plan": plan,
        "token": token,
        "file_name": file_name,
        "tenant": tenant,
        "columns": imports.COLUMNS,
        "required_columns": imports.REQUIRED_COLUMNS,
        "max_rows": imports.MAX_ROWS,
    }
    if plan is not None:
        context["preview_rows"] = plan.preview(PREVIEW_ROWS)
        context["preview_orders"] = plan.orders[:PREVIEW_ORDERS]
        context["problem_rows"] = len(plan.problems_by_row())
        context["can_submit"] = request.user.has_perm("orders.submit_salesorder")
    return render(request, "orders/order_import.html", context)


def _initial_tenant() -> dict:
    tenants = list(OrderImportForm.base_fields["tenant"].queryset[:2])
    return {"tenant": tenants[0]} if len(tenants) == 1 else {}


def _stash_key(token: str) -> str:
    return f"order-import:{token}"


def _stash(request: HttpRequest, tenant: Tenant, file_name: str, text: str) -> str:
    token = secrets.token_urlsafe(24)
    value = Stashed(request.user.pk, tenant.pk, file_name, zlib.compress(text.encode("utf-8"), 6))
    cache.set(_stash_key(token), value, STASH_SECONDS)
    return token


def _unstash(request: HttpRequest, token: str) -> Stashed | None:
    if not token or len(token) > 64 or not all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in token):
        return None
    stashed = cache.get(_stash_key(token))
    if not isinstance(stashed, Stashed) or stashed.user_id != request.user.pk:
        return None
    return stashed


@require_GET
@permission_required("orders.import_salesorders", raise_exception=True)
def example_csv(request: HttpRequest) -> FileResponse:
    return FileResponse(
        EXAMPLE_FILE.open("rb"), as_attachment=True, filename="order-import-example.csv", content_type="text/csv"
    )
