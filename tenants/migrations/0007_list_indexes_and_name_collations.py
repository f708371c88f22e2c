"""Indexes for the customers and API calls lists' sorts and filters.

Names sort in the portal language's order (core.collation): on SQLite by the collations the portal registers on
every connection, on PostgreSQL by ICU collations when the server has them. Those indexes, and PostgreSQL's
prefix-search index on customer numbers, are made here with SQL for the database at hand."""

from django.db import migrations, models

from core.collation import ENGLISH, NORWEGIAN

COLLATIONS = {"customer_name_nb": NORWEGIAN, "customer_name_en": ENGLISH}


def add_vendor_indexes(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        schema_editor.execute(
            'CREATE INDEX IF NOT EXISTS "customer_number_prefix" ON "tenants_customer" ("number" varchar_pattern_ops)'
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT collname FROM pg_collation")
            known = {row[0] for row in cursor.fetchall()}
        for name, collation in COLLATIONS.items():
            if collation.postgresql in known:
                schema_editor.execute(
                    f'CREATE INDEX IF NOT EXISTS "{name}" ON "tenants_customer" '
                    f'(("name" COLLATE "{collation.postgresql}"), "id") WHERE "removed_at" IS NULL'
                )
    elif connection.vendor == "sqlite":
        for name, collation in COLLATIONS.items():
            schema_editor.execute(
                f'CREATE INDEX IF NOT EXISTS "{name}" ON "tenants_customer" '
                f'("name" COLLATE "{collation.sqlite}", "id") WHERE "removed_at" IS NULL'
            )


def drop_vendor_indexes(apps, schema_editor):
    for name in ["customer_number_prefix", *COLLATIONS]:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0006_customersync_note"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["number", "id"], name="customer_by_number"),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(
                condition=models.Q(removed_at__isnull=True),
                fields=["number", "id"],
                name="customer_in_visma_by_number",
            ),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["status", "id"], name="customer_by_status"),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["last_seen_at", "id"], name="customer_by_last_seen"),
        ),
        migrations.AddIndex(
            model_name="apicall",
            index=models.Index(fields=["duration_ms", "id"], name="apicall_by_duration"),
        ),
        migrations.AddIndex(
            model_name="apicall",
            index=models.Index(fields=["started_at", "id"], name="apicall_by_time"),
        ),
        migrations.RunPython(add_vendor_indexes, drop_vendor_indexes),
    ]
