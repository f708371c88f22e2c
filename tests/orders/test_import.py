"""Order import from CSV: parsing, every column's checks, limits and hostile files, the page, the command."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from orders import imports
from orders.models import SalesOrder, SalesOrderLine
from tenants.models import Customer

pytestmark = pytest.mark.django_db
State = SalesOrder.State
EXAMPLE = Path(imports.__file__).with_name("import_example.csv")
HEADER = list(imports.COLUMNS)
# The columns files had before the delivery columns: such files keep importing.
FIRST_COLUMNS = [
    "reference",
    "customer",
    "date",
    "description",
    "status",
    "inventory_id",
    "line_description",
    "quantity",
    "unit_price",
    "tax_category",
]


@pytest.fixture
def customers(tenant):
    """Customers the sandbox knows: 10000-10007 are Active, 10008 is OnHold, 10009 Inactive; 10007 removed here."""
    rows = [Customer(tenant=tenant, number=str(10000 + i), name=f"Kunde {i}", status="Active") for i in range(8)]
    rows.append(Customer(tenant=tenant, number="10008", name="Paused AS", status="OnHold"))
    rows.append(Customer(tenant=tenant, number="10009", name="Sleeping AS", status="Inactive"))
    created = {c.number: c for c in Customer.objects.bulk_create(rows)}
    Customer.objects.filter(number="10007").update(removed_at=timezone.now())
    return created


def line(reference="PO-1", customer="10000", inventory_id="STOCK-100", quantity="1", **values) -> dict:
    return {"reference": reference, "customer": customer, "inventory_id": inventory_id, "quantity": quantity, **values}


def make_csv(rows: list[dict], *, delimiter: str = ",", columns: list[str] | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns or HEADER, delimiter=delimiter, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def text(rows: list[dict]) -> str:
    return make_csv(rows).decode("utf-8")


def check(data: bytes, tenant) -> imports.ImportPlan:
    return imports.validate(imports.parse(imports.decode(data)), tenant)


def problems(data: bytes, tenant) -> list[str]:
    return [str(p) for p in check(data, tenant).problems]


def refused(data: bytes) -> str:
    with pytest.raises(imports.ImportRefused) as caught:
        imports.parse(imports.decode(data))
    return str(caught.value)


# --- Happy path ---------------------------------------------------------------------------------------------------


def test_example_file_imports_as_drafts_with_lines_in_file_order(tenant, customers, order_clerk):
    parsed = imports.parse(imports.decode(EXAMPLE.read_bytes()))
    plan = imports.import_orders(parsed, tenant, order_clerk)
    assert plan.ok, plan.problems
    assert plan.summary == "2 orders, 5 lines, total NOK\xa03,577.50"
    first, second = SalesOrder.objects.order_by("pk")
    assert (first.customer_order, first.customer.number, first.state) == ("PO-2026-0141", "10000", State.DRAFT)
    assert first.description == "Winter restock" and first.status == "Open" and str(first.date) == "2026-12-01"
    assert first.created_by == order_clerk and first.reference.startswith("VOP-")
    assert [(li.position, li.inventory_id, li.quantity, li.unit_price) for li in first.lines.all()] == [
        (1, "STOCK-100", Decimal("4"), Decimal("101.25")),
        (2, "STOCK-300", Decimal("2.5"), Decimal("449")),
        (3, "FREIGHT", Decimal("1"), Decimal("250")),
    ]
    assert first.lines.get(position=3).description == "Delivery, Oslo"
    assert second.status == "Hold" and second.date == timezone.localdate() and second.description == ""
    assert second.lines.get(position=1).unit_price is None


def test_readme_shows_the_example_file():
    readme = (Path(imports.__file__).parent.parent / "README.md").read_text()
    assert EXAMPLE.read_text().strip() in readme


def test_decimal_marks_may_be_mixed_within_a_file(tenant, customers):
    rows = [line(quantity="1,5", unit_price="10.25"), line(inventory_id="SERV-100", quantity="2.75", unit_price="3,5")]
    plan = check(make_csv(rows), tenant)
    assert plan.ok
    assert [(li.quantity, li.unit_price) for li in plan.orders[0].lines] == [
        (Decimal("1.5"), Decimal("10.25")),
        (Decimal("2.75"), Decimal("3.5")),
    ]


def test_semicolon_file_with_comma_decimals_and_a_bom(tenant, customers):
    data = "\ufeffReference;Customer;Inventory ID;Quantity;Unit_Price\nPO-9;10001;STOCK-200;1,25;99,5\n"
    plan = check(data.encode("utf-8"), tenant)
    assert plan.ok and plan.parsed.delimiter == ";"
    [order] = plan.orders
    assert order.customer.number == "10001" and order.lines[0].quantity == Decimal("1.25")
    assert order.lines[0].unit_price == Decimal("99.5")


def test_blank_lines_are_skipped_and_row_numbers_stay_those_of_the_spreadsheet(tenant, customers):
    data = make_csv([line()]) + b"\r\n" + make_csv([line(quantity="x")]).split(b"\r\n", 1)[1]
    assert problems(data, tenant) == [
        "row 4, column quantity: “x” is not a number (digits with . or , as the decimal mark, no thousands separators)"
    ]


# --- Each column's checks -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"reference": ""}, "column reference: required"),
        ({"reference": "R" * 41}, "column reference: longer than 40 characters (41)"),
        ({"customer": ""}, "column customer: required"),
        ({"customer": "99999"}, "column customer: no customer 99999 in Nordlys Handel AS"),
        ({"customer": "10007"}, "column customer: customer 10007 was removed in Visma"),
        ({"customer": "10008"}, "column customer: customer 10008 is OnHold in Visma, not Active"),
        ({"customer": "10009"}, "column customer: customer 10009 is Inactive in Visma, not Active"),
        ({"customer": "1" * 31}, "column customer: longer than 30 characters"),
        ({"date": "01.12.2026"}, "column date: “01.12.2026” is not a date in the form YYYY-MM-DD"),
        ({"date": "2026-02-30"}, "column date: “2026-02-30” is not a date"),
        ({"description": "d" * 256}, "column description: longer than 255 characters (256)"),
        ({"status": "Closed"}, "column status: must be Open or Hold, not “Closed”"),
        ({"inventory_id": ""}, "column inventory_id: required"),
        ({"inventory_id": "I" * 31}, "column inventory_id: longer than 30 characters"),
        ({"line_description": "l" * 257}, "column line_description: longer than 256 characters"),
        ({"quantity": ""}, "column quantity: required"),
        ({"quantity": "0"}, "column quantity: must be more than 0"),
        ({"quantity": "-2"}, "column quantity: must be more than 0"),
        ({"quantity": "two"}, "column quantity: “two” is not a number"),
        ({"quantity": "1.000,5"}, "column quantity: “1.000,5” is not a number"),
        ({"quantity": "1 000"}, "column quantity: “1 000” is not a number"),
        ({"quantity": "1e3"}, "column quantity: write the number out, e.g. 1000 rather than 1e3"),
        ({"quantity": "1_000"}, "column quantity: “1_000” is not a number"),
        ({"quantity": "١٢٣"}, "column quantity: “١٢٣” is not a number"),
        ({"quantity": "NaN"}, "column quantity: “NaN” is not a number"),
        ({"quantity": "1,23456"}, "column quantity: at most 4 decimals"),
        ({"quantity": "12345678901"}, "column quantity: too large (at most 10 digits before the decimal mark)"),
        ({"unit_price": "cheap"}, "column unit_price: “cheap” is not a number"),
        ({"unit_price": "0.00001"}, "column unit_price: at most 4 decimals"),
        ({"unit_price": "123456789012.34"}, "column unit_price: too large (at most 11 digits before the decimal mark)"),
        ({"unit_price": "-5"}, "column unit_price: cannot be negative (as in the order form)"),
        ({"tax_category": "T" * 11}, "column tax_category: longer than 10 characters"),
    ],
)
def test_each_column_is_checked(tenant, customers, values, expected):
    found = problems(make_csv([line(), line(**{"reference": "PO-2", **values})]), tenant)
    assert len(found) == 1 and found[0].startswith(f"row 3, {expected}"), found


def test_values_that_fit_exactly_are_accepted(tenant, customers):
    row = line(
        reference="R" * 40,
        description="d" * 255,
        status="hold",
        line_description="l" * 256,
        quantity="9999999999,9999",
        unit_price="99999999999.9999",
        tax_category="T" * 10,
    )
    plan = check(make_csv([row]), tenant)
    assert plan.ok, plan.problems
    assert plan.orders[0].status == "Hold" and plan.orders[0].lines[0].quantity == Decimal("9999999999.9999")
    assert plan.orders[0].lines[0].unit_price == Decimal("99999999999.9999")


def test_trailing_zeros_do_not_count_as_decimals(tenant, customers):
    assert check(make_csv([line(quantity="1.500000", unit_price="100")]), tenant).ok


def test_every_problem_of_a_file_is_reported_not_only_the_first(tenant, customers):
    rows = [line(quantity="0"), line(reference="PO-2", customer="404", date="tomorrow"), line(reference="PO-3")]
    assert problems(make_csv(rows), tenant) == [
        "row 2, column quantity: must be more than 0",
        "row 3, column customer: no customer 404 in Nordlys Handel AS; sync its customers if it is new in Visma",
        "row 3, column date: “tomorrow” is not a date in the form YYYY-MM-DD",
    ]


# --- Orders, header conflicts, duplicates -------------------------------------------------------------------------


def test_rows_with_the_same_reference_form_one_order_and_blank_header_cells_follow_the_first(tenant, customers):
    rows = [
        line(description="Spring", date="2026-03-01", inventory_id="STOCK-100"),
        line(reference="PO-2", inventory_id="SERV-100"),
        line(inventory_id="STOCK-200"),
        line(description="Spring", status="Open", inventory_id="STOCK-300"),
    ]
    plan = check(make_csv(rows), tenant)
    assert plan.ok
    first, second = plan.orders
    assert [li.inventory_id for li in first.lines] == ["STOCK-100", "STOCK-200", "STOCK-300"]
    assert first.description == "Spring" and str(first.date) == "2026-03-01"
    assert [li.row for li in first.lines] == [2, 4, 5] and second.first_row == 3


@pytest.mark.parametrize(
    ("column", "first", "other"),
    [
        ("customer", "10000", "10001"),
        ("date", "2026-03-01", "2026-03-02"),
        ("description", "Spring", "Summer"),
        ("status", "Open", "Hold"),
    ],
)
def test_header_values_that_disagree_within_an_order_are_a_conflict(tenant, customers, column, first, other):
    rows = [line(**{column: first}), line(inventory_id="SERV-100", **{column: other})]
    assert problems(make_csv(rows), tenant) == [
        f"row 3, column {column}: differs from row 2 of order PO-1 (“{first}”); the rows of one order must agree"
    ]


def test_importing_the_same_file_twice_creates_nothing_new(tenant, customers, order_clerk):
    parsed = imports.parse(imports.decode(EXAMPLE.read_bytes()))
    assert imports.import_orders(parsed, tenant, order_clerk).ok
    first = SalesOrder.objects.get(customer_order="PO-2026-0141")
    SalesOrder.objects.filter(pk=first.pk).update(state=State.SUBMITTED, visma_type="SO", visma_number="000042")
    again = imports.import_orders(parsed, tenant, order_clerk)
    duplicate = f"row 2, column reference: already imported as order {first.reference} / SO 000042"
    assert str(again.problems[0]) == duplicate
    assert len(again.problems) == 2
    assert SalesOrder.objects.count() == 2 and SalesOrderLine.objects.count() == 5


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_imports_of_one_file_create_its_orders_once(tenant, customers, order_clerk):
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from django.db import connection

    parsed = imports.parse(imports.decode(EXAMPLE.read_bytes()))
    start = Barrier(2)

    def run_import(_):
        try:
            start.wait()
            return imports.import_orders(parsed, tenant, order_clerk).ok
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(run_import, range(2)))
    assert outcomes == [False, True]
    assert SalesOrder.objects.count() == 2 and SalesOrderLine.objects.count() == 5


def test_a_cancelled_order_or_another_customers_order_does_not_block_the_reference(tenant, customers):
    SalesOrder.objects.create(tenant=tenant, customer=customers["10000"], customer_order="PO-1", state=State.CANCELLED)
    SalesOrder.objects.create(tenant=tenant, customer=customers["10001"], customer_order="PO-1")
    assert check(make_csv([line()]), tenant).ok


def test_checks_take_the_same_queries_for_5_or_1000_lines_and_import_inserts_in_batches(
    tenant, customers, order_clerk, django_assert_max_num_queries
):
    small = imports.parse(text([line(reference=f"S-{i // 5}", customer="10001") for i in range(5)]))
    rows = [line(reference=f"L-{i // 5}", customer=str(10000 + (i // 5) % 7), quantity=str(i + 1)) for i in range(1000)]
    large = imports.parse(text(rows))
    with django_assert_max_num_queries(2):
        assert imports.validate(small, tenant).ok
    with django_assert_max_num_queries(2):
        assert imports.validate(large, tenant).ok
    # Lock, two lookups, the totals, then inserts in the batches the database allows (SQLite: 999 parameters per
    # statement, so a wider order row takes more batches).
    with django_assert_max_num_queries(6 + insert_batches(SalesOrder, 200) + insert_batches(SalesOrderLine, 1000)):
        plan = imports.import_orders(large, tenant, order_clerk)
    assert plan.ok and SalesOrder.objects.count() == 200 and SalesOrderLine.objects.count() == 1000


def insert_batches(model, count: int) -> int:
    """The INSERT statements `bulk_create` makes for `count` rows of `model` in the import's batches."""
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    size = min(imports.INSERT_BATCH, connection.ops.bulk_batch_size(fields, [None] * count) or count)
    return -(-count // size)


# --- Limits and hostile files -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "The file is empty."),
        (b" \r\n\r\n", "The file is empty."),
        ("Kunde;Kjøpmann\n".encode("latin-1"), "The file is not UTF-8 text (byte 0xF8 on line 1)"),
        ("reference,customer\n".encode("utf-16"), "The file is UTF-16 text"),
        (b"PK\x03\x04\x14\x00\x06\x00rest-of-a-workbook", "This is a spreadsheet workbook, not CSV"),
        (b"reference,customer\x00,x\n", "The file contains binary data"),
    ],
)
def test_unreadable_files_are_refused_with_what_to_do(data, expected):
    assert refused(data).startswith(expected)


