"""Order import from CSV: decode and parse a file, validate every row against the tenant's data, create the orders.

One row per order line; rows with the same `reference` (the customer's order number, `SalesOrder.customer_order`)
form one order. Nothing is saved unless every row is valid. The work is done in bulk: customers and existing
references are loaded a chunk of values at a time, and orders and lines are written with `bulk_create` in one
transaction, so a 10,000-line file costs a few dozen queries, not one per row.

Row numbers are the ones a spreadsheet shows: the header is row 1, the first order line row 2.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import islice

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.money import currency_of, format_money
from core.validators import has_control_characters
from tenants.models import Customer, Tenant

from . import delivery
from .models import SalesOrder, SalesOrderLine
from .numbers import parse_decimal
from .totals import recount as recount_totals

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
MAX_COLUMNS = 100  # room for the known columns and a spreadsheet's empty ones; a longer header is refused unread
COLUMNS = (
    "reference",
    "customer",
    "date",
    "description",
    "status",
    "order_type",
    "request_on",
    "location",
    *delivery.DELIVERY_FIELDS,
    "inventory_id",
    "line_description",
    "quantity",
    "unit_price",
    "tax_category",
)
REQUIRED_COLUMNS = ("reference", "customer", "inventory_id", "quantity")
ORDER_COLUMNS = (
    "customer",
    "date",
    "description",
    "status",
    "order_type",
    "request_on",
    "location",
    *delivery.DELIVERY_FIELDS,
)
# Order columns read as text (each within its length, on one line); of these, some are then checked as the form does.
TEXT_COLUMNS = ("customer", "description", "location", *delivery.DELIVERY_FIELDS)
CLEANED_COLUMNS = {"delivery_country": delivery.clean_country, "delivery_contact_email": delivery.clean_emails}
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
LOOKUP_CHUNK = 900  # values per `IN (...)` lookup; SQLite allows 999 parameters per statement
INSERT_BATCH = 1000

_order_field = SalesOrder._meta.get_field
_line_field = SalesOrderLine._meta.get_field
MAX_LENGTHS = {
    "reference": _order_field("customer_order").max_length,
    "customer": Customer._meta.get_field("number").max_length,
    "description": _order_field("description").max_length,
    "inventory_id": _line_field("inventory_id").max_length,
    "line_description": _line_field("description").max_length,
    "tax_category": _line_field("tax_category").max_length,
    "location": _order_field("location_id").max_length,
    # The country's length is its format: two letters (delivery.clean_country says so, as in the order form).
    **{name: _order_field(name).max_length for name in delivery.DELIVERY_FIELDS if name != "delivery_country"},
}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file, at a row and column when it has one."""

    message: str
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = [f"row {self.row}"] if self.row else []
        if self.column:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class ImportRefused(Exception):
    """The file as a whole cannot be read (size, encoding, header, row limit); rows were not looked at."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


@dataclass
class Row:
    number: int
    values: dict[str, str]
    extra: list[str] = field(default_factory=list)  # values beyond the header, or under a nameless column


@dataclass
class ParsedFile:
    columns: list[str]
    rows: list[Row]
    delimiter: str


@dataclass
class PlannedLine:
    row: int
    inventory_id: str
    description: str
    quantity: Decimal
    unit_price: Decimal | None
    tax_category: str

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.unit_price if self.unit_price is not None else Decimal(0)


@dataclass
class PlannedOrder:
    reference: str
    first_row: int
    customer_number: str = ""
    customer: Customer | None = None
    date: date | None = None
    description: str = ""
    status: str = ""
    order_type: str = ""
    request_on: date | None = None
    location: str = ""
    delivery_line1: str = ""
    delivery_line2: str = ""
    delivery_line3: str = ""
    delivery_postal_code: str = ""
    delivery_city: str = ""
    delivery_country: str = ""
    delivery_contact_name: str = ""
    delivery_contact_attention: str = ""
    delivery_contact_phone: str = ""
    delivery_contact_email: str = ""
    lines: list[PlannedLine] = field(default_factory=list)
    given: dict[str, int] = field(default_factory=dict)  # order column -> row that first gave it
    refused: set[str] = field(default_factory=set)  # order columns with a value refused on some row
    currency: str = ""  # the customer's, else the tenant's default (core.money.currency_of)

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))

    @property
    def delivery(self) -> dict[str, str]:
        """The delivery address and contact given for the order, by the model's field names."""
        return {name: getattr(self, name) for name in delivery.DELIVERY_FIELDS}

    @property
    def delivery_summary(self) -> str:
        """The preview's words for where the order goes: location, address and contact as given."""
        values = self.delivery
        place = " ".join(v for v in (values["delivery_postal_code"], values["delivery_city"]) if v)
        lines = [values[f"delivery_line{n}"] for n in (1, 2, 3)]
        address = ", ".join(v for v in (*lines, place, values["delivery_country"]) if v)
        contact = ", ".join(values[name] for name in delivery.CONTACT_FIELDS if values[name])
        parts = [f"location {self.location}" if self.location else "", address, contact]
        return "; ".join(part for part in parts if part)


