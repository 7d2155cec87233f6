"""Database guards other apps' migrations reuse."""

from django.db import migrations

REFUSE_CHANGE_FUNCTION = """
CREATE OR REPLACE FUNCTION rally_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'rows of % are append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
"""


def append_only(table):
    """A migration operation making the database refuse UPDATE and DELETE on `table`.

    TRUNCATE stays possible: test teardown flushes tables with it.
    """
    return migrations.RunSQL(
        sql=f"""
        CREATE TRIGGER {table}_append_only
        BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION rally_refuse_change();
        """,
        reverse_sql=f"""
        DROP TRIGGER IF EXISTS {table}_append_only ON {table};
        """,
    )