def test_missing_and_unknown_columns_are_listed():
    message = refused(b"reference,customer,qty,colour,Inventory ID\nPO-1,10000,1,red,STOCK-100\n")
    assert "row 1: missing required column: quantity" in message
    assert "row 1: unknown columns: qty, colour (the columns are: reference, customer, date," in message


def test_a_column_given_twice_is_refused():
    assert "column given twice: quantity" in refused(b"reference,customer,inventory_id,quantity,quantity\n")


def test_a_header_without_lines_is_refused():
    assert refused(make_csv([])) == "The file has a header row but no order lines."


def test_broken_quoting_is_refused_as_invalid_csv():
    assert refused(
        b'reference,customer,inventory_id,quantity\nPO-0,10000,STOCK-100,1\n"PO-1"x,10000,STOCK-100,1\n'
    ) == ("The file is not valid CSV on line 3: ',' expected after '\"'.")


def test_a_cell_over_the_csv_field_limit_is_refused():
    data = b"reference,customer,inventory_id,quantity\nPO-1,10000,STOCK-100," + b"9" * 200_000 + b"\n"
    assert refused(data) == "The file is not valid CSV on line 2: field larger than field limit (131072)."


def test_values_beyond_the_header_are_a_problem_of_their_row(tenant, customers):
    data = make_csv([line()], columns=FIRST_COLUMNS) + b"PO-1,10000,,,,STOCK-200,,1,,,surplus\r\n"
    assert problems(data, tenant) == ["row 3: value outside the named columns: surplus"]


