"""Projects, the client access grants to them, milestones and internal tasks."""

from piccolo.columns import Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.accounts.tables import ClientOrganisation, ClientUser, StaffMember
from portal.workspaces.tables import Workspace

PROJECT_STATUSES = ("planning", "active", "on_hold", "completed", "cancelled")
TASK_STATUSES = ("todo", "in_progress", "done", "cancelled")
TASK_KINDS = ("work", "inbox")


class Project(Table, tablename="project"):
    workspace = ForeignKey(Workspace, index=True, on_delete=OnDelete.cascade, null=False)
    organisation = ForeignKey(ClientOrganisation, index=True, on_delete=OnDelete.restrict, null=False)
    lead = ForeignKey(StaffMember, null=True, index=True, on_delete=OnDelete.set_null)
    name = Varchar(length=200)
    description = Text(default="")
    status = Varchar(length=16, default="active")
    start_date = Date(null=True, default=None)
    due_date = Date(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    #: Set when staff archive the project: hidden from the studio's list, read-only there.
    #: Clients' pages do not change.
    archived_at = Timestamptz(null=True, default=None)


class ProjectAccess(Table, tablename="project_access"):
    """A client user's access to one project: optional expiry, revocable."""

    workspace = ForeignKey(Workspace, index=True, on_delete=OnDelete.cascade, null=False)
    project = ForeignKey(Project, index=True, on_delete=OnDelete.cascade, null=False)
    client_user = ForeignKey(ClientUser, index=True, on_delete=OnDelete.cascade, null=False)
    expires_on = Date(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    invited_by = ForeignKey(StaffMember, null=True, on_delete=OnDelete.set_null)
    invited_at = Timestamptz(default=TimestamptzNow())
    accepted_at = Timestamptz(null=True, default=None)



class Milestone(Table, tablename="milestone"):
    project = ForeignKey(Project, index=True, on_delete=OnDelete.cascade, null=False)
    name = Varchar(length=200)
    due_date = Date(null=True, default=None)
    completed_at = Timestamptz(null=True, default=None)
    position = Integer(default=0)


class Task(Table, tablename="task"):
    """Internal work. Never rendered in the portal; progress is computed from it.

    ``kind='inbox'`` tasks are created from client feedback for the project lead and do
    not count towards progress.
    """

    workspace = ForeignKey(Workspace, index=True, on_delete=OnDelete.cascade, null=False)
    project = ForeignKey(Project, index=True, on_delete=OnDelete.cascade, null=False)
    milestone = ForeignKey(Milestone, null=True, index=True, on_delete=OnDelete.set_null)
    kind = Varchar(length=8, default="work")
    title = Varchar(length=300)
    details = Text(default="")
    status = Varchar(length=16, default="todo")
    assignee = ForeignKey(StaffMember, null=True, index=True, on_delete=OnDelete.set_null)
    due_date = Date(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    completed_at = Timestamptz(null=True, default=None)


class TaskComment(Table, tablename="task_comment"):
    """Team talk on a task: internal only."""

    task = ForeignKey(Task, index=True, on_delete=OnDelete.cascade, null=False)
    author = ForeignKey(StaffMember, null=True, on_delete=OnDelete.set_null)
    body = Text()
    created_at = Timestamptz(default=TimestamptzNow())
