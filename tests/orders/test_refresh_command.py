"""`manage.py refresh_orders [--tenant UUID]`: one refresh now, what changed per tenant, exit 1 when one failed."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from orders.refresh import _Lock
from sandbox.seed import TENANT_FULL, TENANT_READ_ONLY
from tenants.models import Tenant
from tests.orders.following import change_in_visma, followed_orders, list_calls

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    from io import StringIO

    out, err = StringIO(), StringIO()
    call_command("refresh_orders", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_prints_each_changed_order_with_its_old_and_new_status_and_total(sandbox, tenant):
    orders = followed_orders(sandbox, tenant, 2)
    out, _ = run()
    assert "Nordlys Handel AS: 2 orders changed; 2 read in 1 list call." in out
    assert f"{orders[0].reference} (SO {orders[0].visma_number}): not read before → Open, total none → NOK" in out

    change_in_visma(sandbox, orders[1], status="Hold")
    out, _ = run("--tenant", TENANT_FULL)
    assert "1 order changed; 2 read in 1 list call." in out
    assert f"{orders[1].reference} (SO {orders[1].visma_number}): Open → On hold" in out
    assert orders[0].reference not in out


def test_nothing_to_follow_says_so_and_calls_nothing(sandbox, tenant):
    assert run() == ("No tenant has orders to follow.\n", "")
    out, _ = run("--tenant", TENANT_FULL)
    assert "no orders to follow; no call made" in out and list_calls(sandbox) == 0


def test_exits_1_when_a_tenant_could_not_be_refreshed(sandbox, tenant, application):
    other = Tenant.objects.create(application=application, tenant_id=TENANT_READ_ONLY, name="Fjord AB", can_write=False)
    followed_orders(sandbox, tenant, 1)
    followed_orders(sandbox, other, 1)
    sandbox.state.set_faults([{"method": "GET", "path": "/api/v3/SalesOrders", "kind": "500", "times": 1}])
    with pytest.raises(CommandError, match="1 of 2 tenants not refreshed"):
        call_command("refresh_orders")
    lock = _Lock(tenant.pk)
    assert lock.acquire()
    with pytest.raises(CommandError, match="1 of 1 tenant not refreshed"):
        run("--tenant", TENANT_FULL)
    lock.release()


def test_a_wrong_tenant_id_is_an_error(tenant):
    with pytest.raises(CommandError, match="not a valid tenant ID"):
        run("--tenant", "nope")
    with pytest.raises(CommandError, match="No tenant with tenant ID"):
        run("--tenant", "00000000-0000-0000-0000-000000000000")


def test_the_exit_status_is_1(sandbox, tenant, capfd):
    import subprocess
    import sys

    from django.conf import settings

    followed_orders(sandbox, tenant, 1)
    command = [sys.executable, str(settings.BASE_DIR / "manage.py"), "refresh_orders", "--tenant", "nope"]
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    assert finished.returncode == 1 and "not a valid tenant ID" in finished.stderr