@dataclass
class ImportPlan:
    """What a file would create, and everything wrong with it. `ok` means it can be imported as it is."""

    parsed: ParsedFile
    orders: list[PlannedOrder]
    problems: list[Problem]
    created: list[SalesOrder] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def line_count(self) -> int:
        return sum(len(order.lines) for order in self.orders)

    @property
    def total(self) -> Decimal:
        return sum((order.total for order in self.orders), Decimal(0))

    @property
    def totals_by_currency(self) -> dict[str, Decimal]:
        """Amounts in different currencies are never added up: one total per currency, in order of appearance."""
        totals: dict[str, Decimal] = {}
        for order in self.orders:
            totals[order.currency] = totals.get(order.currency, Decimal(0)) + order.total
        return totals

    @property
    def summary(self) -> str:
        orders, lines = len(self.orders), self.line_count
        totals = " + ".join(format_money(total, code) for code, total in self.totals_by_currency.items())
        return (
            f"{orders:,} order{'s' if orders != 1 else ''}, {lines:,} line{'s' if lines != 1 else ''}, "
            f"total {totals or format_money(0, '')}"
        )

    def problems_by_row(self) -> dict[int, list[Problem]]:
        found: dict[int, list[Problem]] = {}
        for problem in self.problems:
            if problem.row:
                found.setdefault(problem.row, []).append(problem)
        return found

    @property
    def file_problems(self) -> list[Problem]:
        return [p for p in self.problems if not p.row]

    def preview(self, limit: int) -> list[PreviewRow]:
        """The rows to show: those with problems when there are any, else the first ones; each cell with its own."""
        by_row = self.problems_by_row()
        rows = [r for r in self.parsed.rows if r.number in by_row] if by_row else self.parsed.rows
        shown = []
        for row in rows[:limit]:
            problems = by_row.get(row.number, [])
            cells = [
                PreviewCell(row.values.get(c, ""), [p.message for p in problems if p.column == c])
                for c in self.parsed.columns
            ]
            shown.append(PreviewRow(row.number, cells, [p.message for p in problems if not p.column]))
        return shown


@dataclass
class PreviewCell:
    value: str
    problems: list[str]


@dataclass
class PreviewRow:
    number: int
    cells: list[PreviewCell]
    problems: list[str]


# --- Reading the file -------------------------------------------------------------------------------------------


