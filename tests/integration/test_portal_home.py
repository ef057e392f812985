"""The portal home's summary: what waits for the client's review, what is due, the next deadline."""

from __future__ import annotations

import re

from tests.factories import make_deliverable, make_invoice, make_milestone, make_workspace
from tests.fixtures import sign_in_client


def summary(page: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}">(.*?)</li>\s*(?=<li class="summary__item|</ul>\s*</section>)', page, re.S)
    return match.group(1) if match else ""


async def test_the_summary_links_what_needs_alice_and_nothing_of_carols(http, settings, world):
    a = world.project_a
    logo = await make_deliverable(settings, world.workspace, a, "Logo concepts")
    await make_deliverable(settings, world.workspace, a, "Draft moodboard", status="draft")
    await make_deliverable(settings, world.workspace, world.project_b, "Globex poster")
    overdue = await make_invoice(world.workspace, a, "INV-1", "sent", due_in_days=-5, lines=(("Design", "1", 50000),))
    await make_invoice(world.workspace, a, "INV-2", "sent", due_in_days=10, lines=(("Build", "1", 25000),))
    await make_invoice(world.workspace, a, "INV-3", "paid")
    await make_invoice(world.workspace, a, "INV-4", "draft")
    await make_invoice(world.workspace, world.project_b, "G-1", "sent", lines=(("Poster", "1", 99900),))
    await make_milestone(a, "Homepage sign-off", due_in_days=3)
    await make_milestone(world.project_b, "Globex launch", due_in_days=1)
    await sign_in_client(http, world.workspace, world.alice)

    page = (await http.get("/p/acme/")).text

    review = summary(page, "summary-review")
    assert "1 deliverable" in review and f'href="/p/acme/projects/{a}/deliverables/{logo}"' in review
    assert "Draft moodboard" not in page and "Globex" not in page
    due = summary(page, "summary-due")
    assert "$750.00" in due and f'href="/p/acme/projects/{a}/billing/{overdue}"' in due
    assert "overdue since" in due and "INV-3" not in due and "INV-4" not in due and "G-1" not in page
    deadline = summary(page, "summary-deadline")
    assert "Homepage sign-off" in deadline and f'href="/p/acme/projects/{a}"' in deadline


async def test_nothing_waiting_means_no_summary(http, world):
    await sign_in_client(http, world.workspace, world.alice)
    page = (await http.get("/p/acme/")).text
    assert 'data-testid="home-summary"' not in page and 'data-testid="project-card"' in page


async def test_a_starter_workspace_shows_no_review_box(http, settings, world):
    from portal.workspaces.tables import Workspace

    await Workspace.update({Workspace.plan: "starter"}).where(Workspace.id == world.workspace)
    await make_deliverable(settings, world.workspace, world.project_a, "Logo concepts")
    await make_workspace("other", "Other Agency")
    await sign_in_client(http, world.workspace, world.alice)
    page = (await http.get("/p/acme/")).text
    assert 'data-testid="summary-review"' not in page
