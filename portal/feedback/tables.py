"""Client feedback messages; each creates an inbox task for the project lead."""

from piccolo.columns import ForeignKey, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.accounts.tables import ClientUser, StaffMember
from portal.projects.tables import Project, Task
from portal.workspaces.tables import Workspace


class FeedbackMessage(Table, tablename="feedback_message"):
    """The client's words. Its status shown to the client follows ``task``'s status."""

    workspace = ForeignKey(Workspace, index=True, on_delete=OnDelete.cascade, null=False)
    project = ForeignKey(Project, index=True, on_delete=OnDelete.cascade, null=False)
    client_user = ForeignKey(ClientUser, null=True, index=True, on_delete=OnDelete.set_null)
    author_email = Varchar(length=254)
    subject = Varchar(length=200)
    body = Text()
    task = ForeignKey(Task, null=True, index=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())


class FeedbackReply(Table, tablename="feedback_reply"):
    """A staff member's answer to a client's message: meant for the client, shown on their Feedback tab."""

    workspace = ForeignKey(Workspace, index=True, on_delete=OnDelete.cascade, null=False)
    message = ForeignKey(FeedbackMessage, index=True, on_delete=OnDelete.cascade, null=False)
    staff = ForeignKey(StaffMember, null=True, on_delete=OnDelete.set_null)
    author_name = Varchar(length=200, default="")
    body = Text()
    created_at = Timestamptz(default=TimestamptzNow())
