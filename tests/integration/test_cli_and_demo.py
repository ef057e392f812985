"""The operator's commands: demo data (idempotent, complete) and login links."""

from __future__ import annotations

from portal.accounts.links import NoSuchPerson, login_link
from portal.billing.tables import Invoice
from portal.deliverables.tables import DELIVERABLE_STATUSES, Deliverable, DeliverableVersion
from portal.demo import load_demo
from portal.files.tables import ProjectFile
from portal.projects.tables import ProjectAccess, Task, TaskComment
from portal.workspaces.tables import Workspace


async def test_demo_is_complete_and_idempotent(db, settings):
    first = await load_demo(settings)
    counts = [await t.count() for t in (Workspace, Deliverable, DeliverableVersion, Invoice, ProjectFile, Task)]
    second = await load_demo(settings)
    assert first.created and not second.created
    assert (second.workspace_id, second.alice_id, second.carol_id) == (first.workspace_id, first.alice_id, first.carol_id)
    assert [await t.count() for t in (Workspace, Deliverable, DeliverableVersion, Invoice, ProjectFile, Task)] == counts

    statuses = {row["status"] for row in await Deliverable.select(Deliverable.status)}
    assert statuses == set(DELIVERABLE_STATUSES)
    types = {row["content_type"] for row in await DeliverableVersion.select(DeliverableVersion.content_type)}
    assert {"image/png", "application/pdf", "video/mp4"} <= types
    invoice_states = {row["status"] for row in await Invoice.select(Invoice.status)}
    assert {"draft", "sent", "paid"} <= invoice_states
    import datetime as dt

    overdue = await Invoice.count().where(Invoice.status == "sent", Invoice.due_date < dt.date.today())
    assert overdue >= 1
    assert await ProjectFile.count().where(ProjectFile.shared == True) >= 1  # noqa: E712
    assert await ProjectFile.count().where(ProjectFile.shared == False) >= 1  # noqa: E712
    assert await TaskComment.count() >= 1
    assert await ProjectAccess.count().where(ProjectAccess.client_user == first.alice_id) >= 1
    assert await ProjectAccess.count().where(ProjectAccess.client_user == first.carol_id) >= 1


async def test_login_link_for_staff_and_clients(db, settings):
    await load_demo(settings)
    staff = await login_link(settings, "owner@brightline.example", "demo")
    client = await login_link(settings, "Alice@Northwind.example")
    assert staff.startswith(f"{settings.base_url}/studio/login/")
    assert client.startswith(f"{settings.base_url}/p/demo/login/")
    try:
        await login_link(settings, "nobody@example.com", "demo")
    except NoSuchPerson as exc:
        assert "nobody@example.com" in str(exc)
    else:
        raise AssertionError("an unknown email must not get a link")