def decode(data: bytes) -> str:
    """The file's text: UTF-8 with or without a BOM. Anything else is refused with what to do about it."""
    if len(data) > MAX_BYTES:
        raise ImportRefused([Problem(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it.")])
    if not data.strip():
        raise ImportRefused([Problem("The file is empty.")])
    if data.startswith(b"PK\x03\x04"):
        raise ImportRefused([Problem("This is a spreadsheet workbook, not CSV. Save it as “CSV UTF-8” and try again.")])
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportRefused([Problem("The file is UTF-16 text. Save it as “CSV UTF-8” and try again.")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportRefused(
            [
                Problem(
                    f"The file is not UTF-8 text (byte 0x{data[exc.start]:02X} on line {line}). "
                    "Save it as “CSV UTF-8” and try again."
                )
            ]
        ) from None
    if "\x00" in text:
        raise ImportRefused([Problem("The file contains binary data, not CSV text.")])
    return text


def sniff_delimiter(text: str) -> str:
    """Semicolon or comma, whichever the header line uses more (Excel in many European locales writes `;`)."""
    header = text.lstrip("\r\n").split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def normalise_column(name: str) -> str:
    return re.sub(r"[\s-]+", "_", name.strip().lower())


def parse(text: str) -> ParsedFile:
    """Split the text into rows by column name. Stops reading at the first row over `MAX_ROWS`."""
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records = enumerate(reader, start=1)
    try:
        header_number, header = next(((n, r) for n, r in records if any(c.strip() for c in r)), (0, []))
        if not header:
            raise ImportRefused([Problem("The file has no header row.")])
        if len(header) > MAX_COLUMNS:
            raise ImportRefused(
                [
                    Problem(
                        f"the header has {len(header):,} columns, more than the {MAX_COLUMNS} a file may have "
                        f"(the columns are: {', '.join(COLUMNS)})",
                        header_number,
                    )
                ]
            )
        columns = [normalise_column(name) for name in header]
        _check_header(columns, header_number)
        rows = list(_rows(records, columns))
    except csv.Error as exc:
        raise ImportRefused([Problem(f"The file is not valid CSV on line {reader.line_num}: {exc}.")]) from None
    if not rows:
        raise ImportRefused([Problem("The file has a header row but no order lines.")])
    return ParsedFile(columns=[c for c in columns if c], rows=rows, delimiter=delimiter)


def _check_header(columns: list[str], row: int) -> None:
    problems = []
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        problems.append(Problem(f"missing required column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}", row))
    unknown = list(dict.fromkeys(c for c in columns if c and c not in COLUMNS))
    if unknown:
        problems.append(
            Problem(
                f"unknown column{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)} "
                f"(the columns are: {', '.join(COLUMNS)})",
                row,
            )
        )
    repeated = sorted(c for c, count in Counter(columns).items() if c and count > 1)
    if repeated:
        problems.append(Problem(f"column{'s' if len(repeated) > 1 else ''} given twice: {', '.join(repeated)}", row))
    if problems:
        raise ImportRefused(problems)


def _rows(records: Iterator[tuple[int, list[str]]], columns: list[str]) -> Iterator[Row]:
    count = 0
    for number, record in records:
        if not any(cell.strip() for cell in record):
            continue
        count += 1
        if count > MAX_ROWS:
            raise ImportRefused([Problem(f"The file has more than {MAX_ROWS:,} order lines; split it.")])
        row = Row(number=number, values={})
        for index, cell in enumerate(record):
            name = columns[index] if index < len(columns) else ""
            if name:
                row.values[name] = cell.strip()
            elif cell.strip():
                row.extra.append(cell.strip())
        yield row


# --- Validating -------------------------------------------------------------------------------------------------


def validate(parsed: ParsedFile, tenant: Tenant, today: date | None = None) -> ImportPlan:
    """Check every row and group the rows into orders. Database reads are a few bulk lookups, whatever the size."""
    today = today or timezone.localdate()
    problems: list[Problem] = []
    orders: dict[str, PlannedOrder] = {}
    order_types = tenant.order_type_choices
    for row in parsed.rows:
        problems.extend(_check_row(row, orders, order_types))
    customers = _customers(tenant, {o.customer_number for o in orders.values() if o.customer_number})
    for order in orders.values():
        order.date = order.date or today
        order.order_type = order.order_type or order_types[0]
        problems.extend(_delivery_problems(order))
        if not order.customer_number:
            continue
        order.customer = customers.get(order.customer_number)
        order.currency = currency_of(order.customer, tenant)
        problem = _customer_problem(order.customer, order.customer_number, tenant)
        if problem:
            problems.append(Problem(problem, order.first_row, "customer"))
            order.customer = None
    known = [o for o in orders.values() if o.customer is not None]
    taken = _existing_orders([(o.customer.pk, o.reference) for o in known])
    for order in known:
        existing = taken.get((order.customer.pk, order.reference))
        if existing:
            label = existing.reference + (f" / {existing.visma_label}" if existing.visma_number else "")
            problems.append(Problem(f"already imported as order {label}", order.first_row, "reference"))
    problems.sort(key=lambda p: (p.row or 0, COLUMNS.index(p.column) if p.column in COLUMNS else -1))
    if not tenant.active:
        problems.insert(0, Problem(f"{tenant.name} is deactivated; orders cannot be imported for it."))
    return ImportPlan(parsed=parsed, orders=list(orders.values()), problems=problems)


def _delivery_problems(order: PlannedOrder) -> list[Problem]:
    """What the order form also refuses once an order's rows are together: a requested date before the order date,
    an address without a country."""
    problems = []
    if problem := delivery.request_on_problem(order.request_on, order.date):
        problems.append(Problem(problem, order.given["request_on"], "request_on"))
    if delivery.country_missing(order.delivery) and "delivery_country" not in order.refused:
        row = min(order.given[name] for name in delivery.ADDRESS_FIELDS if name in order.given)
        problems.append(Problem(delivery.COUNTRY_REQUIRED, row, "delivery_country"))
    return problems


def _check_row(row: Row, orders: dict[str, PlannedOrder], order_types: list[str]) -> list[Problem]:
    values, number = row.values, row.number
    problems = [Problem(f"value outside the named columns: {', '.join(row.extra)}", number)] if row.extra else []

    def bad(column: str, message: str) -> None:
        problems.append(Problem(message, number, column))

    for column in REQUIRED_COLUMNS:
        if not values.get(column):
            bad(column, "required")
    for column, limit in MAX_LENGTHS.items():
        if len(values.get(column, "")) > limit:
            bad(column, f"longer than {limit} characters ({len(values[column])})")
        elif has_control_characters(values.get(column, "")):
            bad(column, "use one line without control characters (line breaks, tabs and the like)")

    header: dict[str, object] = {
        column: values[column]
        for column in TEXT_COLUMNS
        if values.get(column)
        and len(values[column]) <= MAX_LENGTHS.get(column, len(values[column]))
        and not has_control_characters(values[column])
    }
    for column in ("date", "request_on"):
        if values.get(column):
            try:
                header[column] = parse_date(values[column])
            except ValueError as exc:
                bad(column, str(exc))
    refused: set[str] = set()
    for column, clean in CLEANED_COLUMNS.items():
        # A column without a length here (the country) has its cleaner check all of it, control characters too.
        value = header.get(column) if column in MAX_LENGTHS else values.get(column)
        if not value:
            continue
        try:
            header[column] = clean(value)
        except ValidationError as exc:
            header.pop(column, None)
            refused.add(column)
            bad(column, exc.messages[0])
    if values.get("order_type"):
        order_type = values["order_type"].upper()
        if problem := delivery.order_type_problem(order_type, order_types):
            bad("order_type", problem)
        else:
            header["order_type"] = order_type
    if values.get("status"):
        status = next((s for s in SalesOrder.InitialStatus.values if s.lower() == values["status"].lower()), None)
        if status:
            header["status"] = status
        else:
            bad("status", f"must be {' or '.join(SalesOrder.InitialStatus.values)}, not “{values['status']}”")
    quantity = unit_price = None
    if values.get("quantity"):
        try:
            quantity = _amount(values["quantity"], "quantity")
            if quantity <= 0:
                bad("quantity", "must be more than 0")
        except ValueError as exc:
            bad("quantity", str(exc))
    if values.get("unit_price"):
        try:
            unit_price = _amount(values["unit_price"], "unit_price")
            if unit_price < 0:
                bad("unit_price", "cannot be negative (as in the order form)")
        except ValueError as exc:
            bad("unit_price", str(exc))

    reference = values.get("reference", "")
    if not reference or len(reference) > MAX_LENGTHS["reference"]:
        return problems
    order = orders.get(reference)
    if order is None:
        order = orders[reference] = PlannedOrder(reference, number, status=SalesOrder.InitialStatus.OPEN)
    order.refused |= refused
    for column, value in header.items():
        attribute = "customer_number" if column == "customer" else column
        if column in order.given and getattr(order, attribute) != value:
            bad(
                column,
                f"differs from row {order.given[column]} of order {reference} (“{getattr(order, attribute)}”); "
                "the rows of one order must agree",
            )
        elif column not in order.given:
            setattr(order, attribute, value)
            order.given[column] = number
    if quantity is not None and values.get("inventory_id"):
        order.lines.append(
            PlannedLine(
                row=number,
                inventory_id=values["inventory_id"],
                description=values.get("line_description", ""),
                quantity=quantity,
                unit_price=unit_price,
                tax_category=values.get("tax_category", ""),
            )
        )
    return problems


def _amount(raw: str, name: str) -> Decimal:
    """A quantity or price read as the order form reads it, within what the line's column holds."""
    column = _line_field(name)
    return parse_decimal(raw, max_digits=column.max_digits, places=column.decimal_places)


def parse_date(raw: str) -> date:
    if _ISO_DATE.fullmatch(raw.strip()):
        try:
            return date.fromisoformat(raw.strip())
        except ValueError:
            pass
    raise ValueError(f"“{raw}” is not a date in the form YYYY-MM-DD")


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    iterator = iter(values)
    while chunk := list(islice(iterator, LOOKUP_CHUNK)):
        yield chunk


def _customers(tenant: Tenant, numbers: set[str]) -> dict[str, Customer]:
    found: dict[str, Customer] = {}
    for chunk in _chunks(sorted(numbers)):
        for customer in Customer.objects.filter(tenant=tenant, number__in=chunk).only(
            "pk", "tenant_id", "number", "name", "status", "removed_at", "currency"
        ):
            found[customer.number] = customer
    return found


def _existing_orders(pairs: list[tuple[int, str]]) -> dict[tuple[int, str], SalesOrder]:
    """Orders already carrying one of these (customer, customer's order number) pairs, cancelled ones aside.

    Looked up a chunk of pairs at a time on the (customer, customer_order) index; the chunk's customers and
    references are matched as a cross product, so only exact pairs are kept.
    """
    found: dict[tuple[int, str], SalesOrder] = {}
    wanted = set(pairs)
    for start in range(0, len(pairs), LOOKUP_CHUNK // 2):
        chunk = pairs[start : start + LOOKUP_CHUNK // 2]
        for order in (
            SalesOrder.objects.filter(customer_id__in={c for c, _ in chunk}, customer_order__in={r for _, r in chunk})
            .exclude(state=SalesOrder.State.CANCELLED)
            .only("pk", "customer_id", "customer_order", "reference", "visma_type", "visma_number")
            .order_by("pk")
        ):
            key = (order.customer_id, order.customer_order)
            if key in wanted:
                found.setdefault(key, order)
    return found


def _customer_problem(customer: Customer | None, number: str, tenant: Tenant) -> str:
    if customer is None:
        return f"no customer {number} in {tenant.name}; sync its customers if it is new in Visma"
    if customer.removed_at is not None:
        return f"customer {number} was removed in Visma"
    if not customer.is_active:
        return f"customer {number} is {customer.status or 'without a status'} in Visma, not Active"
    return ""


# --- Creating ---------------------------------------------------------------------------------------------------


def import_orders(parsed: ParsedFile, tenant: Tenant, user=None, *, submit: bool = False) -> ImportPlan:
    """Validate and create in one transaction: all orders or none.

    The tenant row is locked first, so two imports of the same file (a double click, two staff members) run one
    after the other and the second finds the first one's references taken. With `submit` the orders are created
    already queued, the state `services.queue` would give them, and one task enqueues them after commit.
    """
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        plan = validate(parsed, tenant)
        if submit and not tenant.can_write:
            plan.problems.insert(
                0, Problem(f"{tenant.name} has not approved the write scope; import the orders as drafts.")
            )
        if plan.ok:
            plan.created = _create(plan, tenant, user, submit=submit)
            if submit:
                order_ids = [order.pk for order in plan.created]
                transaction.on_commit(lambda: _enqueue_later(order_ids), robust=True)
    return plan


def _create(plan: ImportPlan, tenant: Tenant, user, *, submit: bool) -> list[SalesOrder]:
    now = timezone.now()
    state = SalesOrder.State.QUEUED if submit else SalesOrder.State.DRAFT
    orders = [
        SalesOrder(
            tenant=tenant,
            customer=planned.customer,
            date=planned.date,
            description=planned.description,
            customer_order=planned.reference,
            status=planned.status,
            order_type=planned.order_type,
            request_on=planned.request_on,
            location_id=planned.location,
            **planned.delivery,
            state=state,
            created_by=user,
            submitted_by=user if submit else None,
            next_attempt_at=now if submit else None,
        )
        for planned in plan.orders
    ]
    SalesOrder.objects.bulk_create(orders, batch_size=INSERT_BATCH)
    SalesOrderLine.objects.bulk_create(
        (
            SalesOrderLine(
                order=order,
                position=position,
                inventory_id=line.inventory_id,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                tax_category=line.tax_category,
            )
            for order, planned in zip(orders, plan.orders, strict=True)
            for position, line in enumerate(planned.lines, start=1)
        ),
        batch_size=INSERT_BATCH,
    )
    recount_totals(order.pk for order in orders)
    return orders


def _enqueue_later(order_ids: list[int]) -> None:
    """One task fans the imported orders out to the submission task, so the upload stays quick."""
    from django_q.tasks import async_task

    async_task("orders.tasks.enqueue_orders", order_ids, task_name=f"import-{order_ids[0]}", group="orders")


# --- Writing a CSV back -----------------------------------------------------------------------------------------


def safe_cell(value: str) -> str:
    """A cell a spreadsheet shows as text: a leading `=`, `+`, `-`, `@` would otherwise start a formula."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def problems_csv(plan: ImportPlan) -> str:
    """The rows with problems, as the file had them, plus a `problems` column; every cell safe to open."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=plan.parsed.delimiter, lineterminator="\r\n")
    columns = plan.parsed.columns
    writer.writerow(["row", *columns, "problems"])
    by_row = plan.problems_by_row()
    general = [str(p) for p in plan.problems if not p.row]
    if general:
        writer.writerow(["", *([""] * len(columns)), safe_cell("; ".join(general))])
    for row in plan.parsed.rows:
        if row.number in by_row:
            messages = "; ".join(f"{p.column}: {p.message}" if p.column else p.message for p in by_row[row.number])
            writer.writerow(
                [str(row.number), *(safe_cell(row.values.get(c, "")) for c in columns), safe_cell(messages)]
            )
    return out.getvalue()
