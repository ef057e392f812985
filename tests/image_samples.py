"""Images for the upload-safety tests: pixel bombs, broken files, files with metadata."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, PngImagePlugin


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid PNG signature and IHDR claiming ``width`` x ``height`` RGB pixels, with a
    tiny IDAT (one row's worth of zlib) and IEND: a few dozen bytes that would decode to
    ``width * height * 3`` bytes (30 GB for the default)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def broken_png() -> bytes:
    """A PNG with a sound 64 x 64 header whose pixel data is cut off half-way."""
    out = io.BytesIO()
    Image.effect_noise((64, 64), 64).convert("RGB").save(out, "PNG")
    data = out.getvalue()
    return data[: len(data) // 2]


def png_with_text(size: tuple[int, int] = (1200, 600), key: str = "Comment", text: str = "agency-internal-note") -> bytes:
    """A real PNG (a gradient with noise) carrying a ``tEXt`` metadata chunk."""
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    info = PngImagePlugin.PngInfo()
    info.add_text(key, text)
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info)
    return out.getvalue()


def jpeg_with_orientation(size: tuple[int, int] = (800, 400), orientation: int = 6) -> bytes:
    """A JPEG stored ``size`` wide, whose EXIF says "rotate" (6: 90 degrees clockwise),
    plus a camera make in the EXIF that a re-encoded thumbnail must not carry."""
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation
    exif[0x010F] = "SecretCam"  # Make
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()
