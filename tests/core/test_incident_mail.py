"""Alert e-mail goes through a worker task with a timeout; whether it went, or why not, is kept on the incident."""

from __future__ import annotations

import smtplib

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import Task

from tenants import notifications
from tenants.models import Incident

pytestmark = pytest.mark.django_db


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise smtplib.SMTPConnectError(421, "mail.example.com is not accepting mail")


@pytest.fixture(autouse=True)
def alert_emails(settings):
    settings.ALERT_EMAILS = ["ops@example.com"]


def open_incident() -> Incident:
    return notifications.failed("order:1", kind=Incident.Kind.ORDER, subject="Order VOP-1 failed", detail="Rejected")


def test_mail_waits_at_most_ten_seconds_for_the_mail_server(settings):
    assert settings.EMAIL_TIMEOUT == 10


def test_the_mail_is_sent_by_a_worker_task_and_recorded_on_the_incident():
    incident = open_incident()
    [message] = mail.outbox
    assert message.subject == "[Visma portal] Order VOP-1 failed" and message.to == ["ops@example.com"]
    assert Task.objects.get(func="tenants.tasks.send_incident_mail").success
    incident.refresh_from_db()
    assert incident.mailed_at is not None and incident.mail_error == ""


def test_with_a_cluster_the_failing_code_only_queues_the_mail(monkeypatch):
    monkeypatch.setattr(Conf, "SYNC", False)
    broker = get_broker()
    queued_before = broker.queue_size()
    try:
        incident = open_incident()
        assert mail.outbox == []
        assert broker.queue_size() == queued_before + 1
    finally:
        broker.purge_queue()
    incident.refresh_from_db()
    assert incident.mailed_at is None


def test_a_refusing_mail_server_is_recorded_on_the_incident_and_fails_nothing_else(settings):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    incident = open_incident()
    assert incident is not None and Incident.objects.filter(key="order:1", closed_at__isnull=True).exists()
    incident.refresh_from_db()
    assert incident.mailed_at is None
    assert incident.mail_error.startswith("SMTPConnectError: (421, ")
    assert "not accepting mail" in incident.mail_error
    assert Task.objects.get(func="tenants.tasks.send_incident_mail").result == "not sent: SMTPConnectError"


def test_a_broker_that_cannot_take_the_task_is_recorded_too(monkeypatch):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(notifications, "async_task", broker_down)
    incident = open_incident()
    incident.refresh_from_db()
    assert incident.mail_error == "Not queued for sending: ConnectionError"
    assert mail.outbox == []


def test_the_dashboard_says_when_an_incidents_mail_could_not_be_sent(settings, viewer_client):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    open_incident()
    html = viewer_client.get(reverse("dashboard")).content.decode()
    assert "The e-mail about it could not be sent: SMTPConnectError" in html
