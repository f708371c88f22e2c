from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import reachability, services, sync
from .connection_state import failed_step
from .forms import ApplicationForm, TenantForm
from .models import ServiceApplication, Tenant


@require_GET
@permission_required("tenants.view_tenant", raise_exception=True)
def tenant_list(request: HttpRequest) -> HttpResponse:
    tenants = Tenant.objects.select_related("application").annotate(customer_count=Count("customers"))
    applications = ServiceApplication.objects.annotate(tenant_count=Count("tenants"))
    return render(request, "tenants/tenant_list.html", {"tenants": tenants, "applications": applications})


@require_GET
@permission_required("tenants.view_tenant", raise_exception=True)
def tenant_detail(request: HttpRequest, pk: int) -> HttpResponse:
    tenant = get_object_or_404(Tenant.objects.select_related("application"), pk=pk)
    context = {
        "tenant": tenant,
        "last_sync": sync.last_sync(tenant),
        "checklist": services.onboarding_checklist(tenant.application, tenant),
        "customer_count": tenant.customers.filter(removed_at__isnull=True).count(),
        "unreachable": reachability.describe(tenant),
    }
    return render(request, "tenants/tenant_detail.html", context)


@require_http_methods(["GET", "POST"])
@permission_required("tenants.add_tenant", raise_exception=True)
def tenant_create(request: HttpRequest) -> HttpResponse:
    return _tenant_form(request, Tenant())


@require_http_methods(["GET", "POST"])
@permission_required("tenants.change_tenant", raise_exception=True)
def tenant_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _tenant_form(request, get_object_or_404(Tenant, pk=pk))


def _tenant_form(request: HttpRequest, tenant: Tenant) -> HttpResponse:
    form = TenantForm(request.POST or None, instance=tenant)
    if request.method == "POST" and form.is_valid():
        tenant = form.save()
        messages.success(request, f"Saved {tenant.name}. Use Test connection to prove it works.")
        return redirect("tenants:tenant-detail", pk=tenant.pk)
    context = {
        "form": form,
        "title": f"Tenant {tenant.name}" if tenant.pk else "New tenant",
        "detail_url": reverse("tenants:tenant-detail", args=[tenant.pk]) if tenant.pk else "",
        "cancel_url": reverse("tenants:tenant-list"),
    }
    return render(request, "tenants/form.html", context)


@require_POST
@permission_required("tenants.change_tenant", raise_exception=True)
def tenant_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    tenant = _toggle_active(get_object_or_404(Tenant, pk=pk))
    messages.success(request, f"{tenant.name} is now {'active' if tenant.active else 'deactivated'}.")
    return redirect("tenants:tenant-detail", pk=tenant.pk)


@require_POST
@permission_required("tenants.check_connection", raise_exception=True)
def tenant_check(request: HttpRequest, pk: int) -> HttpResponse:
    tenant = get_object_or_404(Tenant.objects.select_related("application"), pk=pk)
    report = services.check_connection(tenant)
    if request.htmx:
        checklist = services.onboarding_checklist(tenant.application, tenant)
        context = {"report": report, "tenant": tenant, "checklist": checklist}
        return render(request, "tenants/partials/connection_report.html", context)
    if report.ok:
        messages.success(request, "Test connection: all steps passed.")
    else:  # the reason is on the page (Last check or Token failures); the message says where it stopped
        messages.error(request, f"Test connection failed at {failed_step(report.summary)}.")
    return redirect("tenants:tenant-detail", pk=tenant.pk)


@require_POST
@permission_required("tenants.change_serviceapplication", raise_exception=True)
def application_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    application = _toggle_active(get_object_or_404(ServiceApplication, pk=pk))
    state = "active" if application.active else "deactivated: none of its tenants gets tokens or syncs"
    messages.success(request, f"{application.name} is now {state}.")
    return redirect("tenants:application-detail", pk=application.pk)


@require_GET
@permission_required("tenants.view_serviceapplication", raise_exception=True)
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(ServiceApplication, pk=pk)
    context = {
        "application": application,
        "tenants": application.tenants.all(),
        "checklist": services.onboarding_checklist(application),
    }
    return render(request, "tenants/application_detail.html", context)


@sensitive_post_parameters("client_secret")
@require_http_methods(["GET", "POST"])
@permission_required("tenants.add_serviceapplication", raise_exception=True)
def application_create(request: HttpRequest) -> HttpResponse:
    return _application_form(request, ServiceApplication())


@sensitive_post_parameters("client_secret")
@require_http_methods(["GET", "POST"])
@permission_required("tenants.change_serviceapplication", raise_exception=True)
def application_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _application_form(request, get_object_or_404(ServiceApplication, pk=pk))


def _application_form(request: HttpRequest, application: ServiceApplication) -> HttpResponse:
    form = ApplicationForm(request.POST or None, instance=application)
    if request.method == "POST" and form.is_valid():
        application = form.save()
        messages.success(request, f"Saved {application.name}.")
        return redirect("tenants:application-detail", pk=application.pk)
    context = {
        "form": form,
        "title": f"Application {application.name}" if application.pk else "New service application",
        "detail_url": reverse("tenants:application-detail", args=[application.pk]) if application.pk else "",
        "cancel_url": reverse("tenants:tenant-list"),
    }
    return render(request, "tenants/form.html", context)


def _toggle_active(obj):
    obj.active = not obj.active
    obj.save(update_fields=["active", "updated_at"])
    return obj
