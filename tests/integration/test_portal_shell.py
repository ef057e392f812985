"""The portal shell: signing in with a link, the home page and the Progress tab."""

from __future__ import annotations

from tests.fixtures import sign_in_client


async def test_home_lists_only_the_clients_projects(http, world):
    await sign_in_client(http, world.workspace, world.alice)
    response = await http.get("/p/acme/")
    assert response.status_code == 200
    assert "Northwind website" in response.text
    assert "Globex rebrand" not in response.text
    # No logo set: the default icon, which is really served (no failed request in the browser).
    assert '<link rel="icon" href="/static/img/favicon.png' in response.text
    icon = await http.get(response.text.split('<link rel="icon" href="')[1].split('"')[0])
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/png"


async def test_project_opens_on_progress_as_page_and_fragment(http, world):
    await sign_in_client(http, world.alice and world.workspace, world.alice)
    full = await http.get(f"/p/acme/projects/{world.project_a}")
    assert full.status_code == 200
    assert "<html" in full.text and 'data-testid="progress-tab"' in full.text
    assert full.headers["vary"] == "HX-Request"
    fragment = await http.get(f"/p/acme/projects/{world.project_a}", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and 'data-testid="progress-tab"' in fragment.text
    assert fragment.headers["vary"] == "HX-Request"
    restore = await http.get(
        f"/p/acme/projects/{world.project_a}", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restore.text
