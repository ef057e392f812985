"""Project progress for clients, computed from internal data without exposing it.

Percent done = done tasks / all tasks, cancelled tasks excluded (only ``kind='work'``;
feedback inbox tasks are not project work). A project without tasks uses its
milestones instead. Two queries serve any number of projects.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from portal import clock
from portal.projects import queries

UPCOMING_DAYS = 30


@dataclass(frozen=True)
class MilestoneView:
    name: str
    due_date: dt.date | None
    done: bool
    overdue: bool


@dataclass(frozen=True)
class Deadline:
    label: str
    due_date: dt.date
    days_left: int


@dataclass
class Progress:
    percent: int = 0
    milestones: list[MilestoneView] = field(default_factory=list)
    upcoming: list[Deadline] = field(default_factory=list)

    @property
    def milestones_done(self) -> int:
        return sum(1 for m in self.milestones if m.done)

    @property
    def next_deadline(self) -> Deadline | None:
        return self.upcoming[0] if self.upcoming else None


def _percent(done: int, total: int) -> int:
    return round(100 * done / total) if total else 0


async def progress_for(projects: list[dict]) -> dict[int, Progress]:
    """Progress of each project row (needs ``id``, ``name``, ``due_date``), by id."""
    ids = [p["id"] for p in projects]
    if not ids:
        return {}
    today = clock.today()
    horizon = today + dt.timedelta(days=UPCOMING_DAYS)
    counts = await queries.work_task_counts(ids)
    milestones = await queries.milestones(ids)

    done: dict[int, int] = {}
    total: dict[int, int] = {}
    for row in counts:
        total[row["project"]] = total.get(row["project"], 0) + row["n"]
        if row["status"] == "done":
            done[row["project"]] = done.get(row["project"], 0) + row["n"]

    result = {pid: Progress() for pid in ids}
    for row in milestones:
        is_done = row["completed_at"] is not None
        due = row["due_date"]
        view = MilestoneView(row["name"], due, is_done, bool(due and not is_done and due < today))
        progress = result[row["project"]]
        progress.milestones.append(view)
        if due and not is_done and today <= due <= horizon:
            progress.upcoming.append(Deadline(row["name"], due, (due - today).days))

    for project in projects:
        progress = result[project["id"]]
        pid = project["id"]
        if total.get(pid):
            progress.percent = _percent(done.get(pid, 0), total[pid])
        else:
            progress.percent = _percent(progress.milestones_done, len(progress.milestones))
        due = project.get("due_date")
        if due and today <= due <= horizon and progress.percent < 100:
            progress.upcoming.append(Deadline("Project due", due, (due - today).days))
        progress.upcoming.sort(key=lambda d: d.due_date)
    return result