def test_more_than_50000_lines_are_refused_before_the_rows_are_checked():
    row = b"PO-1,10000,STOCK-100,1\n"
    data = b"reference,customer,inventory_id,quantity\n" + row * (imports.MAX_ROWS + 1)
    assert refused(data) == "The file has more than 50,000 order lines; split it."
    assert len(imports.parse(imports.decode(data[: -len(row)])).rows) == imports.MAX_ROWS


def test_more_than_10_mb_is_refused_before_decoding():
    data = b"reference,customer,inventory_id,quantity\n" + b"x" * imports.MAX_BYTES
    assert refused(data) == "The file is larger than 10 MB; split it."


def test_formula_cells_are_stored_as_typed_and_exported_as_text(tenant, customers, order_clerk):
    rows = [
        line(description='=HYPERLINK("http://evil")', line_description="@SUM(A1:A9)"),
        line(reference="PO-2", inventory_id="+47 STOCK", line_description="-5 % rabatt", quantity="0"),
    ]
    plan = check(make_csv(rows), tenant)
    exported = list(csv.reader(io.StringIO(imports.problems_csv(plan))))
    assert exported[0] == ["row", *HEADER, "problems"]
    assert exported[1][imports.COLUMNS.index("inventory_id") + 1] == "'+47 STOCK"
    assert exported[1][imports.COLUMNS.index("line_description") + 1] == "'-5 % rabatt"
    assert len(exported) == 2
    parsed = imports.parse(text(rows[:1]))
    assert imports.import_orders(parsed, tenant, order_clerk).ok
    order = SalesOrder.objects.get()
    assert order.description == '=HYPERLINK("http://evil")' and order.lines.get().description == "@SUM(A1:A9)"


