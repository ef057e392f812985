"""Audit events: who did what, when and from where."""

from piccolo.columns import ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.workspaces.tables import Workspace


class AuditEvent(Table, tablename="audit_event"):
    workspace = ForeignKey(Workspace, null=True, index=True, on_delete=OnDelete.cascade)
    actor_kind = Varchar(length=16)  # staff, client, system, anonymous
    actor_id = Integer(null=True, default=None)
    actor_email = Varchar(length=254, default="")
    action = Varchar(length=64, index=True)
    target_type = Varchar(length=40, default="")
    target_id = Integer(null=True, default=None)
    ip = Varchar(length=45, default="")
    user_agent = Text(default="")
    detail = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
