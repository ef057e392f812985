"""Piccolo's configuration: the engine from the settings, and every area's app.

Piccolo finds this module through ``PICCOLO_CONF=portal.piccolo_conf`` (set by
``portal/__init__.py``).
"""

from piccolo.conf.apps import AppRegistry

from portal.db import make_engine
from portal.settings import Settings

AREAS = ("workspaces", "accounts", "projects", "files", "deliverables", "billing", "feedback", "mail", "audit")

_settings = Settings.from_env()
DB = make_engine(_settings.database_url, sqlite_readers=_settings.sqlite_readers,
                 read_cache_rows=_settings.read_cache_rows)

APP_REGISTRY = AppRegistry(apps=[f"portal.{area}.piccolo_app" for area in AREAS])
