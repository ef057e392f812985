"""Workspaces: one agency each, with its plan, portal switch, branding and domain."""

from piccolo.columns import Boolean, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

PLANS = ("starter", "growth", "scale")
DOMAIN_STATES = ("none", "pending", "verified", "failed")


class Workspace(Table, tablename="workspace"):
    slug = Varchar(length=63, unique=True, index=True)
    name = Varchar(length=200)
    plan = Varchar(length=16, default="starter")
    portal_enabled = Boolean(default=True)
    # Branding. The logo is a content hash in the blob store (see portal.files.storage).
    portal_logo_sha256 = Varchar(length=64, null=True, default=None)
    portal_logo_type = Varchar(length=64, null=True, default=None)
    accent_color = Varchar(length=7, default="#2952cc")
    welcome_message = Text(default="")
    support_email = Varchar(length=254, default="")
    sender_name = Varchar(length=200, default="")
    # Custom domain: the portal answers on it once the CNAME is verified.
    custom_domain = Varchar(length=253, null=True, default=None, unique=True, index=True)
    domain_status = Varchar(length=16, default="none")
    domain_checked_at = Timestamptz(null=True, default=None)
    domain_verified_at = Timestamptz(null=True, default=None)
    domain_error = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
