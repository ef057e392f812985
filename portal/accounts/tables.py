"""People and their ways in: staff, client organisations and users, tokens, sessions."""

from piccolo.columns import Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.workspaces.tables import Workspace

STAFF_ROLES = ("owner", "admin", "member")
#: The roles that manage the workspace: its team, settings and emails.
MANAGERS = ("owner", "admin")
TOKEN_PURPOSES = ("login", "invite")
SIGN_IN_AREAS = ("portal", "studio")


class StaffMember(Table, tablename="staff_member"):
    workspace = ForeignKey(Workspace, index=True, on_delete=OnDelete.cascade, null=False)
    email = Varchar(length=254, index=True)
    name = Varchar(length=200, default="")
    role = Varchar(length=16, default="member")
    active = Boolean(default=True)
    oidc_issuer = Varchar(length=255, null=True, default=None)
    oidc_subject = Varchar(length=255, null=True, default=None, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    last_login_at = Timestamptz(null=True, default=None)



class ClientOrganisation(Table, tablename="client_organisation"):
    workspace = ForeignKey(Workspace, index=True, on_delete=OnDelete.cascade, null=False)
    name = Varchar(length=200)
    created_at = Timestamptz(default=TimestamptzNow())
    #: Set when the studio archives the client: hidden from the clients list by default
    #: and not offered for new projects; grants and people are left as they are.
    archived_at = Timestamptz(null=True, default=None)


class ClientUser(Table, tablename="client_user"):
    workspace = ForeignKey(Workspace, index=True, on_delete=OnDelete.cascade, null=False)
    organisation = ForeignKey(ClientOrganisation, index=True, on_delete=OnDelete.cascade, null=False)
    email = Varchar(length=254, index=True)
    name = Varchar(length=200, default="")
    active = Boolean(default=True)
    oidc_issuer = Varchar(length=255, null=True, default=None)
    oidc_subject = Varchar(length=255, null=True, default=None, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    last_login_at = Timestamptz(null=True, default=None)



class LoginToken(Table, tablename="login_token"):
    """A magic-link or invite token; only its SHA-256 is stored."""

    workspace = ForeignKey(Workspace, index=True, on_delete=OnDelete.cascade, null=False)
    token_hash = Varchar(length=64, unique=True, index=True)
    purpose = Varchar(length=16, default="login")
    staff = ForeignKey(StaffMember, null=True, index=True, on_delete=OnDelete.cascade)
    client_user = ForeignKey(ClientUser, null=True, index=True, on_delete=OnDelete.cascade)
    #: The project a client invite is for (None for login links and staff invites). A
    #: plain integer, not a foreign key: ``portal.projects.tables`` imports this module
    #: and the projects migrations run after the accounts ones, so a reference to the
    #: ``project`` table could be neither imported here nor created by this app.
    project_id = Integer(null=True, default=None, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)


class UserSession(Table, tablename="user_session"):
    """A signed-in browser; the cookie holds a random id, the row its SHA-256."""

    id_hash = Varchar(length=64, unique=True, index=True)
    workspace = ForeignKey(Workspace, index=True, on_delete=OnDelete.cascade, null=False)
    staff = ForeignKey(StaffMember, null=True, index=True, on_delete=OnDelete.cascade)
    client_user = ForeignKey(ClientUser, null=True, index=True, on_delete=OnDelete.cascade)
    created_at = Timestamptz(default=TimestamptzNow())
    last_seen_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    ip = Varchar(length=45, default="")
    user_agent = Text(default="")


class RateLimitHit(Table, tablename="rate_limit_hit"):
    """One counted attempt (link request, redemption) under a key such as ``ip:1.2.3.4``.

    Kept in the database, not in process memory, so limits hold across worker processes.
    """

    key = Varchar(length=300, index=True)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)


class SignInRequest(Table, tablename="sign_in_request"):
    """An emailed-link request from a sign-in form, turned into a token and email later.

    The form only inserts this row (the same work for every email, known or not, so the
    answer's timing reveals nothing); the background worker claims it atomically, looks
    the email up and queues the email (``portal.accounts.magic``).
    """

    area = Varchar(length=8)  # "portal" | "studio"
    workspace = ForeignKey(Workspace, null=True, index=True, on_delete=OnDelete.cascade)
    email = Varchar(length=254)
    created_at = Timestamptz(default=TimestamptzNow())
    processed_at = Timestamptz(null=True, default=None, index=True)