def test_safe_cell_only_touches_cells_a_spreadsheet_would_evaluate():
    assert [imports.safe_cell(v) for v in ["=1+1", "+1", "-1", "@A1", "\tx", "1-1", "a=b", ""]] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@A1",
        "'\tx",
        "1-1",
        "a=b",
        "",
    ]


# --- The page -----------------------------------------------------------------------------------------------------

URL = reverse("orders:order-import")


def upload(client, tenant, data: bytes, name: str = "orders.csv"):
    return client.post(URL, {"action": "upload", "tenant": tenant.pk, "file": SimpleUploadedFile(name, data)})


def test_page_needs_login_and_the_import_permission(client, viewer_client, clerk_client, tenant):
    response = client.get(URL)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert viewer_client.get(URL).status_code == 403
    assert viewer_client.post(URL).status_code == 403
    assert viewer_client.get(reverse("orders:order-import-example")).status_code == 403
    page = clerk_client.get(URL)
    assert page.status_code == 200
    assert reverse("orders:order-import-example") in page.content.decode()
    assert reverse("orders:order-list") in page.content.decode()


def test_example_download_is_the_example_file(clerk_client):
    response = clerk_client.get(reverse("orders:order-import-example"))
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    assert "attachment" in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == EXAMPLE.read_bytes()


