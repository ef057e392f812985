"""The portal's Deliverables tab and detail page: what clients see, and what they never see."""

from __future__ import annotations

import re

import pytest

from portal.db import count_queries
from portal.deliverables.tables import Deliverable
from portal.workspaces.tables import Workspace
from tests.factories import make_deliverable
from tests.fixtures import post_form, sign_in_client

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64


def tab_url(world) -> str:
    return f"/p/acme/projects/{world.project_a}/deliverables"


async def test_tab_shows_the_three_client_statuses_with_their_labels(http, world, settings):
    for title, status in (("Logo A", "ready_for_review"), ("Logo B", "changes_requested"), ("Logo C", "approved")):
        await make_deliverable(settings, world.workspace, world.project_a, title, status)
    await sign_in_client(http, world.workspace, world.alice)
    response = await http.get(tab_url(world))
    assert response.status_code == 200 and response.headers["vary"] == "HX-Request"
    assert response.text.count('data-testid="deliverable-card"') == 3
    for label in ("Ready for review", "Changes requested", "Approved"):
        assert label in response.text
    fragment = await http.get(tab_url(world), headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and fragment.text.count('data-testid="deliverable-card"') == 3


async def test_drafts_and_work_in_progress_never_reach_any_portal_response(http, world, settings):
    visible = await make_deliverable(settings, world.workspace, world.project_a, "Visible logo")
    hidden = {
        "draft": await make_deliverable(settings, world.workspace, world.project_a, "CANARY-draft-4e1f", "draft"),
        "in_progress": await make_deliverable(settings, world.workspace, world.project_a, "CANARY-wip-a93c", "in_progress"),
    }
    await sign_in_client(http, world.workspace, world.alice)
    base = tab_url(world)
    for url in (base, f"{base}/{visible}", "/p/acme/", f"/p/acme/projects/{world.project_a}"):
        for headers in ({}, {"HX-Request": "true"}):
            body = (await http.get(url, headers=headers)).text
            assert "CANARY-" not in body, url
    for deliverable_id in hidden.values():
        assert (await http.get(f"{base}/{deliverable_id}")).status_code == 404
        assert (await http.get(f"{base}/{deliverable_id}/versions/1/file")).status_code == 404
        response = await post_form(http, f"{base}/{deliverable_id}/approve", {"version": "1"})
        assert response.status_code == 404
    assert await Deliverable.count().where(Deliverable.status == "approved") == 0


async def test_the_tab_query_count_does_not_grow_with_deliverables(http, world, settings):
    await make_deliverable(settings, world.workspace, world.project_a, "First")
    await sign_in_client(http, world.workspace, world.alice)
    with count_queries() as few:
        assert (await http.get(tab_url(world))).status_code == 200
    for i in range(12):
        await make_deliverable(settings, world.workspace, world.project_a, f"Extra {i}", "approved")
    with count_queries() as many:
        response = await http.get(tab_url(world))
    assert response.text.count('data-testid="deliverable-card"') == 13
    assert len(many) == len(few), (few, many)


async def test_a_deliverable_of_another_project_is_404_even_with_a_valid_project(http, world, settings):
    carols = await make_deliverable(settings, world.workspace, world.project_b, "Globex logo")
    await sign_in_client(http, world.workspace, world.alice)
    # Alice's own project id in the URL does not open a deliverable of another project.
    assert (await http.get(f"{tab_url(world)}/{carols}")).status_code == 404
    assert (await http.get(f"/p/acme/projects/{world.project_b}/deliverables/{carols}")).status_code == 404


async def test_detail_shows_each_type_inline_or_as_a_download(http, world, settings):
    ids = {
        "image": await make_deliverable(settings, world.workspace, world.project_a, "Poster"),
        "pdf": await make_deliverable(settings, world.workspace, world.project_a, "Guide", content=PDF, filename="g.pdf"),
        "video": await make_deliverable(settings, world.workspace, world.project_a, "Clip", content=MP4, filename="c.mp4"),
        "file": await make_deliverable(settings, world.workspace, world.project_a, "Sheet", content=b"a,b\n1,2\n",
                                       filename="data.csv"),
    }
    await sign_in_client(http, world.workspace, world.alice)
    pages = {kind: (await http.get(f"{tab_url(world)}/{i}")).text for kind, i in ids.items()}
    assert re.search(r'<img src="[^"]+/versions/1/file" alt="Poster, version 1">', pages["image"])
    assert 'data-testid="viewer-pdf"' in pages["pdf"] and "/static/js/pdf-viewer.js" in pages["pdf"]
    # Without JavaScript the PDF is still reachable: a plain download link.
    assert re.search(r'href="[^"]+/versions/1/file\?download=1"', pages["pdf"])
    assert re.search(r'<video src="[^"]+/versions/1/file" controls', pages["video"])
    assert 'data-testid="viewer-file"' in pages["file"] and "<img src" not in pages["file"]
    assert "pdf-viewer.js" not in pages["image"]
    for page in pages.values():
        assert "<script>" not in page and ' style="' not in page  # strict CSP: no inline script or style


async def test_the_detail_shows_history_thread_and_buttons_when_ready(http, world, settings):
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    await sign_in_client(http, world.workspace, world.alice)
    page = (await http.get(f"{tab_url(world)}/{deliverable}")).text
    assert 'data-testid="version-history"' in page and 'data-testid="feedback-thread"' in page
    assert 'data-testid="confirm-approve"' in page and 'data-testid="request-changes"' in page


REVIEW_CONTROLS = ('data-testid="review-actions"', 'data-testid="approve-form"', 'data-testid="confirm-approve"',
                   'data-testid="request-changes-form"', 'data-testid="request-changes"')


async def detail_page(http, url: str) -> str:
    """A real detail page (200, the deliverable rendered), never an error page."""
    response = await http.get(url)
    assert response.status_code == 200, (url, response.text[:300])
    assert 'data-testid="deliverable-detail"' in response.text
    return response.text


def review_controls_in(page: str) -> list[str]:
    return [marker for marker in REVIEW_CONTROLS if marker in page]


@pytest.mark.parametrize("status", ["approved", "changes_requested"])
async def test_a_deliverable_already_decided_offers_no_review(http, world, settings, status):
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster", status)
    await sign_in_client(http, world.workspace, world.alice)
    page = await detail_page(http, f"{tab_url(world)}/{deliverable}")
    assert review_controls_in(page) == []
    assert "waiting for your review" not in page  # nor the pointer to a version under review


async def test_an_earlier_version_offers_no_review_only_a_link_to_the_current_one(http, world, settings):
    from portal.deliverables.tables import DeliverableVersion
    from tests.factories import insert

    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    first = await DeliverableVersion.select().where(DeliverableVersion.deliverable == deliverable).first()
    await insert(DeliverableVersion(**{**{k: v for k, v in first.items() if k != "id"}, "number": 2}))
    await Deliverable.update({Deliverable.current_version: 2}).where(Deliverable.id == deliverable)
    await sign_in_client(http, world.workspace, world.alice)
    url = f"{tab_url(world)}/{deliverable}"

    earlier = await detail_page(http, f"{url}?version=1")
    assert "Version 1 of 2" in earlier and review_controls_in(earlier) == []
    assert "Version 2 is waiting for your review" in earlier
    # The same deliverable at its current version is reviewable: the guard, not the data, hid them.
    current = await detail_page(http, url)
    assert review_controls_in(current) == list(REVIEW_CONTROLS)
    assert 'name="version" value="2"' in current


async def test_starter_plan_is_read_only_and_refuses_decisions(http, world, settings):
    await Workspace.update({Workspace.plan: "starter"}).where(Workspace.id == world.workspace)
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    await sign_in_client(http, world.workspace, world.alice)
    url = f"{tab_url(world)}/{deliverable}"
    page = (await http.get(url)).text
    assert 'data-testid="viewer-image"' in page
    detail = page.split('data-testid="deliverable-detail"')[1].split("</article>")[0]
    assert "<button" not in detail
    assert review_controls_in(page) == []
    assert 'data-testid="read-only-note"' in page
    for action, data in (("approve", {"version": "1"}), ("request-changes", {"version": "1", "comment": "No"})):
        response = await post_form(http, f"{url}/{action}", data)
        assert response.status_code == 403, action
        assert "not included in the Starter plan" in response.text
    assert (await Deliverable.select(Deliverable.status).where(Deliverable.id == deliverable).first())["status"] == (
        "ready_for_review"
    )


async def test_the_detail_query_count_does_not_grow_with_versions_and_feedback(http, world, settings):
    from portal.deliverables.tables import DeliverableComment, DeliverableVersion
    from tests.factories import insert

    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    await sign_in_client(http, world.workspace, world.alice)
    with count_queries() as few:
        assert (await http.get(f"{tab_url(world)}/{deliverable}")).status_code == 200
    first = await DeliverableVersion.select().where(DeliverableVersion.deliverable == deliverable).first()
    for number in range(2, 8):
        fields = {key: value for key, value in first.items() if key != "id"}
        await insert(DeliverableVersion(**{**fields, "number": number}))
        await insert(DeliverableComment(deliverable=deliverable, client_user=world.alice, body=f"Note {number}"))
    await Deliverable.update({Deliverable.current_version: 7}).where(Deliverable.id == deliverable)
    with count_queries() as many:
        response = await http.get(f"{tab_url(world)}/{deliverable}")
    assert response.text.count('data-testid="version-row"') == 7 and "Note 7" in response.text
    assert len(many) == len(few), (few, many)
