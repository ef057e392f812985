"""The studio's page structure as served (no JavaScript): every project page opens with the
project's title and then its tabs; deleting a file asks first; inbox items share one title."""

from __future__ import annotations

import re

import httpx

from portal.files.tables import ProjectFile
from portal.projects.tables import Task
from tests.factories import make_deliverable, make_file, make_task
from tests.fixtures import post_form, sign_in_client, sign_in_staff


def _head(html: str) -> tuple[str, list[str], str]:
    """The page's <h1>, its project tabs (label, with a * when current) and what follows the tabs."""
    h1 = re.findall(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    assert len(h1) == 1, h1
    tabs = re.search(r'<nav class="tabs project-sections"[^>]*>(.*?)</nav>', html, re.S)
    assert tabs, "no project tabs"
    assert html.index("<h1") < tabs.start(), "the tabs come before the title"
    labels = [("*" if "aria-current" in attrs else "") + label.strip()
              for attrs, label in re.findall(r"<a class=\"tabs__tab\"([^>]*)>(.*?)</a>", tabs.group(1), re.S)]
    return h1[0].strip(), labels, html[tabs.end():]


async def test_every_project_page_shows_the_title_then_the_tabs_with_its_own_current(http, world, settings):
    task = await make_task(world.workspace, world.project_a, "Write the copy")
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Homepage")
    await sign_in_staff(http, world.workspace, world.staff)
    base = f"/studio/projects/{world.project_a}"
    pages = {
        base: "Overview", f"{base}/milestones": "Milestones", f"{base}/tasks": "Tasks",
        f"{base}/tasks/{task}": "Tasks", f"{base}/deliverables": "Deliverables",
        f"{base}/deliverables/{deliverable}": "Deliverables", f"{base}/files": "Files",
        f"{base}/billing": "Billing", f"{base}/feedback": "Feedback", f"{base}/access": "Client access",
    }
    for url, current in pages.items():
        response = await http.get(url)
        assert response.status_code == 200, url
        title, tabs, _ = _head(response.text)
        assert title == "Northwind website", url
        assert [t for t in tabs if t.startswith("*")] == [f"*{current}"], (url, tabs)
        assert len(tabs) == 8, (url, tabs)
        head = re.search(r'<header class="project-head project-head--studio"[^>]*>(.*?)</header>', response.text, re.S)
        assert head and "In progress" in head.group(1), url  # the status badge by the title, on every tab


async def test_deleting_a_file_asks_first_without_javascript(http, world, settings):
    file_id = await make_file(settings, world.workspace, world.project_a, "brief.pdf", data=b"%PDF-1.4\n%%EOF\n")
    await sign_in_staff(http, world.workspace, world.staff)
    html = (await http.get(f"/studio/projects/{world.project_a}/files")).text
    # The only way to the delete form is a closed <details>: its summary reads "Delete", the form asks.
    confirm = re.search(r'<details class="confirm">\s*<summary[^>]*data-testid="delete-file-toggle"[^>]*>(.*?)</summary>(.*?)</details>',
                        html, re.S)
    assert confirm, "the delete button is not behind a confirmation"
    assert "Delete" in confirm.group(1)
    assert f"/files/{file_id}/delete" in confirm.group(2) and "Delete “brief.pdf”?" in confirm.group(2)
    assert html.count(f"/files/{file_id}/delete") == 1  # no second, unconfirmed way to delete it
    assert (await ProjectFile.select(ProjectFile.deleted_at).where(ProjectFile.id == file_id).first())["deleted_at"] is None

    response = await post_form(http, f"/studio/projects/{world.project_a}/files/{file_id}/delete")
    assert response.status_code == 303
    assert "brief.pdf" not in (await http.get(f"/studio/projects/{world.project_a}/files")).text


async def test_inbox_items_are_titled_kind_then_subject_everywhere(app, http, world):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000") as client:
        await sign_in_client(client, world.workspace, world.alice)
        sent = await post_form(client, f"/p/acme/projects/{world.project_a}/feedback",
                               {"subject": "Store locator", "message": "Shops on a map, please."})
        assert sent.status_code == 303
    await make_task(world.workspace, world.project_b, "Call back Globex", kind="inbox")  # no client message
    await sign_in_staff(http, world.workspace, world.staff)

    inbox = (await http.get("/studio/inbox")).text
    titles = re.findall(r'data-testid="inbox-title"><a href="/studio/inbox/\d+">(.*?)</a>', inbox)
    assert sorted(titles) == ["Feedback: Call back Globex", "Feedback: Store locator"]
    assert "From Alice Andrews · Northwind · " in inbox and "Northwind website</a>" in inbox

    task = (await Task.select(Task.id).where(Task.title == "Store locator").first())["id"]
    page = (await http.get(f"/studio/inbox/{task}")).text
    assert re.search(r"<h1[^>]*>Feedback: Store locator</h1>", page)
    assert "<title>Feedback: Store locator · Inbox" in page
    assert page.count("Feedback: Store locator</") == 1  # the heading says it; the item does not repeat it
    project = (await http.get(f"/studio/projects/{world.project_a}/feedback")).text
    assert 'data-testid="inbox-title"><a href="/studio/inbox/' in project and "Feedback: Store locator" in project
