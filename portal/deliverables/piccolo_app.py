"""Piccolo app of the deliverables area: its tables and migrations."""

import os

from piccolo.conf.apps import AppConfig

from portal.deliverables.tables import Deliverable, DeliverableComment, DeliverableVersion, ReviewDecision

APP_CONFIG = AppConfig(
    app_name="deliverables",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Deliverable, DeliverableVersion, ReviewDecision, DeliverableComment],
    migration_dependencies=["portal.workspaces.piccolo_app", "portal.accounts.piccolo_app", "portal.projects.piccolo_app", "portal.files.piccolo_app"],
    commands=[],
)
