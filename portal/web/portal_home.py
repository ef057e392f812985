"""The portal's home: what waits for the client, across areas, then their projects.

It sits on the web side because it reads three areas (projects, deliverables, billing),
which do not import each other's services in that direction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Template

from portal.accounts.sessions import Principal
from portal.billing import services as billing
from portal.billing.views import outstanding
from portal.deliverables import services as deliverables
from portal.projects import services as projects
from portal.web.rendering import page
from portal.web.tenancy import PortalSite


@dataclass(frozen=True)
class NextDeadline:
    label: str
    due_date: dt.date
    days_left: int
    project_name: str
    url: str


@get("/")
async def home(request: Request, site: NamedDependency[PortalSite], client: NamedDependency[Principal]) -> Template:
    # provide_client looked them up for this very request (same rule, same moment).
    ids = request.state.visible_project_ids
    cards = await projects.project_list(ids)
    waiting = await deliverables.waiting_for(client, ids, site.base) if site.allows("approvals") else []
    to_pay = await billing.invoices_to_pay(client, ids, site.base)
    deadlines = [NextDeadline(card.progress.next_deadline.label, card.progress.next_deadline.due_date,
                              card.progress.next_deadline.days_left, card.name, site.url(f"/projects/{card.id}"))
                 for card in cards if card.progress.next_deadline]
    context = {
        "site": site, "client": client, "projects": cards, "waiting": waiting,
        "to_pay": to_pay, "due": outstanding(to_pay),
        "next_deadline": min(deadlines, key=lambda d: d.due_date) if deadlines else None,
    }
    return page(request, "portal/home.html", context)


HANDLERS = [home]
