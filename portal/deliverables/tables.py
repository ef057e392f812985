"""Deliverables, their versions and the client's review decisions and comments."""

from piccolo.columns import BigInt, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.accounts.tables import ClientUser, StaffMember
from portal.files.tables import StoredFile
from portal.projects.tables import Project
from portal.workspaces.tables import Workspace

#: draft and in_progress are internal; the portal shows only the last three.
DELIVERABLE_STATUSES = ("draft", "in_progress", "ready_for_review", "changes_requested", "approved")
CLIENT_VISIBLE_STATUSES = ("ready_for_review", "changes_requested", "approved")
DECISIONS = ("approved", "changes_requested")


class Deliverable(Table, tablename="deliverable"):
    workspace = ForeignKey(Workspace, index=True, on_delete=OnDelete.cascade, null=False)
    project = ForeignKey(Project, index=True, on_delete=OnDelete.cascade, null=False)
    title = Varchar(length=200)
    description = Text(default="")
    status = Varchar(length=20, default="draft", index=True)
    current_version = Integer(default=0)
    created_by = ForeignKey(StaffMember, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    ready_at = Timestamptz(null=True, default=None)
    approved_at = Timestamptz(null=True, default=None)


class DeliverableVersion(Table, tablename="deliverable_version"):
    deliverable = ForeignKey(Deliverable, index=True, on_delete=OnDelete.cascade, null=False)
    number = Integer()
    stored_file = ForeignKey(StoredFile, index=True, on_delete=OnDelete.restrict, null=False)
    content_sha256 = Varchar(length=64)
    filename = Varchar(length=255)
    content_type = Varchar(length=127)
    size = BigInt()
    note = Text(default="")
    uploaded_by = ForeignKey(StaffMember, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())



class ReviewDecision(Table, tablename="review_decision"):
    """A client's approval or change request, pinned to the exact version's bytes.

    One decision per version: the unique column makes concurrent clicks race
    safely to a single winner.
    """

    deliverable = ForeignKey(Deliverable, index=True, on_delete=OnDelete.cascade, null=False)
    version = ForeignKey(DeliverableVersion, unique=True, on_delete=OnDelete.cascade, null=False)
    decision = Varchar(length=20)
    client_user = ForeignKey(ClientUser, null=True, on_delete=OnDelete.set_null)
    actor_email = Varchar(length=254)
    comment = Text(default="")
    content_sha256 = Varchar(length=64)
    ip = Varchar(length=45, default="")
    user_agent = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())



class DeliverableComment(Table, tablename="deliverable_comment"):
    """The review thread a client sees: messages from clients and staff."""

    deliverable = ForeignKey(Deliverable, index=True, on_delete=OnDelete.cascade, null=False)
    version = ForeignKey(DeliverableVersion, null=True, on_delete=OnDelete.set_null)
    client_user = ForeignKey(ClientUser, null=True, on_delete=OnDelete.set_null)
    staff = ForeignKey(StaffMember, null=True, on_delete=OnDelete.set_null)
    body = Text()
    created_at = Timestamptz(default=TimestamptzNow())
