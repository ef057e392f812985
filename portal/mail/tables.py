"""The email outbox: every message is a row first, sent by a worker afterwards."""

from piccolo.columns import ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.workspaces.tables import Workspace

OUTBOX_STATUSES = ("pending", "sending", "sent", "failed", "logged")


class OutboxMessage(Table, tablename="outbox_message"):
    workspace = ForeignKey(Workspace, null=True, index=True, on_delete=OnDelete.cascade)
    to_address = Varchar(length=254)
    from_name = Varchar(length=200, default="")
    subject = Varchar(length=300)
    text_body = Text()
    html_body = Text(default="")
    kind = Varchar(length=40, default="")
    status = Varchar(length=16, default="pending", index=True)
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(default=TimestamptzNow(), index=True)
    claimed_by = Varchar(length=64, null=True, default=None)
    claimed_at = Timestamptz(null=True, default=None)
    last_error = Text(default="")
    sent_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class ScheduledRun(Table, tablename="scheduled_run"):
    """When a job of the installation (not of one workspace) is next due, shared by every
    process and replica: the one whose conditional update moves ``next_due_at`` runs it
    (``portal.mail.schedule``)."""

    name = Varchar(length=64, unique=True)
    next_due_at = Timestamptz()
    last_started_at = Timestamptz(null=True, default=None)
    last_started_by = Varchar(length=64, default="")
