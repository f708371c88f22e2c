"""Order versions (ETag and If-Match), reads that match the schema, and changes through PATCH and the line endpoints."""

from __future__ import annotations

import re

import pytest
import requests

from sandbox import clock, schema
from sandbox.seed import SCOPE_READ
from sandbox.server import SandboxServer
from tests.sandbox.orders_client import SO1, call, control, create, etag, lines, read
from tests.sandbox.test_sandbox import SECRET

LINES = f"{SO1}/lines"
TWO_LINES = [{"inventoryId": "STOCK-100", "quantity": 2, "unitPrice": 10}, {"inventoryId": "STOCK-200", "quantity": 1}]


@pytest.fixture(scope="module")
def running():
    with SandboxServer(client_secret=SECRET, customers=12) as sandbox:
        yield sandbox


@pytest.fixture
def server(running):
    running.state.reset()
    return running


def refused(response: requests.Response, field: str, code: str) -> bool:
    body = response.json()
    assert not schema.response_errors("SalesOrderValidationProblemDetails", body)
    assert all(detail["code"] in schema.error_codes() for detail in body["details"])
    return response.status_code == 400 and field in body["errors"] and code in {d["code"] for d in body["details"]}


def problem(response: requests.Response, status: int) -> bool:
    assert not schema.response_errors("ProblemDetails", response.json())
    return response.status_code == status and response.headers["Content-Type"].startswith("application/problem+json")


# --- versions -----------------------------------------------------------------------------------------------------
def test_the_version_is_an_opaque_quoted_etag_on_create_and_read_and_in_the_body(server):
    created = create(server)
    tag = created.headers["ETag"]
    assert re.fullmatch(r'"[A-Za-z0-9+/]{11}="', tag)
    response = call(server, "GET", SO1)
    assert response.headers["ETag"] == tag and response.json()["version"] == tag.strip('"')
    assert not schema.response_errors("SalesOrderDto", response.json())
    other = create(server).headers["ETag"]
    assert other != tag


def test_every_change_gives_a_new_version_and_a_later_last_modified(server):
    create(server, orderLines=TWO_LINES)
    seen = [etag(server)]
    modified = [read(server)["lastModified"]]

    def changed(response: requests.Response) -> None:
        assert response.status_code in (200, 202), response.text
        seen.append(etag(server))
        modified.append(read(server)["lastModified"])
        if response.status_code == 202:
            assert response.headers["ETag"] == seen[-1] and response.content == b""

    changed(call(server, "PATCH", SO1, {"If-Match": seen[-1]}, json={"description": "First change"}))
    changed(call(server, "POST", LINES, json={"lines": [{"inventoryId": "FREIGHT", "quantity": 1}]}))
    changed(call(server, "PATCH", LINES, {"If-Match": seen[-1]}, json={"lines": [{"lineId": 1, "quantity": 5}]}))
    changed(call(server, "DELETE", LINES, {"If-Match": seen[-1]}, params={"ids": "2"}))
    changed(control(server, "SO/000001", {"description": "Changed in Visma"}))
    changed(call(server, "PATCH", SO1, {"If-Match": seen[-1]}, json={"status": "Hold"}))
    assert len(set(seen)) == len(seen) == 7
    ticks = [clock.parse_ticks(value) for value in modified]
    assert ticks == sorted(ticks) and len(set(ticks)) == 7


def test_the_etag_header_follows_lowercase_headers():
    with SandboxServer(client_secret=SECRET, customers=3, lowercase_headers=True) as lower:
        created = create(lower)
        assert "etag" in list(created.raw.headers) and "ETag" not in list(created.raw.headers)
        names = list(call(lower, "GET", SO1).raw.headers)
        assert "etag" in names and "ETag" not in names


def test_last_modified_has_seven_decimals_like_dotnet(server):
    create(server)
    for value in (read(server)["lastModified"], read(server, "/api/v3/SalesOrders")["value"][0]["lastModified"]):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z", value)