def test_upload_previews_then_imports_as_drafts(clerk_client, tenant, customers, order_clerk):
    preview = upload(clerk_client, tenant, EXAMPLE.read_bytes())
    assert preview.status_code == 200
    page = preview.content.decode()
    assert "The file is valid" in page and "2 orders, 5 lines, total NOK\xa03,577.50" in page
    assert SalesOrder.objects.count() == 0
    token = preview.context["token"]
    response = clerk_client.post(URL, {"action": "import", "token": token, "mode": "draft"}, follow=True)
    assert response.redirect_chain == [(reverse("orders:order-list"), 302)]
    assert "Imported 2 orders, 5 lines, total NOK\xa03,577.50 from orders.csv." in response.content.decode()
    assert set(SalesOrder.objects.values_list("state", "created_by")) == {(State.DRAFT, order_clerk.pk)}
    again = clerk_client.post(URL, {"action": "import", "token": token, "mode": "draft"}, follow=False)
    assert again.status_code == 302 and again.url == URL
    assert SalesOrder.objects.count() == 2


def test_ten_thousand_lines_import_through_the_page_in_batches_not_row_by_row(
    clerk_client, tenant, customers, django_assert_max_num_queries
):
    rows = [
        line(reference=f"BIG-{i // 5}", customer=str(10000 + i // 5 % 7), quantity=f"{i % 9 + 1},5")
        for i in range(10_000)
    ]
    preview = upload(clerk_client, tenant, make_csv(rows, delimiter=";"))
    assert "2,000 orders, 10,000 lines" in preview.content.decode()
    with django_assert_max_num_queries(200):
        response = clerk_client.post(URL, {"action": "import", "token": preview.context["token"], "mode": "draft"})
    assert response.status_code == 302
    assert SalesOrder.objects.count() == 2_000 and SalesOrderLine.objects.count() == 10_000


def test_preview_marks_every_problem_at_its_row_and_column(clerk_client, tenant, customers):
    rows = [line(), line(quantity="-1"), line(reference="PO-2", customer="10008", status="Closed")]
    response = upload(clerk_client, tenant, make_csv(rows))
    assert response.status_code == 200
    page = response.content.decode()
    assert "3 problems</strong> in 2 rows" in page
    assert [(r.number, [c.problems for c in r.cells if c.problems]) for r in response.context["preview_rows"]] == [
        (3, [["must be more than 0"]]),
        (4, [["customer 10008 is OnHold in Visma, not Active"], ["must be Open or Hold, not “Closed”"]]),
    ]
    assert page.count('class="table-danger"') == 3 and "Import 1 order" not in page
    assert SalesOrder.objects.count() == 0


def test_upload_and_import_need_the_csrf_token(order_clerk, tenant, customers):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(order_clerk)
    assert upload(client, tenant, EXAMPLE.read_bytes()).status_code == 403
    assert client.post(URL, {"action": "import", "token": "x", "mode": "draft"}).status_code == 403
    assert SalesOrder.objects.count() == 0


def test_a_superuser_may_import(superuser, tenant, customers):
    from tests.conftest import logged_in

    client = logged_in(superuser)
    preview = upload(client, tenant, EXAMPLE.read_bytes())
    assert client.post(URL, {"action": "import", "token": preview.context["token"], "mode": "draft"}).status_code == 302
    assert SalesOrder.objects.filter(created_by=superuser).count() == 2


def test_rows_with_problems_download_as_csv(clerk_client, tenant, customers):
    data = make_csv([line(line_description="=cmd()", quantity="0")])
    preview = upload(clerk_client, tenant, data, name='week "48".csv')
    response = clerk_client.post(URL, {"action": "problems", "token": preview.context["token"]})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"].startswith("attachment; filename")
    assert "'=cmd()" in response.content.decode() and "quantity: must be more than 0" in response.content.decode()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "The submitted file is empty."),
        ("a;b\n".encode("cp1252") + b"\xe6\n", "The file is not UTF-8 text"),
        (b"ref,who\n1,2\n", "missing required columns: reference, customer, inventory_id, quantity"),
    ],
)
def test_unreadable_uploads_show_the_error_next_to_the_file_field(clerk_client, tenant, data, expected):
    response = upload(clerk_client, tenant, data)
    assert response.status_code == 200
    assert any(expected in error for error in response.context["form"].errors["file"])


