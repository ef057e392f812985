"""Piccolo app of the feedback area: its tables and migrations."""

import os

from piccolo.conf.apps import AppConfig

from portal.feedback.tables import FeedbackMessage, FeedbackReply

APP_CONFIG = AppConfig(
    app_name="feedback",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[FeedbackMessage, FeedbackReply],
    migration_dependencies=["portal.workspaces.piccolo_app", "portal.accounts.piccolo_app", "portal.projects.piccolo_app"],
    commands=[],
)
