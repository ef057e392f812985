"""Piccolo app of the workspaces area: its tables and migrations."""

import os

from piccolo.conf.apps import AppConfig

from portal.workspaces.tables import Workspace

APP_CONFIG = AppConfig(
    app_name="workspaces",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Workspace],
    migration_dependencies=[],
    commands=[],
)