def test_an_upload_over_10_mb_is_refused_without_being_kept(clerk_client, tenant, customers):
    response = upload(clerk_client, tenant, b"reference,customer,inventory_id,quantity\n" + b"x" * imports.MAX_BYTES)
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == ["The file is larger than 10 MB; split it."]


def test_a_file_imported_elsewhere_after_the_preview_is_refused_on_import(clerk_client, tenant, customers):
    preview = upload(clerk_client, tenant, EXAMPLE.read_bytes())
    call_command("import_orders", str(EXAMPLE), tenant=str(tenant.tenant_id), stdout=io.StringIO())
    response = clerk_client.post(URL, {"action": "import", "token": preview.context["token"], "mode": "draft"})
    assert response.status_code == 200 and "already imported as order" in response.content.decode()
    assert SalesOrder.objects.count() == 2


def test_a_preview_token_belongs_to_the_user_who_uploaded(clerk_client, tenant, customers, superuser):
    from tests.conftest import logged_in

    preview = upload(clerk_client, tenant, EXAMPLE.read_bytes())
    response = logged_in(superuser).post(URL, {"action": "import", "token": preview.context["token"], "mode": "draft"})
    assert response.status_code == 302 and response.url == URL
    assert SalesOrder.objects.count() == 0


def test_import_and_submit_sends_every_order_to_visma(
    clerk_client, tenant, customers, sandbox, django_capture_on_commit_callbacks
):
    preview = upload(clerk_client, tenant, EXAMPLE.read_bytes())
    assert "Import and submit to Visma" in preview.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = clerk_client.post(URL, {"action": "import", "token": preview.context["token"], "mode": "submit"})
    assert response.status_code == 302
    assert set(SalesOrder.objects.values_list("state", flat=True)) == {State.SUBMITTED}
    sent = sorted(o["body"]["customer"]["order"] for o in sandbox.state.orders())
    assert sent == ["PO-2026-0141", "PO-2026-0142"]


def test_upload_checks_take_the_same_queries_for_5_or_500_lines(
    clerk_client, tenant, customers, django_assert_max_num_queries
):
    small = make_csv([line(reference=f"S-{i}") for i in range(5)])
    large = make_csv([line(reference=f"L-{i // 5}", quantity=str(i + 1)) for i in range(500)])
    with django_assert_max_num_queries(20) as small_queries:
        upload(clerk_client, tenant, small)
    with django_assert_max_num_queries(20) as large_queries:
        upload(clerk_client, tenant, large)
    assert len(large_queries) == len(small_queries)


# --- The command --------------------------------------------------------------------------------------------------


def run(*args: str, stderr: io.StringIO | None = None, **options) -> tuple[str, str]:
    out, err = io.StringIO(), stderr or io.StringIO()
    call_command("import_orders", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def test_command_imports_drafts_and_prints_a_summary(tenant, customers):
    out, _ = run(str(EXAMPLE), tenant=str(tenant.tenant_id))
    assert out.strip() == "Imported 2 orders, 5 lines, total NOK\xa03,577.50; saved as drafts."
    assert SalesOrder.objects.filter(state=State.DRAFT).count() == 2


def test_command_prints_every_problem_and_saves_nothing(tenant, customers, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(make_csv([line(), line(reference="PO-2", customer="404"), line(quantity="1,2,3")]))
    err = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("import_orders", str(path), tenant=str(tenant.tenant_id), stdout=io.StringIO(), stderr=err)
    assert caught.value.returncode == 1
    assert str(caught.value) == "2 problems; nothing was imported."
    assert err.getvalue().splitlines() == [
        "row 3, column customer: no customer 404 in Nordlys Handel AS; sync its customers if it is new in Visma",
        "row 4, column quantity: “1,2,3” is not a number (digits with . or , as the decimal mark, no thousands "
        "separators)",
    ]
    assert SalesOrder.objects.count() == 0


def test_command_dry_run_summarises_without_saving(tenant, customers):
    out, _ = run(str(EXAMPLE), "--dry-run", tenant=str(tenant.tenant_id))
    assert out.strip() == "Dry run: 2 orders, 5 lines, total NOK\xa03,577.50. The file is valid; nothing was saved."
    assert SalesOrder.objects.count() == 0


def test_command_refuses_a_second_import_of_the_same_file(tenant, customers):
    run(str(EXAMPLE), tenant=str(tenant.tenant_id))
    with pytest.raises(CommandError, match="2 problems; nothing was imported"):
        run(str(EXAMPLE), tenant=str(tenant.tenant_id))
    assert SalesOrder.objects.count() == 2


def test_command_submit_queues_the_orders_and_they_reach_visma(
    tenant, customers, sandbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        out, _ = run(str(EXAMPLE), "--submit", tenant=str(tenant.tenant_id))
    assert out.strip() == "Imported 2 orders, 5 lines, total NOK\xa03,577.50; queued for Visma."
    orders = SalesOrder.objects.order_by("pk")
    assert [o.state for o in orders] == [State.SUBMITTED, State.SUBMITTED]
    assert len(sandbox.state.orders()) == 2


def test_command_submit_without_running_tasks_leaves_the_orders_queued(tenant, customers):
    run(str(EXAMPLE), "--submit", tenant=str(tenant.tenant_id))
    order = SalesOrder.objects.order_by("pk").first()
    assert order.state == State.QUEUED and order.next_attempt_at <= timezone.now() + timedelta(seconds=1)


def test_command_refuses_submit_for_a_tenant_without_the_write_scope(tenant, customers):
    tenant.can_write = False
    tenant.save()
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 problem; nothing was imported"):
        run(str(EXAMPLE), "--submit", tenant=str(tenant.tenant_id), stderr=err)
    assert err.getvalue() == "Nordlys Handel AS has not approved the write scope; import the orders as drafts.\n"
    assert SalesOrder.objects.count() == 0


def test_command_refuses_a_deactivated_tenant_even_in_a_dry_run(tenant, customers):
    tenant.active = False
    tenant.save()
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 problem; nothing was imported"):
        run(str(EXAMPLE), "--dry-run", tenant=str(tenant.tenant_id), stderr=err)
    assert err.getvalue() == "Nordlys Handel AS is deactivated; orders cannot be imported for it.\n"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("missing.csv", "--tenant", "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"), "Cannot read missing.csv"),
        ((str(EXAMPLE), "--tenant", "not-a-uuid"), "'not-a-uuid' is not a valid tenant ID"),
        ((str(EXAMPLE), "--tenant", "00000000-0000-4000-8000-000000000000"), "No tenant with tenant ID"),
    ],
)
def test_command_explains_bad_arguments(tenant, args, expected):
    with pytest.raises(CommandError, match=expected):
        run(*args)


