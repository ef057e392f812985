"""Uploads are typed by their bytes, not by what the browser claims."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal.files.storage import blob_path, sniff_content_type, write_blob
from portal.settings import Settings

ASSETS = Path(__file__).resolve().parents[2] / "portal" / "demo_assets"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("homepage-mockup.png", "image/png"),
        ("brand-guidelines.pdf", "application/pdf"),
        ("intro-video.mp4", "video/mp4"),
        ("content-inventory.csv", "text/plain"),
    ],
)
def test_real_files_are_recognised(name, expected):
    assert sniff_content_type((ASSETS / name).read_bytes(), name) == expected


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"<html><script>alert(1)</script></html>", "page.html"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>", "logo.svg"),
        (b"<html><script>alert(1)</script></html>", "notes.txt.html"),
        (b"\x00\x01binary", "notes.txt"),
    ],
)
def test_active_content_is_never_typed_as_something_inline(data, name):
    assert sniff_content_type(data, name) == "application/octet-stream"


def test_a_png_named_txt_is_still_a_png():
    data = (ASSETS / "logo.png").read_bytes()
    assert sniff_content_type(data, "readme.txt") == "image/png"


def test_blobs_are_content_addressed_and_paths_cannot_escape(tmp_path):
    settings = Settings.from_env({"PORTAL_DATA_DIR": str(tmp_path)})
    digest = write_blob(settings, b"hello")
    path = blob_path(settings, digest)
    assert path.read_bytes() == b"hello" and path.parent.name == digest[:2]
    assert write_blob(settings, b"hello") == digest
    with pytest.raises(ValueError):
        blob_path(settings, "../../etc/passwd")
