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


# Streaming into the blob store (portal.files.storage.write_stream), and images.

import asyncio  # noqa: E402
import hashlib  # noqa: E402
import io  # noqa: E402

from PIL import Image  # noqa: E402

from portal.files import images  # noqa: E402
from portal.files.storage import CHUNK, EmptyUpload, UploadTooLarge, write_stream  # noqa: E402
from tests.image_samples import broken_png, jpeg_with_orientation, png_bomb, png_with_text  # noqa: E402


def _settings(tmp_path, **env) -> Settings:
    return Settings.from_env({"PORTAL_DATA_DIR": str(tmp_path), **env})


def _temp_files(settings: Settings) -> list[str]:
    return [p.name for p in settings.blob_dir.iterdir() if p.name.startswith(".tmp-")] if settings.blob_dir.is_dir() else []


async def _chunks(data: bytes, size: int):
    for start in range(0, len(data), size):
        yield data[start : start + size]
        await asyncio.sleep(0)


async def test_a_stream_is_hashed_sized_and_stored_in_chunks(tmp_path):
    settings = _settings(tmp_path)
    data = b"%PDF-1.4\n" + bytes(range(256)) * 9000  # about 2.2 MiB: three 1 MiB writes
    written = await write_stream(settings, _chunks(data, 65536), "brief.pdf")
    assert written.sha256 == hashlib.sha256(data).hexdigest() and written.size == len(data)
    assert written.content_type == "application/pdf"
    assert blob_path(settings, written.sha256).read_bytes() == data
    # the same from a file object (an UploadFile's spooled file), deduplicated on disk
    again = await write_stream(settings, io.BytesIO(data), "brief.pdf")
    assert again == written and _temp_files(settings) == []


async def test_text_is_checked_as_utf8_across_chunk_boundaries(tmp_path):
    settings = _settings(tmp_path)
    # an "é" (two bytes) split by the 1 MiB boundary is still valid UTF-8 text
    text = b"a" * (CHUNK - 1) + "é".encode() + b" and more\n"
    assert (await write_stream(settings, io.BytesIO(text), "notes.txt")).content_type == "text/plain"
    assert (await write_stream(settings, _chunks(text, 1000), "notes.md")).content_type == "text/plain"
    # a character cut off at the very end, a bad byte after the first chunk, a NUL late on
    for bad in (text + b"\xc3", text + b"\xff" + b"b" * 10, b"a" * (CHUNK + 5) + b"\x00"):
        assert (await write_stream(settings, io.BytesIO(bad), "notes.csv")).content_type == "application/octet-stream"
    # the magic-number rules still win over the name
    png = (ASSETS / "logo.png").read_bytes()
    assert (await write_stream(settings, io.BytesIO(png), "readme.txt")).content_type == "image/png"


async def test_too_large_empty_or_failing_copies_leave_nothing_behind(tmp_path):
    settings = _settings(tmp_path)
    with pytest.raises(UploadTooLarge):
        await write_stream(settings, io.BytesIO(b"x" * (3 * CHUNK)), "big.bin", limit=2 * CHUNK + 10)
    with pytest.raises(UploadTooLarge):
        await write_stream(settings, _chunks(b"x" * 5000, 100), "big.bin", limit=4999)
    with pytest.raises(EmptyUpload):
        await write_stream(settings, io.BytesIO(b""), "empty.bin")

    async def broken_source():
        yield b"x" * CHUNK
        yield b"y" * CHUNK
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await write_stream(settings, broken_source(), "half.bin")

    async def stalled_source():
        yield b"x" * (2 * CHUNK)
        await asyncio.Event().wait()  # never ends: the request is cancelled meanwhile
        yield b""

    task = asyncio.ensure_future(write_stream(settings, stalled_source(), "stalled.bin"))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _temp_files(settings) == []
    assert [p for p in settings.blob_dir.rglob("*") if p.is_file()] == []  # and no blob either


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_pixel_bomb_is_refused_from_its_header_alone():
    bomb = png_bomb(100_000, 100_000)
    assert len(bomb) < 100 and sniff_content_type(bomb, "bomb.png") == "image/png"
    with pytest.raises(images.TooManyPixels):
        images.check(io.BytesIO(bomb), "image/png", 40_000_000)
    with pytest.raises(images.TooManyPixels):
        images.thumbnail(io.BytesIO(bomb), "image/png", 40_000_000)
    # just over the configured limit (under Pillow's own 2x guard) is refused too, with its size
    with pytest.raises(images.TooManyPixels) as refused:
        images.check(io.BytesIO(png_bomb(10_001, 1_000)), "image/png", 10_000_000)
    assert refused.value.size == (10_001, 1_000)
    with pytest.raises(images.Unreadable):
        images.thumbnail(io.BytesIO(broken_png()), "image/png", 40_000_000)
    with pytest.raises(images.Unreadable):  # a PNG signature is not enough
        images.thumbnail(io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40), "image/png", 40_000_000)


def test_thumbnails_are_re_encoded_upright_and_without_metadata():
    original = png_with_text((1200, 600), "Comment", "agency-internal-note")
    thumb = images.thumbnail(io.BytesIO(original), "image/png", 40_000_000)
    assert thumb != original and b"agency-internal-note" not in thumb
    with Image.open(io.BytesIO(thumb)) as image:
        image.load()
        assert image.format == "WEBP" and image.size == (480, 240)
        assert "Comment" not in image.info and "exif" not in image.info
    photo = jpeg_with_orientation((800, 400), orientation=6)
    thumb = images.thumbnail(io.BytesIO(photo), "image/jpeg", 40_000_000)
    assert b"SecretCam" not in thumb
    with Image.open(io.BytesIO(thumb)) as image:
        assert image.size == (240, 480)  # turned upright as the EXIF said
        assert dict(image.getexif()) == {}


def test_logos_are_re_encoded_as_png_within_1024_pixels():
    logo = images.logo(io.BytesIO(png_with_text((3000, 1000))), "image/png", 40_000_000)
    with Image.open(io.BytesIO(logo)) as image:
        assert image.format == "PNG" and image.size == (1024, 341) and "Comment" not in image.info