# --- If-Match -----------------------------------------------------------------------------------------------------
def test_patch_without_if_match_is_428_and_with_another_version_412(server):
    create(server)
    current = etag(server)
    missing = call(server, "PATCH", SO1, json={"description": "x"})
    assert problem(missing, 428) and "If-Match" in missing.json()["detail"]
    call(server, "PATCH", SO1, {"If-Match": current}, json={"description": "y"})
    for stale in (current, "*", current.strip('"'), f"W/{etag(server)}"):
        answer = call(server, "PATCH", SO1, {"If-Match": stale}, json={"description": "z"})
        assert problem(answer, 412)
        assert answer.json()["detail"] == "Order version does not match with If-Match header."
    assert read(server)["description"] == "y"


def test_patch_of_an_unknown_order_is_404(server):
    assert problem(call(server, "PATCH", "/api/v3/SalesOrders/SO/999999", {"If-Match": '"AAAAAAAAAAE="'}, json={}), 404)


def test_patch_bodies_are_checked_against_the_schema_and_need_json(server):
    create(server)
    tag = etag(server)
    assert refused(call(server, "PATCH", SO1, {"If-Match": tag}, json={"colour": "red"}), "colour", "0003-InvalidValue")
    long_text = {"description": "x" * 256}
    assert refused(call(server, "PATCH", SO1, {"If-Match": tag}, json=long_text), "description", "0002-InvalidLength")
    wrong_type = call(server, "PATCH", SO1, {"If-Match": tag, "Content-Type": "text/plain"}, data=b"{}")
    assert problem(wrong_type, 415)
    assert etag(server) == tag


def test_writes_need_the_write_scope(server):
    create(server)
    tag = etag(server)
    assert call(server, "PATCH", SO1, {"If-Match": tag}, scope=SCOPE_READ, json={}).status_code == 403
    assert call(server, "POST", LINES, scope=SCOPE_READ, json={"lines": TWO_LINES}).status_code == 403


def test_patch_changes_the_header_fields_visma_applies(server):
    create(server)
    change = {
        "description": "Deliver to the shop",
        "note": "Ring the bell",
        "requestOn": "2099-03-01",
        "customer": {"order": "PO-77", "refNo": "REF-77", "locationId": "SHOP"},
        "shipping": {
            "address": {"line1": "Kaigata 3", "postalCode": "5003", "city": "Bergen", "countryId": "NO"},
            "contact": {"name": "Kari Nordmann", "phone1": "+47 55 00 00 00"},
        },
    }
    assert call(server, "PATCH", SO1, {"If-Match": etag(server)}, json=change).status_code == 202
    order = read(server, expand=["Note", "Shipping"])
    assert not schema.response_errors("SalesOrderDto", order)
    assert (order["description"], order["note"]) == ("Deliver to the shop", "Ring the bell")
    assert order["requestOn"] == "2099-03-01T00:00:00.0000000Z"
    assert (order["customer"]["order"], order["customer"]["refNo"]) == ("PO-77", "REF-77")
    assert order["customer"]["location"]["id"] == "SHOP"
    assert order["shipping"]["address"]["line1"] == "Kaigata 3" and order["shipping"]["address"]["overridesDefault"]
    assert order["shipping"]["contact"]["name"] == "Kari Nordmann"
    [row] = read(server, "/api/v3/SalesOrders")["value"]
    assert (row["description"], row["customerOrder"], row["location"]) == ("Deliver to the shop", "PO-77", "SHOP")


# --- statuses -----------------------------------------------------------------------------------------------------
def test_status_with_any_other_field_is_400_naming_status(server):
    create(server)
    tag = etag(server)
    answer = call(server, "PATCH", SO1, {"If-Match": tag}, json={"status": "Hold", "description": "and this"})
    assert refused(answer, "status", "0004-ValueNotAllowed")
    assert read(server)["status"]["description"] == "Open" and etag(server) == tag


