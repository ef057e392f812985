"""Stored bytes (content-addressed blobs) and the files shared in projects."""

from piccolo.columns import BigInt, Boolean, ForeignKey, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.accounts.tables import StaffMember
from portal.projects.tables import Project
from portal.workspaces.tables import Workspace


class StoredFile(Table, tablename="stored_file"):
    """One blob of a workspace; the bytes live under data/blobs/<sha256[:2]>/<sha256>."""

    workspace = ForeignKey(Workspace, index=True, on_delete=OnDelete.cascade, null=False)
    sha256 = Varchar(length=64, index=True)
    size = BigInt()
    content_type = Varchar(length=127)
    created_at = Timestamptz(default=TimestamptzNow())
    # A re-encoded thumbnail of an image (its own blob), never the original's bytes;
    # None for anything that is not an image within the pixel limit.
    thumbnail_sha256 = Varchar(length=64, null=True, default=None)
    # PDFs and videos get theirs (the first page, a frame) in the background
    # (``portal.files.previews``): "pending" until made, then "ready" or "failed";
    # "" for anything else.
    preview_status = Varchar(length=10, default="", index=True)
    preview_claimed_at = Timestamptz(null=True, default=None)



class ProjectFile(Table, tablename="project_file"):
    workspace = ForeignKey(Workspace, index=True, on_delete=OnDelete.cascade, null=False)
    project = ForeignKey(Project, index=True, on_delete=OnDelete.cascade, null=False)
    stored_file = ForeignKey(StoredFile, index=True, on_delete=OnDelete.restrict, null=False)
    name = Varchar(length=255)
    shared = Boolean(default=False)
    uploaded_by = ForeignKey(StaffMember, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    deleted_at = Timestamptz(null=True, default=None)