def test_command_refuses_an_unreadable_file(tenant, tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("reference;kunde\nPO-1;Kjøpmann\n".encode("latin-1"))
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 problem; nothing was imported"):
        call_command("import_orders", str(path), tenant=str(tenant.tenant_id), stdout=io.StringIO(), stderr=err)
    assert err.getvalue().startswith("The file is not UTF-8 text (byte 0xF8 on line 2)")


# --- Delivery and order type columns ------------------------------------------------------------------------------


def test_the_example_file_carries_location_dates_type_and_a_delivery_address(tenant, customers, order_clerk):
    plan = imports.import_orders(imports.parse(imports.decode(EXAMPLE.read_bytes())), tenant, order_clerk)
    assert plan.ok, plan.problems
    first, second = SalesOrder.objects.order_by("pk")
    assert (first.order_type, first.location_id, str(first.request_on)) == ("SO", "WH2", "2026-12-08")
    assert not first.delivery_line1 and not first.delivery_contact_name
    assert (second.location_id, second.request_on, second.order_type) == ("", None, "SO")
    assert (second.delivery_line1, second.delivery_postal_code, second.delivery_city) == (
        "Kaigaten 4",
        "5003",
        "Bergen",
    )
    assert (second.delivery_country, second.delivery_contact_name) == ("NO", "Kari Nordmann")
    assert (second.delivery_contact_phone, second.delivery_contact_email) == ("+47 55 00 00 00", "kari@example.com")


def test_files_without_the_new_columns_import_as_before_with_the_tenants_first_order_type(tenant, customers):
    tenant.order_types = "SE, SO"
    tenant.save()
    plan = check(make_csv([line(date="2026-12-01")], columns=FIRST_COLUMNS), tenant)
    assert plan.ok, plan.problems
    [order] = plan.orders
    assert order.order_type == "SE" and order.request_on is None and order.location == ""
    assert not any(order.delivery.values()) and order.delivery_summary == ""


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"order_type": "QT"}, "column order_type: Choose one of the order types set up for this tenant: SO."),
        ({"request_on": "08.12.2026"}, "column request_on: “08.12.2026” is not a date in the form YYYY-MM-DD"),
        (
            {"date": "2026-12-01", "request_on": "2026-11-30"},
            "column request_on: The requested delivery date cannot be before the order date.",
        ),
        ({"location": "L" * 31}, "column location: longer than 30 characters (31)"),
        ({"location": "W\tH2"}, "column location: use one line without control characters"),
        (
            {"delivery_line1": "Kaigaten 4"},
            "column delivery_country: Enter the two-letter country code: Visma needs it with a delivery address.",
        ),
        (
            {"delivery_postal_code": "5003", "delivery_country": ""},
            "column delivery_country: Enter the two-letter country code",
        ),
        ({"delivery_country": "Norway"}, "column delivery_country: Use the two-letter country code, e.g. NO."),
        ({"delivery_country": "N\tO"}, "column delivery_country: Use the two-letter country code, e.g. NO."),
        (
            {"delivery_line1": "Kaigaten 4", "delivery_country": "Norway"},
            "column delivery_country: Use the two-letter country code, e.g. NO.",
        ),
        ({"delivery_line1": "x" * 51, "delivery_country": "NO"}, "column delivery_line1: longer than 50 characters"),
        ({"delivery_line2": "x" * 51, "delivery_country": "NO"}, "column delivery_line2: longer than 50 characters"),
        ({"delivery_line3": "x" * 51, "delivery_country": "NO"}, "column delivery_line3: longer than 50 characters"),
        (
            {"delivery_postal_code": "1" * 21, "delivery_country": "NO"},
            "column delivery_postal_code: longer than 20 characters",
        ),
        ({"delivery_city": "c" * 51, "delivery_country": "NO"}, "column delivery_city: longer than 50 characters"),
        ({"delivery_contact_name": "n" * 256}, "column delivery_contact_name: longer than 255 characters"),
        ({"delivery_contact_attention": "a" * 256}, "column delivery_contact_attention: longer than 255 characters"),
        ({"delivery_contact_phone": "1" * 51}, "column delivery_contact_phone: longer than 50 characters"),
        (
            {"delivery_contact_email": "kari at example"},
            "column delivery_contact_email: Enter e-mail addresses like name@example.com, several separated by “;”.",
        ),
        ({"delivery_contact_email": "k@example.com;" * 19}, "column delivery_contact_email: longer than 255"),
    ],
)
def test_each_delivery_column_is_checked_with_the_order_forms_rules(tenant, customers, values, expected):
    found = problems(make_csv([line(**values)]), tenant)
    assert len(found) == 1 and found[0].startswith(f"row 2, {expected}"), found


