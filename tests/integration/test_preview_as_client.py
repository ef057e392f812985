"""Preview as client: staff see the portal exactly as one client would, and change nothing."""

from __future__ import annotations

from portal.audit.tables import AuditEvent
from portal.deliverables.tables import ReviewDecision
from portal.projects.tables import Task
from tests.factories import make_client, make_deliverable, make_file, make_staff, make_workspace
from tests.fixtures import post_form, sign_in_client, sign_in_staff


async def test_the_preview_shows_the_clients_own_pages(app, http, world, settings):
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Homepage design")
    await make_file(settings, world.workspace, world.project_a, "Brief.png")
    # What alice herself sees, page by page...
    await sign_in_client(http, world.workspace, world.alice)
    pages = ["/", f"/projects/{world.project_a}", f"/projects/{world.project_a}/deliverables",
             f"/projects/{world.project_a}/deliverables/{deliverable}", f"/projects/{world.project_a}/files",
             f"/projects/{world.project_a}/billing", f"/projects/{world.project_a}/feedback"]
    own = {page: (await http.get(f"/p/acme{page}")).text for page in pages}
    http.cookies.clear()
    # ...is what the preview shows, with its links kept inside the preview.
    await sign_in_staff(http, world.workspace, world.staff)
    base = f"/studio/preview/{world.alice}"
    for page in pages:
        response = await http.get(base + page)
        assert response.status_code == 200, page
        assert 'data-testid="preview-bar"' in response.text and "Alice Andrews" in response.text
        assert '<fieldset class="preview-frame" disabled>' in response.text
        assert "Globex rebrand" not in response.text  # carol's project: not alice's to see
        assert f'href="{base}/projects/{world.project_a}/deliverables"' in response.text or page == "/"
    assert "Northwind website" in (await http.get(base + "/")).text
    assert "Homepage design" in own[f"/projects/{world.project_a}/deliverables"]
    assert "Homepage design" in (await http.get(f"{base}/projects/{world.project_a}/deliverables")).text
    # the theme and logo the pages use are served in the preview too (no failed request)
    assert (await http.get(f"{base}/theme.css")).status_code == 200


async def test_nothing_in_the_preview_changes_anything_or_speaks_for_the_client(app, http, world, settings):
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Homepage design")
    file_id = await make_file(settings, world.workspace, world.project_a, "Brief.png")
    await sign_in_staff(http, world.workspace, world.staff)
    base = f"/studio/preview/{world.alice}/projects/{world.project_a}"
    # POST routes are not mounted: approving or sending feedback is impossible.
    for url in (f"{base}/deliverables/{deliverable}/approve", f"{base}/feedback", "/studio/preview/1/logout"):
        assert (await post_form(http, url, {"version": 1, "subject": "x", "message": "y"})).status_code in (404, 405)
    assert await ReviewDecision.count() == 0 and await Task.count().where(Task.kind == "inbox") == 0
    # A download in the preview is not recorded as alice's; the preview is recorded as olivia's.
    assert (await http.get(f"{base}/files/{file_id}/download")).status_code == 200
    events = await AuditEvent.select(AuditEvent.action, AuditEvent.actor_kind, AuditEvent.actor_id, AuditEvent.target_id)
    assert not [e for e in events if e["actor_kind"] == "client"]
    previews = [e for e in events if e["action"] == "client_previewed"]
    assert previews and all(e["actor_kind"] == "staff" and e["actor_id"] == world.staff and e["target_id"] == world.alice
                            for e in previews)


async def test_only_staff_of_the_clients_workspace_can_preview(app, http, world):
    other = await make_workspace("other", "Other Agency")
    mallory = await make_staff(other, "mallory@other.example")
    await sign_in_staff(http, other, mallory)
    assert (await http.get(f"/studio/preview/{world.alice}/")).status_code == 404
    assert (await http.get(f"/studio/preview/{world.alice}/projects/{world.project_a}")).status_code == 404
    http.cookies.clear()
    # a client cannot preview anyone, not even themselves
    await sign_in_client(http, world.workspace, world.alice)
    response = await http.get(f"/studio/preview/{world.carol}/")
    assert response.status_code == 303 and response.headers["location"] == "/studio/login"
    http.cookies.clear()
    # a preview of a client shows only that client's projects, even to the workspace owner
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await http.get(f"/studio/preview/{world.carol}/projects/{world.project_a}")).status_code == 404
    stranger = await make_client(other, world.org_a, "x@other.example")  # a client user of another workspace
    assert (await http.get(f"/studio/preview/{stranger}/")).status_code == 404


async def test_the_access_tab_offers_a_preview_per_client(app, http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    page = await http.get(f"/studio/projects/{world.project_a}/access")
    assert f'href="/studio/preview/{world.alice}/projects/{world.project_a}"' in page.text
