from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-03T12:36:55:991788"
VERSION = "1.38.0"
DESCRIPTION = "previews of PDFs and videos"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="files", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="StoredFile",
        tablename="stored_file",
        column_name="preview_claimed_at",
        db_column_name="preview_claimed_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="StoredFile",
        tablename="stored_file",
        column_name="preview_status",
        db_column_name="preview_status",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 10,
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": True,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
