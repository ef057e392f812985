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
    # The project the event is about, where the recorder named one (detail project_id or
    # project, or a project target): the Activity page's project filter. Not a foreign
    # key: the trail outlives a deleted project.
    project = Integer(null=True, default=None, index=True)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
