"""The operator's workspace commands: create, list and set the plan (``portal workspace ...``)."""

from __future__ import annotations

import pytest

from portal.errors import Conflict, Invalid, NotFound
from portal.workspaces.services import check_plan, create_workspace, list_workspaces, set_plan
from portal.workspaces.tables import PLANS, Workspace


async def test_a_workspace_is_created_with_a_normalised_slug_and_the_starter_plan(db):
    workspace_id = await create_workspace("  Acme-2  ", "  Acme Two  ")
    row = await Workspace.select().where(Workspace.id == workspace_id).first()
    assert (row["slug"], row["name"], row["plan"]) == ("acme-2", "Acme Two", "starter")
    other = await create_workspace("globex", "Globex", "scale")
    assert other != workspace_id
    assert (await Workspace.select(Workspace.plan).where(Workspace.id == other).first())["plan"] == "scale"


@pytest.mark.parametrize("slug", ["", "-acme", "acme-", "ac_me", "a" * 64, "acme!"])
async def test_a_bad_slug_is_refused_and_nothing_is_created(db, slug):
    with pytest.raises(Invalid) as refused:
        await create_workspace(slug, "Acme")
    assert list(refused.value.errors) == ["slug"]
    assert "lowercase letters, digits and dashes (max 63)" in refused.value.errors["slug"]
    assert await Workspace.count() == 0


async def test_the_longest_and_shortest_slugs_are_accepted(db):
    await create_workspace("a" * 63, "Long")
    await create_workspace("x", "Short")
    assert {row["slug"] for row in await list_workspaces()} == {"a" * 63, "x"}


async def test_an_empty_name_or_an_unknown_plan_is_refused(db):
    with pytest.raises(Invalid) as refused:
        await create_workspace("acme", "   ")
    assert refused.value.errors == {"name": "name must not be empty"}
    with pytest.raises(Invalid) as refused:
        await create_workspace("acme", "Acme", "gold")
    assert refused.value.errors == {"plan": f"plan must be one of {', '.join(PLANS)}, got 'gold'"}
    assert await Workspace.count() == 0


async def test_a_taken_slug_is_a_conflict(db):
    await create_workspace("acme", "Acme")
    with pytest.raises(Conflict) as refused:
        await create_workspace(" ACME ", "Another Acme")
    assert refused.value.message == "a workspace with slug 'acme' exists already"
    assert await Workspace.count() == 1


async def test_workspaces_are_listed_by_slug_with_their_settings(db):
    zeta = await create_workspace("zeta", "Zeta", "growth")
    alpha = await create_workspace("alpha", "Alpha")
    rows = await list_workspaces()
    assert [row["slug"] for row in rows] == ["alpha", "zeta"]
    assert rows[0] == {"id": alpha, "slug": "alpha", "name": "Alpha", "plan": "starter", "portal_enabled": rows[0]["portal_enabled"],
                       "custom_domain": rows[0]["custom_domain"]}
    assert rows[1]["id"] == zeta and rows[1]["plan"] == "growth"


async def test_set_plan_changes_only_that_workspace(db):
    await create_workspace("acme", "Acme")
    await create_workspace("globex", "Globex")
    await set_plan("acme", "scale")
    plans = {row["slug"]: row["plan"] for row in await list_workspaces()}
    assert plans == {"acme": "scale", "globex": "starter"}


async def test_set_plan_refuses_an_unknown_workspace_or_plan(db):
    await create_workspace("acme", "Acme")
    with pytest.raises(NotFound) as missing:
        await set_plan("nobody", "growth")
    assert missing.value.message == "no workspace with slug 'nobody'"
    with pytest.raises(Invalid):
        await set_plan("acme", "gold")
    assert (await list_workspaces())[0]["plan"] == "starter"


def test_check_plan_returns_a_known_plan():
    for plan in PLANS:
        assert check_plan(plan) == plan
