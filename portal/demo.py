"""The demo workspace: "Brightline Studio" with two clients, real media and every state.

``load_demo(settings)`` fills a migrated database with a workspace (slug ``demo``) that
shows every screen of the studio and the portal with something in it: deliverables in
each status with real images, a PDF and a video (``portal/demo_assets/``), shared and
internal files, invoices that are draft, sent, overdue and paid, milestones and
internal tasks. Dates are relative to today so the demo always looks current.

Sign in as ``owner@brightline.example`` (studio), ``alice@northwind.example`` or
``carol@globex.example`` (portal).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from piccolo.table import Table

from portal.accounts.tables import ClientOrganisation, ClientUser, StaffMember
from portal.billing.tables import Invoice, InvoiceLine
from portal.db import engine as get_engine
from portal.db import serialise_on
from portal.deliverables.tables import Deliverable, DeliverableComment, DeliverableVersion, ReviewDecision
from portal.feedback.tables import FeedbackMessage
from portal.files.storage import sniff_content_type, store_bytes
from portal.files.tables import ProjectFile, StoredFile
from portal.projects.tables import Milestone, Project, ProjectAccess, Task, TaskComment
from portal.settings import Settings
from portal.workspaces.tables import Workspace

ASSETS = Path(__file__).parent / "demo_assets"
SLUG = "demo"
OWNER_EMAIL = "owner@brightline.example"
ALICE_EMAIL = "alice@northwind.example"
CAROL_EMAIL = "carol@globex.example"

T = TypeVar("T", bound=Table)

# The demo's content. Day offsets are relative to today (negative: in the past).

WORKSPACE = dict(
    name="Brightline Studio",
    plan="growth",
    portal_enabled=True,
    accent_color="#2952cc",
    welcome_message=(
        "Welcome to your Brightline project portal. Follow progress, review and approve "
        "work, download shared files and pay invoices, all in one place."
    ),
    support_email="support@brightline.example",
    sender_name="Brightline Studio",
)

#: key: (email, name, role)
STAFF = {
    "owner": (OWNER_EMAIL, "Olivia Owner", "owner"),
    "sam": ("sam@brightline.example", "Sam Lee", "member"),
}
ORGANISATIONS = {"northwind": "Northwind Traders", "globex": "Globex Corporation"}
#: key: (organisation, email, name)
CLIENTS = {
    "alice": ("northwind", ALICE_EMAIL, "Alice Andrews"),
    "carol": ("globex", CAROL_EMAIL, "Carol Chen"),
}

#: name: (organisation, status, lead, start day, due day, description)
PROJECTS = {
    "Website redesign": (
        "northwind", "active", "owner", -40, 45,
        "A faster, friendlier northwind.example: new homepage, shop, checkout and a stories section.",
    ),
    "Spring campaign": (
        "northwind", "planning", "sam", -12, 60,
        "The spring range campaign: key visual, social cut-downs and the launch email.",
    ),
    "Brand refresh": (
        "globex", "active", "sam", -30, 30,
        "A new logo, palette and guidelines for Globex's fiftieth year.",
    ),
    "Annual report": (
        "globex", "on_hold", "owner", -10, 90,
        "Design and layout of the annual report, paused until the final figures arrive.",
    ),
}

#: (client, project, invited day): alice sees both Northwind projects, carol one of Globex's.
ACCESS = (
    ("alice", "Website redesign", -38),
    ("alice", "Spring campaign", -12),
    ("carol", "Brand refresh", -28),
)

#: project: [(name, due day, completed day or None)]
MILESTONES = {
    "Website redesign": [
        ("Discovery and sitemap", -20, -21),
        ("Homepage design", 5, None),
        ("Build and content", 12, None),
        ("Launch", 45, None),
    ],
    "Spring campaign": [("Creative brief", -10, -9), ("Key visual sign-off", 7, None), ("Campaign live", 40, None)],
    "Brand refresh": [("Brand audit", -20, -19), ("Logo concepts", 5, None), ("Guidelines handover", 28, None)],
    "Annual report": [("Outline agreed", -5, -6), ("First draft", 30, None), ("Print-ready files", 75, None)],
}

#: project: [(title, status, milestone index, assignee, due day, [(author, internal comment)])]
TASKS = {
    "Website redesign": [
        ("Run discovery workshop", "done", 0, "owner", -22, []),
        ("Write sitemap and content inventory", "done", 0, "sam", -20,
         [("owner", "Alice wants Stories in the main navigation, not the footer.")]),
        ("Design homepage hero", "done", 1, "sam", -3, []),
        ("Homepage responsive variants", "in_progress", 1, "sam", 4, [
            ("sam", "The mobile hero crop is tight; trying a stacked layout."),
            ("owner", "Stacked works. Keep the call to action above the fold."),
        ]),
        ("Checkout wireframes", "in_progress", 2, "sam", 10, []),
        ("Set up staging server", "todo", 2, "owner", 11, []),
        ("Migrate product content", "todo", 2, "sam", 12, []),
        ("Evaluate a headless CMS", "cancelled", None, "owner", None,
         [("owner", "Staying on the current CMS: not worth it on this budget.")]),
        ("Launch checklist", "todo", 3, "owner", 44, []),
    ],
    "Spring campaign": [
        ("Collect the brief from Northwind", "done", 0, "owner", -10, []),
        ("Key visual round 2", "done", 1, "sam", -3, []),
        ("Key visual round 3", "in_progress", 1, "sam", 6,
         [("sam", "Alice wants the launch date bigger; trying it as a badge.")]),
        ("Social cut-downs", "todo", 2, "sam", 30, []),
    ],
    "Brand refresh": [
        ("Audit current brand touchpoints", "done", 0, "sam", -20, []),
        ("Sketch logo directions", "done", 1, "sam", -2, []),
        ("Present logo concepts", "in_progress", 1, "owner", 5,
         [("owner", "Carol leans towards B; we show all three anyway.")]),
        ("Draft colour palette", "todo", 2, "sam", 20, []),
        ("Stationery mock-ups", "cancelled", None, "sam", None, []),
    ],
    "Annual report": [
        ("Agree the outline with finance", "done", 0, "owner", -5, []),
        ("Layout template", "todo", 1, "sam", 25,
         [("owner", "On hold until Globex finance sends the final figures.")]),
    ],
}

#: Every status appears at least once. versions: (asset, filename, note, day);
#: decisions: (version, decision, client, comment, day); comments: (version, author, body, day).
DELIVERABLES = (
    {
        "project": "Website redesign", "title": "Homepage mockup", "status": "ready_for_review",
        "description": "The new homepage at desktop width: hero, navigation and range teasers.",
        "versions": [("homepage-mockup.png", "homepage-mockup.png", "First full design for your review.", -2)],
    },
    {
        "project": "Website redesign", "title": "Style guide", "status": "approved",
        "description": "Logo use, voice, colour, type and photography in two pages.",
        "versions": [("brand-guidelines.pdf", "northwind-brand-guidelines.pdf", "Version 1.0.", -9)],
        "decisions": [(1, "approved", "alice", "Clear and complete. Approved!", -6)],
    },
    {
        "project": "Website redesign", "title": "Intro video", "status": "ready_for_review",
        "description": "A three-second opener for the homepage hero and social posts.",
        "versions": [("intro-video.mp4", "northwind-intro.mp4", "Silent loop; music comes later.", -1)],
    },
    {
        "project": "Website redesign", "title": "Sitemap draft", "status": "draft",
        "description": "Every page of the new site with its owner and status.",
        "versions": [("content-inventory.csv", "sitemap-draft.csv", "Working draft.", -3)],
    },
    {
        "project": "Website redesign", "title": "Checkout flow", "status": "in_progress",
        "description": "Basket, delivery and payment steps, guest checkout first.",
        "versions": [("checkout-flow.png", "checkout-flow-wireframe.png", "Wireframe, not yet styled.", -1)],
    },
    {
        "project": "Spring campaign", "title": "Campaign key visual", "status": "changes_requested",
        "description": "The poster image for the spring range, used across print and social.",
        "versions": [
            ("key-visual-v1.png", "key-visual-round-1.png", "Round 1.", -8),
            ("key-visual-v2.png", "key-visual-round-2.png", "Round 2: fresher colours and the launch date.", -3),
        ],
        # Each version got its own decision, so the status matches the current version.
        "decisions": [
            (1, "changes_requested", "alice", "Lovely, but a bit dark for spring. Can we try fresher colours?", -7),
            (2, "changes_requested", "alice", "Much better! Please make the launch date stand out more.", -2),
        ],
        "comments": [
            (1, "alice", "Could the flower be a little bigger too?", -7),
            (1, "sam", "Thanks Alice, a brighter round is on its way this week.", -6),
            (2, "alice", "The colours are perfect now.", -2),
        ],
    },
    {
        "project": "Brand refresh", "title": "Logo concepts", "status": "ready_for_review",
        "description": "Three directions for the new Globex mark: Orbit, Monogram and Summit.",
        "versions": [("globex-logo-concepts.png", "globex-logo-concepts.png", "Round 1: three routes.", -1)],
    },
)

#: (project, asset, name, shared with the client, day)
FILES = (
    ("Website redesign", "content-inventory.csv", "Content inventory.csv", True, -15),
    ("Website redesign", "brand-guidelines.pdf", "Northwind brand guidelines.pdf", True, -9),
    ("Website redesign", "homepage-mockup.png", "Homepage mockup (working file).png", False, -2),
    ("Spring campaign", "key-visual-v1.png", "Key visual round 1.png", True, -8),
    ("Spring campaign", "key-visual-v2.png", "Key visual round 2 (internal review).png", False, -4),
    ("Brand refresh", "globex-logo-concepts.png", "Logo concepts board.png", True, -1),
    ("Brand refresh", "checkout-flow.png", "Layout reference (internal).png", False, -5),
)

#: Numbered BL-<year>-001... in this order. Overdue is derived: sent with a past due date.
#: lines: (description, quantity, unit amount in cents)
INVOICES = (
    {"project": "Website redesign", "status": "paid", "issue": -60, "due": -30, "sent": -60, "paid": -35,
     "notes": "Paid by bank transfer. Thank you!",
     "lines": [("Discovery workshop", "1", 240000), ("Sitemap and content plan", "1", 120000)]},
    {"project": "Brand refresh", "status": "paid", "issue": -50, "due": -20, "sent": -50, "paid": -22,
     "lines": [("Brand audit", "1", 180000)]},
    {"project": "Website redesign", "status": "sent", "issue": -40, "due": -10, "sent": -40,
     "lines": [("Homepage design (days)", "4", 75000), ("Design system set-up", "1", 150000)]},
    {"project": "Brand refresh", "status": "sent", "issue": -5, "due": 25, "sent": -5,
     "lines": [("Logo concepts (three routes)", "3", 90000), ("Project management (hours)", "2.5", 12000)]},
    {"project": "Spring campaign", "status": "draft", "issue": 0, "due": 30,
     "lines": [("Key visual design", "1", 200000), ("Social cut-downs", "6", 15000)]},
)

#: (client, project, subject, body, day): each also gets an inbox task for the lead.
FEEDBACK = (
    ("alice", "Website redesign", "Store locator",
     "Could the new site show our shops on a map? Customers ask for it every week.", -1),
)


@dataclass(frozen=True)
class DemoResult:
    """Ids of the demo workspace and its main people; ``created`` is False on a rerun."""

    workspace_id: int
    owner_id: int  # StaffMember
    alice_id: int  # ClientUser (Northwind Traders)
    carol_id: int  # ClientUser (Globex Corporation)
    created: bool


async def load_demo(settings: Settings) -> DemoResult:
    """Create the demo workspace, or return the existing one's ids unchanged.

    Idempotent: when a workspace with slug ``demo`` exists nothing is written. All
    rows are created in one write transaction (blobs are written to disk first, as
    ``store_bytes`` always does). On PostgreSQL the engine's pool must be started.
    """
    engine = get_engine()
    async with engine.write_transaction():
        # Two concurrent loads would otherwise both see no workspace.
        await serialise_on(b"portal.demo")
        existing = await Workspace.select(Workspace.id).where(Workspace.slug == SLUG).first()
        if existing is not None:
            return await _existing_result(existing["id"])
        return await _DemoBuilder(settings).build()


async def _existing_result(workspace_id: int) -> DemoResult:
    async def person_id(table: type[StaffMember] | type[ClientUser], email: str) -> int:
        row = await table.select(table.id).where((table.workspace == workspace_id) & (table.email == email)).first()
        if row is None:
            raise LookupError(f"the demo workspace exists but has no {email}; delete it to reload the demo")
        return row["id"]

    return DemoResult(
        workspace_id=workspace_id,
        owner_id=await person_id(StaffMember, OWNER_EMAIL),
        alice_id=await person_id(ClientUser, ALICE_EMAIL),
        carol_id=await person_id(ClientUser, CAROL_EMAIL),
        created=False,
    )


async def _add(row: T) -> T:
    """Insert ``row`` and return it with its id set."""
    table = type(row)
    await table.insert(row).returning(table.id)
    return row


class _DemoBuilder:
    """Creates the demo rows; keys like "owner" or "alice" name people in the tables above."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.today = dt.date.today()
        self.now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        self.workspace_id = 0
        self.staff: dict[str, int] = {}
        self.clients: dict[str, int] = {}
        self.organisations: dict[str, int] = {}
        self.projects: dict[str, Project] = {}
        self.milestones: dict[str, list[int]] = {}
        self.files: dict[str, StoredFile] = {}

    def day(self, offset: int) -> dt.date:
        return self.today + dt.timedelta(days=offset)

    def at(self, offset: int, hour: int = 0) -> dt.datetime:
        """A UTC timestamp ``offset`` days from now (negative: in the past)."""
        return self.now + dt.timedelta(days=offset, hours=hour)

    async def build(self) -> DemoResult:
        await self.workspace()
        await self.people()
        await self.projects_and_access()
        await self.plans_and_tasks()
        await self.deliverables()
        await self.project_files()
        await self.invoices()
        await self.feedback()
        return DemoResult(
            workspace_id=self.workspace_id,
            owner_id=self.staff["owner"],
            alice_id=self.clients["alice"],
            carol_id=self.clients["carol"],
            created=True,
        )

    async def stored(self, asset: str) -> StoredFile:
        """The StoredFile of a demo asset, stored once per workspace."""
        if asset not in self.files:
            content = (ASSETS / asset).read_bytes()
            self.files[asset] = await store_bytes(
                self.settings, self.workspace_id, content, sniff_content_type(content, asset)
            )
        return self.files[asset]

    async def workspace(self) -> None:
        workspace = await _add(Workspace(slug=SLUG, created_at=self.at(-90), **WORKSPACE))
        self.workspace_id = workspace.id
        # The logo is stored per workspace, so it needs the workspace's id first.
        logo = await self.stored("logo.png")
        await Workspace.update(
            {Workspace.portal_logo_sha256: logo.sha256, Workspace.portal_logo_type: logo.content_type}
        ).where(Workspace.id == workspace.id)

    async def people(self) -> None:
        for key, (email, name, role) in STAFF.items():
            row = await _add(StaffMember(
                workspace=self.workspace_id, email=email, name=name, role=role, created_at=self.at(-90)
            ))
            self.staff[key] = row.id
        for key, name in ORGANISATIONS.items():
            org = await _add(ClientOrganisation(workspace=self.workspace_id, name=name, created_at=self.at(-60)))
            self.organisations[key] = org.id
        for key, (org_key, email, name) in CLIENTS.items():
            row = await _add(ClientUser(
                workspace=self.workspace_id, organisation=self.organisations[org_key], email=email, name=name,
                created_at=self.at(-45),
            ))
            self.clients[key] = row.id

    async def projects_and_access(self) -> None:
        for name, (org_key, status, lead, start, due, description) in PROJECTS.items():
            self.projects[name] = await _add(Project(
                workspace=self.workspace_id, organisation=self.organisations[org_key], lead=self.staff[lead],
                name=name, description=description, status=status, start_date=self.day(start),
                due_date=self.day(due), created_at=self.at(min(start, 0) - 2),
            ))
        for client, project, invited in ACCESS:
            await _add(ProjectAccess(
                workspace=self.workspace_id, project=self.projects[project].id, client_user=self.clients[client],
                invited_by=self.staff["owner"], invited_at=self.at(invited), accepted_at=self.at(invited, hour=3),
            ))

    async def plans_and_tasks(self) -> None:
        for project, milestones in MILESTONES.items():
            ids = []
            for position, (name, due, completed) in enumerate(milestones):
                row = await _add(Milestone(
                    project=self.projects[project].id, name=name, due_date=self.day(due), position=position,
                    completed_at=None if completed is None else self.at(completed),
                ))
                ids.append(row.id)
            self.milestones[project] = ids
        for project, tasks in TASKS.items():
            for title, status, milestone, assignee, due, comments in tasks:
                created = self.at(-30 if due is None else min(due, 0) - 10)
                task = await _add(Task(
                    workspace=self.workspace_id, project=self.projects[project].id, kind="work", title=title,
                    milestone=None if milestone is None else self.milestones[project][milestone],
                    status=status, assignee=self.staff[assignee], created_at=created,
                    due_date=None if due is None else self.day(due),
                    completed_at=self.at(min(due or 0, 0) - 1) if status == "done" else None,
                ))
                for hours, (author, body) in enumerate(comments, start=1):
                    await _add(TaskComment(
                        task=task.id, author=self.staff[author], body=body, created_at=created + dt.timedelta(hours=hours)
                    ))

    async def deliverables(self) -> None:
        for spec in DELIVERABLES:
            project = self.projects[spec["project"]]
            lead = project.lead
            versions = spec["versions"]
            last_at = self.at(versions[-1][3])
            deliverable = await _add(Deliverable(
                workspace=self.workspace_id, project=project.id, title=spec["title"],
                description=spec["description"], status=spec["status"], current_version=len(versions),
                created_by=lead, created_at=self.at(versions[0][3], hour=-1), updated_at=last_at,
                ready_at=last_at if spec["status"] in ("ready_for_review", "changes_requested", "approved") else None,
            ))
            version_rows = []
            for number, (asset, filename, note, days) in enumerate(versions, start=1):
                stored = await self.stored(asset)
                version_rows.append(await _add(DeliverableVersion(
                    deliverable=deliverable.id, number=number, stored_file=stored.id,
                    content_sha256=stored.sha256, filename=filename, content_type=stored.content_type,
                    size=stored.size, note=note, uploaded_by=lead, created_at=self.at(days),
                )))
            for number, decision, client, comment, days in spec.get("decisions", ()):
                version = version_rows[number - 1]
                await _add(ReviewDecision(
                    deliverable=deliverable.id, version=version.id, decision=decision,
                    client_user=self.clients[client], actor_email=CLIENTS[client][1], comment=comment,
                    content_sha256=version.content_sha256, ip="203.0.113.24",
                    user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Safari/605.1.15",
                    created_at=self.at(days),
                ))
                if decision == "approved":
                    await Deliverable.update({Deliverable.approved_at: self.at(days)}).where(
                        Deliverable.id == deliverable.id
                    )
            for number, author, body, days in spec.get("comments", ()):
                await _add(DeliverableComment(
                    deliverable=deliverable.id, version=version_rows[number - 1].id,
                    client_user=self.clients.get(author), staff=self.staff.get(author), body=body,
                    created_at=self.at(days),
                ))

    async def project_files(self) -> None:
        for project, asset, name, shared, days in FILES:
            stored = await self.stored(asset)
            await _add(ProjectFile(
                workspace=self.workspace_id, project=self.projects[project].id, stored_file=stored.id, name=name,
                shared=shared, uploaded_by=self.projects[project].lead, created_at=self.at(days),
            ))

    async def invoices(self) -> None:
        for sequence, spec in enumerate(INVOICES, start=1):
            issued = self.day(spec["issue"])
            lines = [
                (description, Decimal(quantity), unit, int(Decimal(quantity) * unit))
                for description, quantity, unit in spec["lines"]
            ]
            invoice = await _add(Invoice(
                workspace=self.workspace_id, project=self.projects[spec["project"]].id,
                number=f"BL-{issued.year}-{sequence:03d}", status=spec["status"], currency="usd",
                issue_date=issued, due_date=self.day(spec["due"]), notes=spec.get("notes", ""),
                total_cents=sum(amount for *_, amount in lines), created_at=self.at(spec["issue"], hour=-2),
                sent_at=None if spec.get("sent") is None else self.at(spec["sent"]),
                paid_at=None if spec.get("paid") is None else self.at(spec["paid"]),
            ))
            for position, (description, quantity, unit, amount) in enumerate(lines):
                await _add(InvoiceLine(
                    invoice=invoice.id, description=description, quantity=quantity, unit_amount_cents=unit,
                    amount_cents=amount, position=position,
                ))

    async def feedback(self) -> None:
        """Client feedback and the inbox task it created for the project lead."""
        for client, project_name, subject, body, days in FEEDBACK:
            project = self.projects[project_name]
            task = await _add(Task(
                workspace=self.workspace_id, project=project.id, kind="inbox", title=subject,
                details=body, status="todo", assignee=project.lead, created_at=self.at(days),
            ))
            await _add(FeedbackMessage(
                workspace=self.workspace_id, project=project.id, client_user=self.clients[client],
                author_email=CLIENTS[client][1], subject=subject, body=body, task=task.id,
                created_at=self.at(days),
            ))
