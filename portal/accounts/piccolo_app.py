"""Piccolo app of the accounts area: its tables and migrations."""

import os

from piccolo.conf.apps import AppConfig

from portal.accounts.tables import (
    ClientOrganisation,
    ClientUser,
    LoginToken,
    RateLimitHit,
    SignInRequest,
    StaffMember,
    UserSession,
)

APP_CONFIG = AppConfig(
    app_name="accounts",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[StaffMember, ClientOrganisation, ClientUser, LoginToken, UserSession, RateLimitHit,
                   SignInRequest],
    migration_dependencies=["portal.workspaces.piccolo_app"],
    commands=[],
)
