"""View objects for the studio's Clients pages: organisations, their projects and people.

Pure shaping of rows (already read by ``services``) into what a page shows: no queries,
nothing async. A person's access state is worked out here from their grants, with the
same rule the project's Access tab uses (``grant_state``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from portal.projects.views import status_label

#: A grant's state, as the Access tab and the client's page show it.
STATE_LABELS = {"invited": "Invited", "active": "Active", "expired": "Expired", "revoked": "Revoked"}
#: A person's standing over all their grants: the best state wins, in this order.
PERSON_STATES = ("active", "invited", "expired", "revoked", "none")
PERSON_STATE_LABELS = {**STATE_LABELS, "none": "No access", "removed": "Removed"}


def grant_state(row: dict, today: dt.date) -> str:
    """One grant's state from its ``revoked_at``, ``expires_on``, ``accepted_at`` and
    its client's ``client_user.last_login_at``."""
    if row["revoked_at"] is not None:
        return "revoked"
    if row["expires_on"] is not None and row["expires_on"] < today:
        return "expired"
    return "active" if row["accepted_at"] is not None or row["client_user.last_login_at"] else "invited"


def person_state(active: bool, grant_states: Iterable[str]) -> str:
    """A person's state: Removed, else the best of their grants' states, else No access."""
    if not active:
        return "removed"
    states = set(grant_states)
    return next((s for s in PERSON_STATES if s in states), "none")


@dataclass(frozen=True)
class ClientRow:
    """One organisation in the clients list."""

    id: int
    name: str
    projects: int
    people: int
    archived: bool

    @property
    def url(self) -> str:
        return f"/studio/clients/{self.id}"


@dataclass(frozen=True)
class ClientProject:
    id: int
    name: str
    status: str
    status_label: str

    @property
    def url(self) -> str:
        return f"/studio/projects/{self.id}/access"


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    email: str
    active: bool
    state: str
    last_login_at: dt.datetime | None

    @property
    def state_label(self) -> str:
        return PERSON_STATE_LABELS[self.state]

    @property
    def display_name(self) -> str:
        return self.name or self.email


@dataclass(frozen=True)
class ClientDetail:
    """An organisation's page: the organisation, its projects and its people."""

    id: int
    name: str
    archived_at: dt.datetime | None
    projects: tuple[ClientProject, ...]
    people: tuple[Person, ...]

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    @property
    def url(self) -> str:
        return f"/studio/clients/{self.id}"

    @property
    def active_people(self) -> tuple[Person, ...]:
        return tuple(p for p in self.people if p.active)

    @property
    def removed_people(self) -> tuple[Person, ...]:
        return tuple(p for p in self.people if not p.active)


def client_rows(organisations: list[dict], project_counts: dict[int, int], people_counts: dict[int, int]) -> list[ClientRow]:
    """The clients list, by name (case ignored)."""
    rows = [
        ClientRow(id=o["id"], name=o["name"], projects=project_counts.get(o["id"], 0),
                  people=people_counts.get(o["id"], 0), archived=o["archived_at"] is not None)
        for o in organisations
    ]
    return sorted(rows, key=lambda r: (r.name.casefold(), r.id))


def client_detail(organisation: dict, projects: list[dict], people: list[dict], grants: list[dict],
                  today: dt.date) -> ClientDetail:
    """``grants`` are rows with ``client_user`` and the columns ``grant_state`` reads."""
    states: dict[int, list[str]] = {}
    for g in grants:
        states.setdefault(g["client_user"], []).append(grant_state(g, today))
    shown_people = sorted(
        (Person(id=p["id"], name=p["name"], email=p["email"], active=p["active"],
                state=person_state(p["active"], states.get(p["id"], ())), last_login_at=p["last_login_at"])
         for p in people),
        key=lambda p: (not p.active, p.display_name.casefold(), p.id),
    )
    shown_projects = sorted(
        (ClientProject(id=r["id"], name=r["name"], status=r["status"], status_label=status_label(r["status"]))
         for r in projects),
        key=lambda r: (r.name.casefold(), r.id),
    )
    return ClientDetail(id=organisation["id"], name=organisation["name"], archived_at=organisation["archived_at"],
                        projects=tuple(shown_projects), people=tuple(shown_people))
