"""Small builders for test data, with the personas every test speaks of.

- staff: Olivia, owner of workspace "acme"
- alice: client user of organisation Northwind (org A), with access to project A
- carol: client user of organisation Globex (org B), with access to project B
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from portal import clock
from portal.accounts.tables import ClientOrganisation, ClientUser, StaffMember
from portal.projects.tables import Milestone, Project, ProjectAccess, Task, TaskComment
from portal.workspaces.tables import Workspace


async def insert(row) -> int:
    result = await type(row).insert(row).returning(type(row)._meta.primary_key)
    return result[0]["id"]


async def make_workspace(slug: str = "acme", name: str = "Acme Agency", plan: str = "growth", **fields) -> int:
    return await insert(Workspace(slug=slug, name=name, plan=plan, support_email=f"help@{slug}.example", **fields))


async def make_staff(workspace: int, email: str, role: str = "owner", name: str = "") -> int:
    return await insert(StaffMember(workspace=workspace, email=email, role=role, name=name))


async def make_client(workspace: int, organisation: int, email: str, name: str = "") -> int:
    return await insert(ClientUser(workspace=workspace, organisation=organisation, email=email, name=name))


async def make_project(workspace: int, organisation: int, name: str, lead: int | None = None, **fields) -> int:
    return await insert(Project(workspace=workspace, organisation=organisation, name=name, lead=lead, **fields))


async def grant(workspace: int, project: int, client_user: int, expires_on: dt.date | None = None) -> int:
    return await insert(ProjectAccess(workspace=workspace, project=project, client_user=client_user, expires_on=expires_on))


async def make_task(workspace: int, project: int, title: str, status: str = "todo", **fields) -> int:
    return await insert(Task(workspace=workspace, project=project, title=title, status=status, **fields))


async def make_milestone(project: int, name: str, due_in_days: int | None = None, done: bool = False, position: int = 0) -> int:
    due = clock.today() + dt.timedelta(days=due_in_days) if due_in_days is not None else None
    return await insert(
        Milestone(project=project, name=name, due_date=due, completed_at=clock.now() if done else None, position=position)
    )


@dataclass
class World:
    workspace: int
    staff: int
    org_a: int
    org_b: int
    alice: int
    carol: int
    project_a: int
    project_b: int


async def make_world() -> World:
    """Workspace acme with staff, alice (org A, project A) and carol (org B, project B)."""
    workspace = await make_workspace()
    staff = await make_staff(workspace, "olivia@acme.example", name="Olivia Owner")
    org_a = await insert(ClientOrganisation(workspace=workspace, name="Northwind"))
    org_b = await insert(ClientOrganisation(workspace=workspace, name="Globex"))
    alice = await make_client(workspace, org_a, "alice@northwind.example", "Alice Andrews")
    carol = await make_client(workspace, org_b, "carol@globex.example", "Carol Chen")
    project_a = await make_project(workspace, org_a, "Northwind website", lead=staff, status="active")
    project_b = await make_project(workspace, org_b, "Globex rebrand", lead=staff, status="active")
    await grant(workspace, project_a, alice)
    await grant(workspace, project_b, carol)
    task = await make_task(workspace, project_a, "Internal: fix CMS cache", status="in_progress")
    await insert(TaskComment(task=task, author=staff, body="Internal: client is slow to reply"))
    return World(workspace, staff, org_a, org_b, alice, carol, project_a, project_b)


# Files and invoices (local imports keep this block self-contained).

#: A real 1x1 PNG, so browsers can show it as a thumbnail.
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000b49444154789c63f80f040009fb03fdfb5e6b2b0000000049454e44ae426082"
)


async def make_file(settings, workspace: int, project: int, name: str, data: bytes = PNG_1X1,
                    shared: bool = True, deleted: bool = False) -> int:
    """A project file whose bytes are really in the blob store."""
    from portal.files.storage import sniff_content_type, store_bytes
    from portal.files.tables import ProjectFile

    stored = await store_bytes(settings, workspace, data, sniff_content_type(data, name))
    return await insert(ProjectFile(workspace=workspace, project=project, stored_file=stored.id, name=name,
                                    shared=shared, deleted_at=clock.now() if deleted else None))


async def make_invoice(workspace: int, project: int, number: str, status: str = "sent", due_in_days: int = 14,
                       lines: tuple = (("Design work", "1", 100000),), currency: str = "usd") -> int:
    """An invoice with ``lines`` of (description, quantity, unit cents); the total is their sum."""
    from decimal import Decimal

    from portal.billing.tables import Invoice, InvoiceLine

    amounts = [(d, Decimal(q), unit, int(Decimal(q) * unit)) for d, q, unit in lines]
    today = clock.today()
    invoice = await insert(Invoice(
        workspace=workspace, project=project, number=number, status=status, currency=currency,
        issue_date=today - dt.timedelta(days=30), due_date=today + dt.timedelta(days=due_in_days),
        total_cents=sum(a for *_, a in amounts), sent_at=None if status == "draft" else clock.now(),
        paid_at=clock.now() if status == "paid" else None,
    ))
    for position, (description, quantity, unit, amount) in enumerate(amounts):
        await insert(InvoiceLine(invoice=invoice, description=description, quantity=quantity,
                                 unit_amount_cents=unit, amount_cents=amount, position=position))
    return invoice


#: The demo's real PDF (two pages) and MP4 (a few seconds): files that get previews.
DEMO_ASSETS = Path(__file__).resolve().parents[1] / "portal" / "demo_assets"
DEMO_PDF = (DEMO_ASSETS / "brand-guidelines.pdf").read_bytes()
DEMO_VIDEO = (DEMO_ASSETS / "intro-video.mp4").read_bytes()

#: The smallest valid PNG (1x1, transparent): a real image for deliverable versions.
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000b49444154789c6360000200000500017a5eab3f0000000049454e44ae426082"
)


async def make_deliverable(
    settings, workspace: int, project: int, title: str, status: str = "ready_for_review",
    content: bytes = PNG_1PX, filename: str = "design.png",
) -> int:
    """A deliverable in ``status`` with one stored version (no decision)."""
    from portal.deliverables.tables import Deliverable, DeliverableVersion
    from portal.files.storage import sniff_content_type, store_bytes

    stored = await store_bytes(settings, workspace, content, sniff_content_type(content, filename))
    deliverable = await insert(Deliverable(workspace=workspace, project=project, title=title, status=status, current_version=1))
    await insert(DeliverableVersion(
        deliverable=deliverable, number=1, stored_file=stored.id, content_sha256=stored.sha256, filename=filename,
        content_type=stored.content_type, size=stored.size,
    ))
    return deliverable
