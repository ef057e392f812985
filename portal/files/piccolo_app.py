"""Piccolo app of the files area: its tables and migrations."""

import os

from piccolo.conf.apps import AppConfig

from portal.files.tables import ProjectFile, StoredFile

APP_CONFIG = AppConfig(
    app_name="files",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[StoredFile, ProjectFile],
    migration_dependencies=["portal.workspaces.piccolo_app", "portal.accounts.piccolo_app", "portal.projects.piccolo_app"],
    commands=[],
)