@pytest.mark.parametrize(
    ("start", "wanted", "allowed"),
    [
        ("Open", "Hold", True),
        ("Hold", "Open", True),
        ("Open", "Cancelled", True),
        ("Hold", "Cancelled", True),
        ("BackOrder", "Cancelled", True),
        ("Open", "Completed", False),
        ("Open", "Shipping", False),
        ("Open", "BackOrder", False),
        ("Open", "Open", False),
        ("Hold", "Completed", False),
        ("Shipping", "Cancelled", False),
        ("Shipping", "Hold", False),
        ("Completed", "Open", False),
        ("Cancelled", "Open", False),
    ],
)
def test_status_changes_through_the_api(server, start, wanted, allowed):
    create(server)
    if start != "Open":
        assert control(server, "SO/000001", {"status": start}).status_code == 200
    answer = call(server, "PATCH", SO1, {"If-Match": etag(server)}, json={"status": wanted})
    status = read(server)["status"]
    if allowed:
        assert answer.status_code == 202
        assert status == {"description": wanted, "cancelled": wanted == "Cancelled", "hold": wanted == "Hold"}
    else:
        assert refused(answer, "status", "0005-InvalidState") and status["description"] == start


@pytest.mark.parametrize("word", ["open", "Closed", "H", ""])
def test_unknown_status_words_are_400(server, word):
    create(server)
    answer = call(server, "PATCH", SO1, {"If-Match": etag(server)}, json={"status": word})
    assert refused(answer, "status", "0004-ValueNotAllowed")


@pytest.mark.parametrize("status", ["Shipping", "Completed", "Cancelled"])
def test_orders_that_ship_or_ended_cannot_change(server, status):
    create(server, orderLines=TWO_LINES)
    control(server, "SO/000001", {"status": status})
    tag = etag(server)
    answers = [
        call(server, "PATCH", SO1, {"If-Match": tag}, json={"description": "late"}),
        call(server, "POST", LINES, json={"lines": [{"inventoryId": "FREIGHT", "quantity": 1}]}),
        call(server, "PATCH", LINES, {"If-Match": tag}, json={"lines": [{"lineId": 1, "quantity": 9}]}),
        call(server, "DELETE", LINES, {"If-Match": tag}, params={"ids": "1"}),
    ]
    assert all(refused(answer, "status", "0005-InvalidState") for answer in answers)
    assert etag(server) == tag and len(lines(server)) == 2


# --- lines --------------------------------------------------------------------------------------------------------
def test_post_lines_checks_no_version_and_adds_lines_every_time(server):
    create(server)
    stale = etag(server)
    new_line = {"lines": [{"inventoryId": "FREIGHT", "quantity": 1, "unitPrice": 99}]}
    for headers in ({}, {"If-Match": stale}, {"If-Match": stale}, {"If-Match": "not a version"}):
        answer = call(server, "POST", LINES, headers, json=new_line)
        assert answer.status_code == 202 and answer.content == b"" and answer.headers["ETag"] == etag(server)
    rows = lines(server)
    assert [row["lineId"] for row in rows] == [1, 2, 3, 4, 5]
    assert [row["inventory"]["id"] for row in rows] == ["STOCK-100"] + ["FREIGHT"] * 4
    assert [row["sortOrder"] for row in rows] == [1, 2, 3, 4, 5]
    assert not schema.response_errors("SalesOrderLineDtoPagedResult", read(server, LINES))


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"lines": []}, "lines", "0001-EmptyNotAllowed"),
        ({}, "lines", "0001-EmptyNotAllowed"),
        ({"lines": [{"inventoryId": "NOPE", "quantity": 1}]}, "lines[0].inventoryId", "1804-InventoryIdNotFound"),
        ({"lines": [{"inventoryId": "STOCK-100", "quantity": -1}]}, "lines[0].quantity", "1809-InvalidQuantityForType"),
        ({"lines": [{"quantity": 1}]}, "lines[0].inventoryId", "0001-NullNotAllowed"),
        ({"lines": [{"inventoryId": "STOCK-100", "lineId": 3}]}, "lines[0].lineId", "0003-InvalidValue"),
    ],
)
def test_post_lines_are_checked_like_lines_of_a_new_order(server, body, field, code):
    create(server)
    assert refused(call(server, "POST", LINES, json=body), field, code)
    assert len(lines(server)) == 1