def test_delivery_values_are_written_as_the_form_writes_them(tenant, customers):
    row = line(
        order_type="so",
        request_on="2026-12-08",
        location="WH2",
        delivery_line1="Kaigaten 4",
        delivery_city="Bergen",
        delivery_country="no",
        delivery_contact_email=" kari@example.com ; lager@example.com ",
    )
    [order] = check(make_csv([row, line(inventory_id="FREIGHT")]), tenant).orders
    assert order.order_type == "SO" and order.delivery_country == "NO" and order.location == "WH2"
    assert order.delivery_contact_email == "kari@example.com;lager@example.com"
    assert order.delivery_summary == "location WH2; Kaigaten 4, Bergen, NO; kari@example.com;lager@example.com"


def test_the_rows_of_one_order_must_agree_on_its_delivery(tenant, customers):
    rows = [
        line(delivery_city="Bergen", delivery_country="NO"),
        line(inventory_id="FREIGHT", delivery_city="Oslo"),
        line(inventory_id="SERV-100", order_type="SO", location="MAIN"),
        line(inventory_id="STOCK-200", location="SHOP"),
    ]
    assert problems(make_csv(rows), tenant) == [
        "row 3, column delivery_city: differs from row 2 of order PO-1 (“Bergen”); the rows of one order must agree",
        "row 5, column location: differs from row 4 of order PO-1 (“MAIN”); the rows of one order must agree",
    ]


def test_the_preview_shows_each_orders_type_and_delivery(clerk_client, tenant, customers):
    page = upload(clerk_client, tenant, EXAMPLE.read_bytes()).content.decode()
    assert '<th scope="col">Type</th>' in page and '<th scope="col">Delivery</th>' in page
    assert "requested 08/12/2026; location WH2</td>" in page
    assert "Kaigaten 4, 5003 Bergen, NO; Kari Nordmann, +47 55 00 00 00, kari@example.com</td>" in page
    assert '<th scope="col" class="mono">delivery_country</th>' in page  # the rows as the file has them
    assert '<td class="mono">delivery_<wbr>country</td><td>with an address</td>' in page  # and the format table


def test_imported_delivery_reaches_visma(clerk_client, tenant, customers, sandbox, django_capture_on_commit_callbacks):
    preview = upload(clerk_client, tenant, EXAMPLE.read_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        clerk_client.post(URL, {"action": "import", "token": preview.context["token"], "mode": "submit"})
    sent = {o["body"]["customer"]["order"]: o["body"] for o in sandbox.state.orders()}
    assert sent["PO-2026-0141"]["customer"]["locationId"] == "WH2"
    assert sent["PO-2026-0141"]["requestOn"] == "2026-12-08T00:00:00"
    assert sent["PO-2026-0142"]["shipping"]["address"] == {
        "line1": "Kaigaten 4",
        "line2": None,
        "line3": None,
        "postalCode": "5003",
        "city": "Bergen",
        "countryId": "NO",
    }
