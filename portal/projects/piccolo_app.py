"""Piccolo app of the projects area: its tables and migrations."""

import os

from piccolo.conf.apps import AppConfig

from portal.projects.tables import Milestone, Project, ProjectAccess, Task, TaskComment

APP_CONFIG = AppConfig(
    app_name="projects",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Project, ProjectAccess, Milestone, Task, TaskComment],
    migration_dependencies=["portal.workspaces.piccolo_app", "portal.accounts.piccolo_app"],
    commands=[],
)
