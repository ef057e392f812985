"""Progress: computed from internal tasks (cancelled excluded) or milestones, never exposing them."""

from __future__ import annotations

import re

from portal.db import count_queries
from portal.projects.progress import progress_for
from portal.projects.services import project_list
from portal.projects.tables import Project
from tests.factories import grant, make_milestone, make_project, make_task
from tests.fixtures import sign_in_client


async def _progress(project_id: int):
    rows = await Project.select(Project.id, Project.name, Project.due_date).where(Project.id == project_id)
    return (await progress_for(rows))[project_id]


async def test_percent_counts_done_tasks_and_ignores_cancelled_and_inbox(world):
    p = world.project_a  # has one in-progress task from the world
    await make_task(world.workspace, p, "a", status="done")
    await make_task(world.workspace, p, "b", status="done")
    await make_task(world.workspace, p, "c", status="cancelled")
    await make_task(world.workspace, p, "client feedback", status="todo", kind="inbox")
    assert (await _progress(p)).percent == 67  # 2 done of 3 (in_progress + 2 done)


async def test_without_tasks_milestones_give_the_percent(world):
    p = world.project_b
    await make_milestone(p, "One", due_in_days=-3, done=True)
    await make_milestone(p, "Two", due_in_days=10)
    await make_milestone(p, "Three", due_in_days=60)
    await make_milestone(p, "Four", due_in_days=-1)
    progress = await _progress(p)
    assert progress.percent == 25
    assert [d.label for d in progress.upcoming] == ["Two"]  # within 30 days, not done
    assert [(m.name, m.overdue) for m in progress.milestones] == [("One", False), ("Four", True), ("Two", False), ("Three", False)]


async def test_a_project_with_nothing_is_zero(world):
    assert (await _progress(world.project_b)).percent == 0


async def test_home_query_count_does_not_grow_with_projects(http, world):
    await sign_in_client(http, world.workspace, world.alice)
    with count_queries() as few:
        assert (await http.get("/p/acme/")).status_code == 200
    for i in range(15):
        project = await make_project(world.workspace, world.org_a, f"Extra {i}")
        await grant(world.workspace, project, world.alice)
        await make_milestone(project, f"M{i}", due_in_days=i)
        await make_task(world.workspace, project, f"T{i}", status="done")
    with count_queries() as many:
        response = await http.get("/p/acme/")
    assert response.text.count('data-testid="project-card"') == 16
    assert len(many) == len(few), (few, many)


def tables_read(statements: list[str]) -> list[str]:
    return [re.search(r'FROM "(\w+)"', statement).group(1) for statement in statements]


async def test_project_list_asks_once_for_each_kind_of_data_whatever_the_number_of_projects(world):
    # A card needs the project row, its task counts (percent) and its milestones
    # (deadlines): one statement for each, for all the projects at once.
    needed = ["project", "task", "milestone"]
    with count_queries() as two_projects:
        cards = await project_list([world.project_a, world.project_b])
    assert len(cards) == 2 and tables_read(two_projects) == needed
    ids = [world.project_a, world.project_b]
    for i in range(10):
        ids.append(await make_project(world.workspace, world.org_a, f"Extra {i}"))
        await make_milestone(ids[-1], f"M{i}", due_in_days=i)
        await make_task(world.workspace, ids[-1], f"T{i}", status="done")
    with count_queries() as twelve_projects:
        cards = await project_list(ids)
    assert len(cards) == 12 and tables_read(twelve_projects) == needed  # not one more per project
    assert all(card.progress.percent == 100 for card in cards if card.name.startswith("Extra"))
