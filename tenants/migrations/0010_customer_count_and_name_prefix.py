"""The customers list counts customers still in Visma from an index; the orders search finds customers by the start
of their name, which PostgreSQL answers from an index with the pattern operator class (SQLite from customer_name)."""

from django.db import migrations, models


def add_name_prefix_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            'CREATE INDEX IF NOT EXISTS "customer_name_prefix" ON "tenants_customer" ("name" varchar_pattern_ops)'
        )


def drop_name_prefix_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute('DROP INDEX IF EXISTS "customer_name_prefix"')


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0009_customersync_deferred"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["removed_at"], name="customer_removed"),
        ),
        migrations.RunPython(add_name_prefix_index, drop_name_prefix_index),
    ]