def test_patch_lines_needs_the_version_and_lines_the_order_has(server):
    create(server, orderLines=TWO_LINES)
    tag = etag(server)
    change = {"lines": [{"lineId": 2, "quantity": 4, "unitPrice": 12.5, "description": "Longer plank"}]}
    assert problem(call(server, "PATCH", LINES, json=change), 428)
    assert problem(call(server, "PATCH", LINES, {"If-Match": '"AAAAAAAAAAA="'}, json=change), 412)
    unknown = {"lines": [{"lineId": 9, "quantity": 1}]}
    assert refused(
        call(server, "PATCH", LINES, {"If-Match": tag}, json=unknown), "lines[0].lineId", "0200-LineIdDoesNotExist"
    )
    twice = {"lines": [{"lineId": 1, "quantity": 1}, {"lineId": 1, "quantity": 2}]}
    assert refused(
        call(server, "PATCH", LINES, {"If-Match": tag}, json=twice), "lines[1].lineId", "1817-LineIdIsNotUnique"
    )
    no_id = {"lines": [{"quantity": 1}]}
    assert refused(
        call(server, "PATCH", LINES, {"If-Match": tag}, json=no_id), "lines[0].lineId", "0001-NullNotAllowed"
    )
    negative = {"lines": [{"lineId": 1, "quantity": -2}]}
    assert refused(
        call(server, "PATCH", LINES, {"If-Match": tag}, json=negative),
        "lines[0].quantity",
        "1809-InvalidQuantityForType",
    )
    assert etag(server) == tag
    assert call(server, "PATCH", LINES, {"If-Match": tag}, json=change).status_code == 202
    changed = lines(server)[1]
    assert (changed["quantity"], changed["unitPrice"], changed["description"]) == (4.0, 12.5, "Longer plank")
    assert changed["openQuantity"] == 4.0 and changed["inventory"]["id"] == "STOCK-200"


def test_delete_lines_needs_the_version_and_line_ids_are_never_used_again(server):
    create(server, orderLines=TWO_LINES)
    tag = etag(server)
    assert problem(call(server, "DELETE", LINES, params={"ids": "2"}), 428)
    assert problem(call(server, "DELETE", LINES, {"If-Match": '"AAAAAAAAAAA="'}, params={"ids": "2"}), 412)
    assert refused(
        call(server, "DELETE", LINES, {"If-Match": tag}, params={"ids": "7"}), "ids", "0200-LineIdDoesNotExist"
    )
    assert refused(call(server, "DELETE", LINES, {"If-Match": tag}, params={"ids": "two"}), "ids", "0003-InvalidValue")
    assert refused(call(server, "DELETE", LINES, {"If-Match": tag}), "ids", "0001-NullNotAllowed")
    assert call(server, "DELETE", LINES, {"If-Match": tag}, params={"ids": "2"}).status_code == 202
    call(server, "POST", LINES, json={"lines": [{"inventoryId": "SERV-100", "quantity": 2}]})
    assert [(row["lineId"], row["inventory"]["id"]) for row in lines(server)] == [(1, "STOCK-100"), (3, "SERV-100")]


def test_delete_lines_takes_a_comma_separated_list(server):
    create(server, orderLines=[*TWO_LINES, {"inventoryId": "FREIGHT", "quantity": 1}])
    assert call(server, "DELETE", LINES, {"If-Match": etag(server)}, params={"ids": "1,3"}).status_code == 202
    assert [row["lineId"] for row in lines(server)] == [2]


