"""Error pages: in the workspace's branding on its portal, leading back where the visitor belongs."""

from __future__ import annotations

import re

import pytest

from portal.workspaces.tables import Workspace
from tests.factories import make_staff, make_workspace
from tests.fixtures import sign_in_client, sign_in_staff


def start_link(page: str) -> str:
    return re.search(r'href="([^"]*)" data-testid="start-page"', page).group(1)


@pytest.mark.parametrize("path", ["/projects/{project}", "/projects/{project}/billing/999", "/no/such/page"])
async def test_a_portal_404_wears_the_workspace_and_leads_to_the_portal_home(http, world, path):
    await make_workspace("globex-agency", "Globex Agency")
    await Workspace.update({Workspace.accent_color: "#0f766e"}).where(Workspace.id == world.workspace)
    await sign_in_client(http, world.workspace, world.carol)
    response = await http.get("/p/acme" + path.format(project=world.project_a))
    assert response.status_code == 404
    page = response.text
    assert "<title>Page not found · Acme Agency" in page and 'data-testid="portal-header"' in page
    assert start_link(page) == "/p/acme/" and "/studio" not in start_link(page)
    assert "help@acme.example" in page and "/p/acme/theme.css" in page
    assert "Globex Agency" not in page and "Northwind" not in page


async def test_signed_out_the_portal_404_is_branded_too(http, world):
    response = await http.get("/p/acme/whatever")
    assert response.status_code == 404 and start_link(response.text) == "/p/acme/"
    assert "Acme Agency" in response.text


async def test_an_unknown_workspace_gets_the_plain_page(http, world):
    response = await http.get("/p/nobody-here/projects/1")
    assert response.status_code == 404
    assert "Acme Agency" not in response.text and start_link(response.text) == "/"


async def test_studio_errors_lead_back_to_the_studio(http, world):
    member = await make_staff(world.workspace, "mia@acme.example", role="member")
    await sign_in_staff(http, world.workspace, member)
    forbidden = await http.get("/studio/outbox")
    assert forbidden.status_code == 403 and start_link(forbidden.text) == "/studio/"
    missing = await http.get("/studio/projects/999999")
    assert missing.status_code == 404 and start_link(missing.text) == "/studio/"
    assert 'data-testid="portal-header"' not in missing.text
