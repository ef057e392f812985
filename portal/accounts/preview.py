"""Preview as client: staff see a project's portal pages exactly as one client would.

The preview builds the client's ``Principal`` (marked ``previewed_by``) without any
session, and the portal's own GET routes render it, with the same client view objects;
``portal.web.preview`` mounts them under /studio/preview/{client_user_id}. Nothing is
recorded in the client's name (``audit.record`` skips a previewed actor); each preview
page is recorded as the staff member's ``client_previewed``.
"""

from __future__ import annotations

from litestar import Request

from portal.accounts.sessions import Principal
from portal.accounts.tables import ClientUser
from portal.audit.services import record
from portal.errors import NotFound


async def previewable_client(staff: Principal, client_user_id: int) -> dict:
    """The active client ``client_user_id`` of the staff member's workspace; 404 for
    anyone else (another workspace's client, a removed one)."""
    row = await ClientUser.select(ClientUser.id, ClientUser.email, ClientUser.name).where(
        (ClientUser.id == client_user_id) & (ClientUser.workspace == staff.workspace_id)
        & (ClientUser.active == True)  # noqa: E712
    ).first()
    if row is None:
        raise NotFound()
    return row


async def preview_principal(request: Request, staff: Principal, client_user_id: int) -> Principal:
    """That client as the portal sees them (recorded as a preview by ``staff``)."""
    row = await previewable_client(staff, client_user_id)
    await record("client_previewed", workspace_id=staff.workspace_id, actor=staff, request=request,
                 target_type="client_user", target_id=row["id"], path=request.url.path)
    return Principal(kind="client", user_id=row["id"], workspace_id=staff.workspace_id, email=row["email"],
                     name=row["name"], session_id=0, workspace_name=staff.workspace_name,
                     workspace_slug=staff.workspace_slug, previewed_by=staff.user_id)
