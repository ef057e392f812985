from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T23:04:35:885691"
VERSION = "1.38.0"
DESCRIPTION = "Stripe keys move to the billing area"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="workspaces", description=DESCRIPTION
    )

    manager.drop_column(
        table_class_name="Workspace",
        tablename="workspace",
        column_name="stripe_publishable_key",
        db_column_name="stripe_publishable_key",
        schema=None,
    )

    manager.drop_column(
        table_class_name="Workspace",
        tablename="workspace",
        column_name="stripe_secret_key",
        db_column_name="stripe_secret_key",
        schema=None,
    )

    manager.drop_column(
        table_class_name="Workspace",
        tablename="workspace",
        column_name="stripe_webhook_secret",
        db_column_name="stripe_webhook_secret",
        schema=None,
    )

    return manager
