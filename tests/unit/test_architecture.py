"""The shape of the code, checked: layering (import-linter contracts in pyproject.toml),
one rule for SQL, pure views, routes that touch no table, every route module mounted.

Each check also runs once against a deliberately broken copy, to prove it can fail.
"""

from __future__ import annotations

import ast
import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from piccolo.table import Table

ROOT = Path(__file__).resolve().parents[2]
PORTAL = ROOT / "portal"
AREAS = ("accounts", "audit", "billing", "deliverables", "feedback", "files", "mail", "projects", "workspaces")
ROUTE_MODULES = sorted(PORTAL.glob("*/portal_routes.py")) + sorted(PORTAL.glob("*/studio_routes.py"))


def source_files(root: Path = PORTAL) -> list[Path]:
    return [p for p in sorted(root.rglob("*.py")) if "piccolo_migrations" not in p.parts]


def module_name(path: Path, root: Path = PORTAL) -> str:
    return ".".join(("portal", *path.relative_to(root).with_suffix("").parts))


# Layering


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).parent / "lint-imports"), "--no-cache", "--no-logo"]
    env = {"PYTHONPATH": str(cwd), "PATH": str(Path(sys.executable).parent)}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_import_contracts_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 kept, 0 broken" in result.stdout


@pytest.mark.parametrize("path, line, contract", [
    ("billing/services.py", "from portal.web.rendering import page", "never import the web layer"),
    ("files/services.py", "from portal.deliverables import portal_routes", "put together by portal.web.sites"),
    ("projects/queries.py", "from portal.projects import services", "Inside each area"),
    ("db.py", "from portal.accounts import sessions", "The foundation"),
])
def test_the_import_contracts_catch_a_break(tmp_path, path, line, contract):
    shutil.copytree(PORTAL, tmp_path / "portal", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "portal" / path
    target.write_text(target.read_text() + f"\n{line}  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    summary = " ".join(result.stdout.split("Broken contracts")[0].split())
    broken = [part for part in summary.split(" BROKEN")[:-1]]
    assert any(contract in part.split(" KEPT")[-1] for part in broken), result.stdout


# One rule for SQL: Piccolo by default; plain SQL in an area's queries.py only


SQL_START = ("SELECT ", "INSERT ", "UPDATE ", "DELETE ", "WITH ")
SQL_CALLS = {"fetch", "raw", "run_ddl"}


def sql_outside_queries(root: Path) -> list[str]:
    found = []
    for path in source_files(root):
        if path.name == "queries.py" or path == root / "db.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if node.value.lstrip().startswith(SQL_START):  # SQL keywords are written in capitals
                    found.append(f"{path.relative_to(root)}:{node.lineno}: SQL text")
            elif isinstance(node, ast.Call):
                name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
                if name in SQL_CALLS:
                    found.append(f"{path.relative_to(root)}:{node.lineno}: {name}()")
    return found


def test_plain_sql_lives_only_in_queries_modules():
    assert sql_outside_queries(PORTAL) == []


def test_the_sql_check_finds_sql_elsewhere(tmp_path):
    shutil.copytree(PORTAL, tmp_path / "portal", ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / "portal" / "billing" / "services.py"
    target.write_text(target.read_text() + '\n\nasync def _x():\n    return await fetch("SELECT 1")\n')
    line = len(target.read_text().splitlines())
    assert sorted(sql_outside_queries(tmp_path / "portal")) == [f"billing/services.py:{line}: SQL text",
                                                                f"billing/services.py:{line}: fetch()"]


def test_in_lists_are_built_by_the_helper_only():
    """No hand-made ``{}`` lists or ``.replace("IDS")``: ``portal.db.in_list`` writes them."""
    offenders = []
    for path in source_files():
        text = path.read_text()
        if path != PORTAL / "db.py" and ('"{}" for' in text or ".replace(\"IDS\"" in text or "%IDS%" in text):
            offenders.append(str(path.relative_to(PORTAL)))
    assert offenders == []


# Views are pure shaping; routes touch no table


def test_views_run_no_queries():
    for path in PORTAL.glob("*/views.py"):
        tree = ast.parse(path.read_text())
        assert not [n for n in ast.walk(tree) if isinstance(n, ast.AsyncFunctionDef)], path
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not {m for m in imported if m and (m == "portal.db" or m.endswith(".queries"))}, path


def table_names_used(path: Path) -> list[str]:
    """Names a module imports that are Piccolo tables."""
    used = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("portal."):
            module = importlib.import_module(node.module)
            for alias in node.names:
                value = getattr(module, alias.name, None)
                if isinstance(value, type) and issubclass(value, Table):
                    used.append(f"{path.name}: {alias.name}")
    return used


@pytest.mark.parametrize("path", ROUTE_MODULES, ids=lambda p: str(p.relative_to(PORTAL)))
def test_routes_touch_no_table(path):
    assert table_names_used(path) == []


def test_the_table_check_sees_a_table(tmp_path):
    probe = tmp_path / "probe_routes.py"
    probe.write_text("from portal.workspaces.tables import Workspace\n")
    assert table_names_used(probe) == ["probe_routes.py: Workspace"]


# Every area has the same shape, and every route module is mounted


@pytest.mark.parametrize("area", AREAS)
def test_every_area_has_the_common_modules(area):
    folder = PORTAL / area
    for name in ("tables.py", "services.py", "piccolo_app.py", "piccolo_migrations/__init__.py"):
        assert (folder / name).exists(), f"{area}/{name}"
    for extra in ("routes.py", "staff.py", "actions.py"):
        assert not (folder / extra).exists(), f"{area}/{extra}: use portal_routes.py / studio_routes.py / services.py"


def test_every_route_module_is_mounted_by_the_sites():
    from portal.web import sites

    mounted = {module.__name__ for module in (*sites.PORTAL_ROUTES, *sites.STUDIO_ROUTES)}
    assert mounted == {module_name(path) for path in ROUTE_MODULES}
    for module in (*sites.PORTAL_ROUTES, *sites.STUDIO_ROUTES):
        assert isinstance(module.HANDLERS, list), module.__name__
