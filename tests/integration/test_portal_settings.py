"""Settings -> Client Portal: the switch and the branding, gated by plan on the server."""

from __future__ import annotations

import re
from pathlib import Path

from portal.accounts.magic import process_sign_in_requests
from portal.mail.tables import OutboxMessage
from portal.workspaces.tables import Workspace
from portal.workspaces.theme import contrast
from tests.factories import make_staff
from tests.fixtures import csrf_token, post_form, sign_in_client, sign_in_staff

LOGO = (Path(__file__).resolve().parents[2] / "portal" / "demo_assets" / "logo.png").read_bytes()


async def save(http, fields: dict, files: dict | None = None):
    if not csrf_token(http):
        await http.get("/healthz")
    data = {"portal_enabled": "on", "welcome_message": "", "accent_color": "#2952cc", "support_email": "",
            "sender_name": "", **fields, "_csrf_token": csrf_token(http)}
    return await http.post("/studio/settings/portal", data=data, files=files or {"logo": ("", b"", "application/octet-stream")})


async def workspace(world) -> dict:
    return await Workspace.select().where(Workspace.id == world.workspace).first()


async def test_branding_is_saved_and_shown_in_the_portal(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    response = await save(http, {"welcome_message": "Hello <b>team</b>\n\nSecond line", "accent_color": "#FFDD00",
                                 "support_email": "Care@Acme.example", "sender_name": "Acme Studio"},
                          {"logo": ("logo.png", LOGO, "image/png")})
    assert response.status_code == 303
    row = await workspace(world)
    assert row["accent_color"] == "#ffdd00" and row["support_email"] == "care@acme.example"
    assert row["portal_logo_type"] == "image/png" and row["sender_name"] == "Acme Studio"
    studio = await http.get("/studio/settings/portal")
    assert '<link rel="icon" href="/static/img/favicon.png' in studio.text  # the studio keeps its own icon
    http.cookies.clear()
    await sign_in_client(http, world.workspace, world.alice)
    home = await http.get("/p/acme/")
    assert "<p>Hello &lt;b&gt;team&lt;/b&gt;</p><p>Second line</p>" in home.text
    assert re.search(r'<link rel="icon" href="/p/acme/logo\?v=\w+">', home.text)  # the agency's logo as its icon
    login = await http.get("/p/acme/login")
    assert re.search(r'<link rel="icon" href="/p/acme/logo\?v=\w+">', login.text)
    assert "care@acme.example" in home.text and "Powered by" not in home.text
    theme = await http.get("/p/acme/theme.css")
    # Yellow is too light for a button on the white page: a darker shade of it, with dark text.
    accent = re.search(r"--accent:(#[0-9a-f]{6});", theme.text).group(1)
    assert accent != "#ffdd00" and contrast(accent, "#ffffff") >= 3 and "--accent-text:#111111" in theme.text
    logo = await http.get("/p/acme/logo")
    assert logo.headers["content-type"] == "image/png"
    # stored re-encoded (a PNG of the same size), not as the uploaded bytes
    from io import BytesIO

    from PIL import Image

    with Image.open(BytesIO(logo.content)) as served, Image.open(BytesIO(LOGO)) as uploaded:
        assert served.format == "PNG" and served.size == uploaded.size


async def test_bad_input_is_explained_and_nothing_is_saved(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    before = await workspace(world)
    response = await save(http, {"welcome_message": "New words", "accent_color": "blue", "support_email": "nope"},
                          {"logo": ("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>", "image/svg+xml")})
    assert response.status_code == 422
    for message in ("Enter a colour like #2952cc.", "Enter an email address like", "PNG, JPEG, GIF or WebP"):
        assert message in response.text
    assert "New words" in response.text  # what was typed is kept in the form
    assert await workspace(world) == before


async def test_starter_plan_gets_partial_branding_only(http, world):
    await Workspace.update({Workspace.plan: "starter"}).where(Workspace.id == world.workspace)
    await sign_in_staff(http, world.workspace, world.staff)
    page = await http.get("/studio/settings/portal")
    assert 'name="accent_color"' not in page.text and "Growth and Scale" in page.text
    response = await save(http, {"welcome_message": "Hi", "accent_color": "#ff0000", "support_email": "x@y.example"})
    assert response.status_code == 303
    row = await workspace(world)
    assert row["welcome_message"] == "Hi" and row["accent_color"] != "#ff0000" and row["support_email"] == "help@acme.example"
    http.cookies.clear()
    await sign_in_client(http, world.workspace, world.alice)
    assert "Powered by" in (await http.get("/p/acme/")).text


async def test_members_cannot_change_settings(http, world):
    member = await make_staff(world.workspace, "mia@acme.example", role="member")
    await sign_in_staff(http, world.workspace, member)
    response = await save(http, {"portal_enabled": ""})
    assert response.status_code == 403
    assert (await workspace(world))["portal_enabled"] is True


async def test_switching_the_portal_off_closes_it_and_stops_client_email(http, world, settings):
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await save(http, {"portal_enabled": ""})).status_code == 303
    http.cookies.clear()
    assert (await http.get("/p/acme/login")).status_code == 503
    response = await post_form(http, "/p/acme/login", {"email": "alice@northwind.example"})
    assert response.status_code == 503
    await process_sign_in_requests(settings)
    assert await OutboxMessage.count() == 0


async def test_a_too_light_accent_is_explained_and_the_theme_url_changes_with_it(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    before = re.search(r'href="(/p/acme/theme\.css\?v=\w+)"', (await http.get("/p/acme/login")).text).group(1)
    assert (await save(http, {"accent_color": "#f2f2f2"})).status_code == 303
    settings_page = (await http.get("/studio/settings/portal")).text
    assert "#f2f2f2 is too light to stand out on the page" in settings_page
    after = re.search(r'href="(/p/acme/theme\.css\?v=\w+)"', (await http.get("/p/acme/login")).text).group(1)
    assert after != before
    theme = (await http.get(after)).text
    accent = re.search(r"--accent:(#[0-9a-f]{6});", theme).group(1)
    text = re.search(r"--accent-text:(#[0-9a-f]{6});", theme).group(1)
    ink = re.search(r"--accent-ink:(#[0-9a-f]{6});", theme).group(1)
    assert min(contrast(accent, "#ffffff"), contrast(accent, "#f6f7f9")) >= 3
    assert contrast(accent, text) >= 4.5 and contrast(ink, "#ffffff") >= 4.5
    assert (await save(http, {"accent_color": "#2952cc"})).status_code == 303
    assert "too light" not in (await http.get("/studio/settings/portal")).text
