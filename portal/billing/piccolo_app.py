"""Piccolo app of the billing area: its tables and migrations."""

import os

from piccolo.conf.apps import AppConfig

from portal.billing.tables import (
    BillingProfile,
    Invoice,
    InvoiceLine,
    InvoiceNumbering,
    Payment,
    StripeAccount,
    StripeEvent,
)

APP_CONFIG = AppConfig(
    app_name="billing",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Invoice, InvoiceLine, InvoiceNumbering, Payment, StripeAccount, StripeEvent, BillingProfile],
    migration_dependencies=["portal.workspaces.piccolo_app", "portal.projects.piccolo_app"],
    commands=[],
)
