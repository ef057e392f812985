"""A self-hosted client portal for agencies."""

import os

# Piccolo looks up its engine and apps in this module.
os.environ.setdefault("PICCOLO_CONF", "portal.piccolo_conf")