# --- reads --------------------------------------------------------------------------------------------------------
def test_totals_add_tax_per_line_so_they_are_not_a_plain_sum(server):
    half = {"inventoryId": "STOCK-100", "quantity": 1, "unitPrice": 0.5}  # HIGH, 25 %: 0.125 of tax, 0.13 a line
    book = {"inventoryId": "STOCK-500", "quantity": 3, "unitPrice": 10.05}  # LOW, 12 %
    export = {"inventoryId": "SERV-300", "quantity": 1, "unitPrice": 100}  # EXEMPT
    create(server, orderLines=[half, half, book, export])
    totals = read(server)["totals"]
    assert totals["taxTotal"] == 0.13 + 0.13 + 3.62
    assert totals["taxableTotal"] == 31.15 and totals["taxExemptTotal"] == 100.0
    assert totals["orderTotal"] == round(131.15 + 3.88, 2) != 131.15
    [row] = read(server, "/api/v3/SalesOrders")["value"]
    assert (row["orderTotal"], row["taxTotal"]) == (totals["orderTotal"], totals["taxTotal"])
    assert not schema.response_errors("SalesOrderListDtoPagedResult", read(server, "/api/v3/SalesOrders"))


def test_a_line_keeps_its_own_tax_category(server):
    create(server, orderLines=[{"inventoryId": "STOCK-100", "quantity": 1, "unitPrice": 100, "taxCategoryId": "LOW"}])
    assert read(server)["totals"]["taxTotal"] == 12.0
    assert lines(server)[0]["taxCategoryId"] == "LOW"


@pytest.mark.parametrize(
    ("expand", "sections"),
    [
        (None, set()),
        ("Note", {"note"}),
        ("shipping", {"shipping"}),
        (["Note", "Shipping"], {"note", "shipping"}),
        ("Note,Shipping", {"note", "shipping"}),
        ("All", {"note", "shipping"}),
        ("Customer", set()),
    ],
)
def test_a_read_fills_only_the_sections_asked_for(server, expand, sections):
    create(server, note="Fragile", customer={"id": "10000", "order": "PO-1", "refNo": "R-1"})
    order = read(server, **({"expand": expand} if expand else {}))
    assert {"note", "shipping"} & set(order) == sections
    assert not schema.response_errors("SalesOrderDto", order)
    assert order["customer"] == {
        "internalId": 5000,
        "id": "10000",
        "name": order["customer"]["name"],
        "contactId": None,
        "order": "PO-1",
        "refNo": "R-1",
    }


def test_an_unknown_expansion_is_400(server):
    create(server)
    response = call(server, "GET", SO1, params={"expand": "Everything"})
    assert response.status_code == 400 and list(response.json()["errors"]) == ["expand"]


def test_new_endpoints_count_against_the_rate_limit_and_are_logged():
    with SandboxServer(client_secret=SECRET, customers=3, rate_limit=4, rate_window=60) as limited:
        create(limited)
        before = limited.state.orders()[0]
        answers = [
            call(limited, "PATCH", SO1, {"If-Match": "stale"}, json={}),
            call(limited, "POST", LINES, json={"lines": TWO_LINES}),
            call(limited, "GET", "/api/v3/Customers/10000/locations"),
            call(limited, "DELETE", LINES, params={"ids": "1"}),
        ]
        assert [a.status_code for a in answers] == [412, 202, 200, 429]
        assert all(a.headers["X-RateLimit-Limit"] == "4" for a in answers) and "Retry-After" in answers[3].headers
        logged = [
            (e["method"], e["path"], e["status"]) for e in limited.state.request_log() if e["path"] != "/connect/token"
        ]
        assert ("PATCH", SO1, 412) in logged and ("DELETE", LINES, 429) in logged
        assert limited.state.orders()[0]["version"] == before["version"] + 1  # only the lines were added
