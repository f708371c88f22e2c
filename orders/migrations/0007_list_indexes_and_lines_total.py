"""Indexes for every filter and sort of the orders list, and each order's stored lines total (filled in here).

PostgreSQL compares text by its collation, so `LIKE 'PO-0999%'` cannot use an ordinary index there: the prefix
searches get indexes with the pattern operator class, on PostgreSQL only (SQLite searches prefixes as ranges of the
plain indexes)."""

from django.db import migrations, models

PATTERN_INDEXES = {
    "order_reference_prefix": "reference",
    "order_customer_order_prefix": "customer_order",
    "order_visma_number_prefix": "visma_number",
}


def fill_lines_totals(apps, schema_editor):
    SalesOrder = apps.get_model("orders", "SalesOrder")
    SalesOrderLine = apps.get_model("orders", "SalesOrderLine")
    amount = models.DecimalField(max_digits=30, decimal_places=8)
    totals = (
        SalesOrderLine.objects.filter(order=models.OuterRef("pk"))
        .order_by()
        .values("order")
        .annotate(total=models.Sum(models.F("quantity") * models.F("unit_price"), output_field=amount))
        .values("total")[:1]
    )
    SalesOrder.objects.update(lines_total=models.Subquery(totals, output_field=amount))


def add_pattern_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in PATTERN_INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "orders_salesorder" ("{column}" varchar_pattern_ops)'
        )


def drop_pattern_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in PATTERN_INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0006_attempt_actor"),
    ]

    operations = [
        migrations.AddField(
            model_name="salesorder",
            name="lines_total",
            field=models.DecimalField(
                blank=True,
                decimal_places=8,
                editable=False,
                help_text="Sum of the priced lines (None when Visma prices every line), kept by orders.totals.",
                max_digits=30,
                null=True,
            ),
        ),
        migrations.RunPython(fill_lines_totals, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="salesorder",
            index=models.Index(fields=["state", "date", "created_at", "id"], name="order_state_by_date"),
        ),
        migrations.AddIndex(
            model_name="salesorder",
            index=models.Index(fields=["tenant", "date", "created_at", "id"], name="order_tenant_by_date"),
        ),
        migrations.AddIndex(
            model_name="salesorder",
            index=models.Index(
                fields=["tenant", "state", "date", "created_at", "id"], name="order_tenant_state_by_date"
            ),
        ),
        migrations.AddIndex(
            model_name="salesorder",
            index=models.Index(fields=["date", "created_at", "id"], name="order_by_date"),
        ),
        migrations.AddIndex(
            model_name="salesorder",
            index=models.Index(fields=["visma_number", "id"], name="order_by_visma_number"),
        ),
        migrations.AddIndex(
            model_name="salesorder",
            index=models.Index(fields=["customer_order", "id"], name="order_by_customer_order"),
        ),
        migrations.AddIndex(
            model_name="salesorder",
            index=models.Index(fields=["lines_total", "id"], name="order_by_total"),
        ),
        migrations.AddIndex(
            model_name="salesorder",
            index=models.Index(fields=["customer", "date", "created_at", "id"], name="order_customer_by_date"),
        ),
        migrations.RunPython(add_pattern_indexes, drop_pattern_indexes),
    ]
