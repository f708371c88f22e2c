"""The customers list finds names by any part of them ("kunde 99" finds "Bench kunde 990") from an index.

PostgreSQL: a trigram GIN index (pg_trgm) on the upper-cased name, which answers the `icontains` lookup
(`UPPER(name) LIKE UPPER('%…%')`). Creating the extension needs the right to; without it the migration says so and
goes on without the index (the search then scans, as before).

SQLite: an FTS5 table with the trigram tokenizer over the customers' names (external content, kept by triggers on
insert, rename and delete, so the sync's upserts and the admin need nothing of their own). Its rowid is the
customer's id; `tenants.customer_listing.search` matches it for three characters or more.
"""

import sys

from django.db import migrations

SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE customer_name_search USING fts5("
    "name, content='tenants_customer', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER customer_name_search_insert AFTER INSERT ON tenants_customer BEGIN "
    "INSERT INTO customer_name_search(rowid, name) VALUES (new.id, new.name); END",
    "CREATE TRIGGER customer_name_search_delete AFTER DELETE ON tenants_customer BEGIN "
    "INSERT INTO customer_name_search(customer_name_search, rowid, name) VALUES ('delete', old.id, old.name); END",
    "CREATE TRIGGER customer_name_search_rename AFTER UPDATE OF name ON tenants_customer BEGIN "
    "INSERT INTO customer_name_search(customer_name_search, rowid, name) VALUES ('delete', old.id, old.name); "
    "INSERT INTO customer_name_search(rowid, name) VALUES (new.id, new.name); END",
    "INSERT INTO customer_name_search(customer_name_search) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS customer_name_search_rename",
    "DROP TRIGGER IF EXISTS customer_name_search_delete",
    "DROP TRIGGER IF EXISTS customer_name_search_insert",
    "DROP TABLE IF EXISTS customer_name_search",
]
POSTGRES_INDEX = (
    'CREATE INDEX IF NOT EXISTS "customer_name_trigram" ON "tenants_customer" '
    'USING gin ((UPPER("name"::text)) gin_trgm_ops)'
)


def add_search_index(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)
    elif connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SAVEPOINT customer_name_trigram")
            try:
                cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            except Exception as error:  # noqa: BLE001 - any refusal (no right, not installed) means no index
                cursor.execute("ROLLBACK TO SAVEPOINT customer_name_trigram")
                print(
                    "\n  tenants 0012: the PostgreSQL extension pg_trgm could not be created "
                    f"({str(error).strip()}); the customers list's name search works without an index "
                    "(it scans). Ask the database owner to run CREATE EXTENSION pg_trgm, then migrate "
                    "tenants 0011 and 0012 again.",
                    file=sys.stderr,
                )
                return
            cursor.execute("RELEASE SAVEPOINT customer_name_trigram")
        schema_editor.execute(POSTGRES_INDEX)


def drop_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)
    elif schema_editor.connection.vendor == "postgresql":
        schema_editor.execute('DROP INDEX IF EXISTS "customer_name_trigram"')


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0011_customer_number_help_without_backticks"),
    ]

    operations = [migrations.RunPython(add_search_index, drop_search_index)]
