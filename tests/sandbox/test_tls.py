"""The sandbox over HTTPS with its own certificate authority: verification works with `ca_path` and only with it."""

from __future__ import annotations

import ipaddress
import ssl
from pathlib import Path

import pytest
import requests
from cryptography import x509

from sandbox.seed import DEMO_CLIENT_ID, SCOPE_READ, TENANT_FULL
from sandbox.server import SandboxServer
from tests.sandbox.test_sandbox import ORDER, SECRET


@pytest.fixture(scope="module")
def server():
    with SandboxServer(client_secret=SECRET, customers=3, tls=True) as running:
        yield running


def test_urls_are_https_and_the_ca_file_verifies_them(server):
    assert server.base_url.startswith("https://127.0.0.1:")
    assert server.token_url.startswith("https://") and server.api_url.startswith("https://")
    assert requests.get(f"{server.base_url}/_sandbox/health", verify=server.ca_path, timeout=5).json()["status"] == "ok"
    by_name = server.base_url.replace("127.0.0.1", "localhost")
    assert requests.get(f"{by_name}/_sandbox/health", verify=server.ca_path, timeout=5).ok


def test_verification_stays_on_without_the_ca(server):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{server.base_url}/_sandbox/health", timeout=5)
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{server.base_url}/_sandbox/health", verify=True, timeout=5)


def test_plain_http_to_the_tls_port_gets_no_answer(server):
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.base_url.replace('https', 'http')}/_sandbox/health", timeout=5)
    assert requests.get(f"{server.base_url}/_sandbox/health", verify=server.ca_path, timeout=5).ok


def test_certificate_names_loopback_addresses_and_localhost(server):
    host, port = server.base_url.removeprefix("https://").split(":")
    pem = ssl.get_server_certificate((host, int(port)))
    names = x509.load_pem_x509_certificate(pem.encode()).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert names.value.get_values_for_type(x509.DNSName) == ["localhost"]
    addresses = names.value.get_values_for_type(x509.IPAddress)
    assert addresses == [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]


def test_token_and_order_over_https(server):
    data = {"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": SECRET}
    data.update({"scope": f"{SCOPE_READ} visma.net.erp.salesorder:write", "tenant_id": TENANT_FULL})
    token = requests.post(server.token_url, data=data, verify=server.ca_path, timeout=5).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    created = requests.post(
        f"{server.api_url}/api/v3/SalesOrders", json=ORDER, headers=headers, verify=server.ca_path, timeout=5
    )
    assert created.status_code == 201 and created.headers["apigw-requestid"]


def test_the_certificate_files_go_away_with_the_server():
    with SandboxServer(client_secret=SECRET, customers=1, tls=True) as short_lived:
        ca_path = Path(short_lived.ca_path)
        assert ca_path.read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert not ca_path.exists()


def test_plain_server_has_no_ca_path():
    with SandboxServer(client_secret=SECRET, customers=1) as plain:
        assert plain.ca_path is None and plain.base_url.startswith("http://")


def test_suite_fixture_serves_https(sandbox_tls):
    assert sandbox_tls.base_url.startswith("https://")
    assert requests.get(f"{sandbox_tls.base_url}/_sandbox/health", verify=sandbox_tls.ca_path, timeout=5).ok
