"""The portal settings' rules, field by field: what is cleaned, what is refused and with
which message, the logo's limits, and the audit event of a change."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import pytest

from portal.accounts.sessions import Principal
from portal.audit.tables import AuditEvent
from portal.errors import Forbidden, Invalid
from portal.files.tables import StoredFile
from portal.workspaces.branding import (
    LOGO_MAX_BYTES,
    WELCOME_MAX,
    PortalSettingsForm,
    clean_text,
    require_admin,
    validate_settings,
)
from portal.workspaces.tables import Workspace
from tests.factories import make_staff, make_workspace
from tests.fixtures import csrf_token, sign_in_staff

LOGO = (Path(__file__).resolve().parents[2] / "portal" / "demo_assets" / "logo.png").read_bytes()


def form(**fields) -> PortalSettingsForm:
    return PortalSettingsForm(**{"portal_enabled": "on", "accent_color": "#2952cc", **fields})


def errors_of(plan: str = "growth", **fields) -> dict:
    with pytest.raises(Invalid) as refused:
        validate_settings(form(**fields), plan)
    return refused.value.errors


def png_of_size(size: int) -> bytes:
    """A valid 1 x 1 PNG padded with a text chunk to exactly ``size`` bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    head = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    tail = chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b"")
    filler = size - len(head) - len(tail) - 12
    return head + chunk(b"tEXt", b"c\x00" + b"x" * (filler - 2)) + tail


def test_clean_text_drops_control_characters_and_unifies_line_endings():
    assert clean_text("a\x00b\x07c\x1fd\x7fe", 100) == "abcde"
    assert clean_text("one\r\ntwo\rthree\nfour", 100) == "one\ntwo\nthree\nfour"
    assert clean_text("  padded\t\n", 100) == "padded"
    assert clean_text("", 10) == "" and clean_text(None, 10) == ""
    assert clean_text("abcdef", 3) == "abc"


def test_only_owners_and_admins_change_the_settings():
    for role in ("owner", "admin"):
        require_admin(Principal(kind="staff", user_id=1, workspace_id=1, email="a@x", name="", session_id=1, role=role))
    member = Principal(kind="staff", user_id=1, workspace_id=1, email="a@x", name="", session_id=1, role="member")
    with pytest.raises(Forbidden) as refused:
        require_admin(member)
    assert refused.value.message == "Only owners and admins can change the client portal settings."


def test_the_welcome_message_may_be_exactly_the_limit_and_not_longer():
    values = validate_settings(form(welcome_message="w" * WELCOME_MAX), "starter")
    assert values[Workspace.welcome_message] == "w" * WELCOME_MAX
    assert errors_of("starter", welcome_message="w" * (WELCOME_MAX + 1)) == {
        "welcome_message": f"Keep the welcome message under {WELCOME_MAX} characters."}


def test_each_branding_field_has_its_own_message():
    assert errors_of(accent_color="blue", support_email="nope", sender_name="A <b>") == {
        "accent_color": "Enter a colour like #2952cc.",
        "support_email": "Enter an email address like help@agency.com, or leave it empty.",
        "sender_name": "Use a short name without < > or quotes.",
    }
    assert errors_of(accent_color="") == {"accent_color": "Enter a colour like #2952cc."}


@pytest.mark.parametrize("sender", ["Acme <", "Acme >", 'Acme "Studio"', "s" * 201])
def test_a_sender_name_with_markup_characters_or_too_long_is_refused(sender):
    assert errors_of(sender_name=sender) == {"sender_name": "Use a short name without < > or quotes."}


def test_a_sender_name_of_200_characters_on_two_lines_is_one_line():
    values = validate_settings(form(sender_name="s" * 100 + "\r\n" + "t" * 99), "growth")
    assert values[Workspace.sender_name] == "s" * 100 + " " + "t" * 99
    assert len(values[Workspace.sender_name]) == 200


async def save(http, files: dict | None = None, **fields):
    if not csrf_token(http):
        await http.get("/healthz")
    data = {"portal_enabled": "on", "welcome_message": "", "accent_color": "#2952cc", "support_email": "",
            "sender_name": "", **fields, "_csrf_token": csrf_token(http)}
    return await http.post("/studio/settings/portal", data=data,
                           files=files or {"logo": ("", b"", "application/octet-stream")})


async def test_the_settings_are_read_and_written_for_the_staff_members_own_workspace(http, db):
    # an older workspace on a plan without full branding comes first in the table
    await make_workspace("aaa", "First", plan="starter")
    mine = await make_workspace("acme", "Acme", plan="growth")
    owner = await make_staff(mine, "owner@acme.example")
    await sign_in_staff(http, mine, owner)
    response = await save(http, accent_color="#112233")
    assert response.status_code == 303
    rows = {row["slug"]: row for row in await Workspace.select()}
    assert rows["acme"]["accent_color"] == "#112233" and rows["aaa"]["accent_color"] != "#112233"


async def test_an_empty_logo_file_changes_nothing(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    response = await save(http, {"logo": ("logo.png", b"", "image/png")})
    assert response.status_code == 303
    row = await Workspace.select().where(Workspace.id == world.workspace).first()
    assert row["portal_logo_sha256"] is None


@pytest.mark.parametrize(("name", "data", "message"), [
    ("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "Upload the logo as a PNG, JPEG, GIF or WebP image."),
    ("logo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "The logo could not be read as an image: upload a PNG, JPEG, GIF or WebP file."),
    ("logo.png", png_of_size(LOGO_MAX_BYTES + 1), "The logo must be smaller than 2 MB."),
])
async def test_a_refused_logo_is_explained(http, world, name, data, message):
    await sign_in_staff(http, world.workspace, world.staff)
    response = await save(http, {"logo": (name, data, "image/png")})
    assert response.status_code == 422
    assert message in response.text
    assert await StoredFile.count() == 0


async def test_a_logo_of_exactly_2_mb_is_accepted_and_stored_without_a_thumbnail(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    response = await save(http, {"logo": ("logo.png", png_of_size(LOGO_MAX_BYTES), "image/png")})
    assert response.status_code == 303
    row = await Workspace.select().where(Workspace.id == world.workspace).first()
    stored = await StoredFile.select().where(StoredFile.sha256 == row["portal_logo_sha256"]).first()
    assert stored["content_type"] == "image/png" and stored["thumbnail_sha256"] is None
    assert await StoredFile.count() == 1


async def test_a_change_is_audited_with_who_where_and_what(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    response = await save(http, {"logo": ("logo.png", LOGO, "image/png")}, portal_enabled="")
    assert response.status_code == 303
    events = await AuditEvent.select().where(AuditEvent.action == "portal_settings_changed")
    assert len(events) == 1
    event = events[0]
    assert (event["workspace"], event["actor_kind"], event["actor_id"]) == (world.workspace, "staff", world.staff)
    assert event["ip"] and event["user_agent"].startswith("python-httpx")
    assert json.loads(event["detail"]) == {"portal_enabled": False, "logo_changed": True}
    await save(http)
    latest = await AuditEvent.select().where(AuditEvent.action == "portal_settings_changed").order_by(
        AuditEvent.id, ascending=False).first()
    assert json.loads(latest["detail"]) == {"portal_enabled": True, "logo_changed": False}
