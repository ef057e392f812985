"""Shared fixtures: the app, an HTTP client, personas and signing in."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import subprocess
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from portal.accounts.tokens import issue_token
from portal.app import create_app
from portal.web.csrf import token_for
from tests.conftest import IS_POSTGRES
from tests.factories import World, make_world

CSRF_INPUT = re.compile(r'name="_csrf_token" value="([^"]+)"')


@pytest.fixture
async def app(settings, db):
    return create_app(settings)


@pytest.fixture
async def http(app):
    """An HTTP client speaking to the app in this test's event loop.

    (The ``db`` fixture opens and closes the database as the app's lifespan would.)
    """
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        yield client


@pytest.fixture
async def world(db) -> World:
    return await make_world()


def csrf_token(client: httpx.AsyncClient) -> str:
    """The token the portal puts in this client's pages: bound to its session cookie, or
    to the anonymous CSRF cookie before sign-in ("" when it has neither yet)."""
    cookies = client.cookies
    binding = (cookies.get("portal_session") or cookies.get("__Host-portal_session")
               or cookies.get("csrftoken") or cookies.get("__Host-csrftoken"))
    return token_for(os.environ["PORTAL_SECRET_KEY"], binding) if binding else ""


async def post_form(client: httpx.AsyncClient, url: str, data: dict | None = None, **kwargs):
    """POST a form as a browser would: first a GET to get the CSRF cookie."""
    if not csrf_token(client):
        await client.get("/healthz")
    return await client.post(url, data={**(data or {}), "_csrf_token": csrf_token(client)}, **kwargs)


async def sign_in_client(client: httpx.AsyncClient, workspace: int, client_user: int, slug: str = "acme") -> None:
    token = await issue_token(workspace_id=workspace, client_user_id=client_user, lifetime=dt.timedelta(minutes=15))
    await client.get(f"/p/{slug}/login/{token}")
    response = await post_form(client, f"/p/{slug}/login/{token}")
    assert response.status_code == 303, response.text


async def sign_in_staff(client: httpx.AsyncClient, workspace: int, staff: int) -> None:
    token = await issue_token(workspace_id=workspace, staff_id=staff, lifetime=dt.timedelta(minutes=15))
    await client.get(f"/studio/login/{token}")
    response = await post_form(client, f"/studio/login/{token}")
    assert response.status_code == 303, response.text


@pytest.fixture
def spare(settings, tmp_path):
    """Settings of a second, empty installation: its own data dir and database (SQLite: a
    file there; PostgreSQL: a database made for the test and dropped after it)."""
    data_dir = tmp_path / "spare"
    data_dir.mkdir()
    if not IS_POSTGRES:
        yield dataclasses.replace(settings, data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'portal.sqlite3'}")
        return
    parts = urlsplit(settings.database_url)
    name = parts.path.lstrip("/") + "_spare"
    admin = urlunsplit(parts._replace(path="/postgres"))
    subprocess.run(["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{name}"'], check=True)
    subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{name}"'], check=True)
    try:
        yield dataclasses.replace(settings, data_dir=data_dir, database_url=urlunsplit(parts._replace(path=f"/{name}")))
    finally:
        subprocess.run(["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'], check=False)


def query_rows(settings, *statements: str) -> list[tuple]:
    """The rows of the last of ``statements``, run on another installation's database
    (``spare``) directly: sqlite3 on its file, psql on its PostgreSQL database."""
    if settings.is_sqlite:
        import sqlite3

        with sqlite3.connect(settings.sqlite_path) as connection:
            rows: list[tuple] = []
            for statement in statements:
                rows = connection.execute(statement).fetchall()
            return rows
    out = subprocess.run(["psql", settings.database_url, "-X", "-q", "-A", "-t", "-F", "\x1f", "-v", "ON_ERROR_STOP=1",
                          *[arg for statement in statements for arg in ("-c", statement)]],
                         capture_output=True, text=True, check=True)
    return [tuple(line.split("\x1f")) for line in out.stdout.splitlines() if line]
