"""Uploaded images, decoded safely: a pixel limit before any decode, then re-encoding.

Browsers are only ever handed images the portal made itself: thumbnails (WebP, fit in
480 x 480) and logos (PNG, fit in 1024 x 1024), EXIF orientation applied and every
other piece of metadata (EXIF, XMP, ICC profile, text chunks) dropped. An upload
whose header claims more than ``max_image_pixels`` (a "pixel bomb": a few KB that
decode to gigabytes), or that Pillow cannot decode, is never decoded further: the
caller keeps it as a download only.

Everything here blocks (decoding is CPU-bound): call it through ``asyncio.to_thread``.
One decode runs at a time per process, so memory stays bounded by one image at the
pixel limit (4 bytes per pixel in RGBA) whatever the number of concurrent uploads.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps

#: Sniffed content types decoded here, and Pillow's only format tried for each.
FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}
THUMBNAIL_BOX = (480, 480)
THUMBNAIL_TYPE = "image/webp"
LOGO_BOX = (1024, 1024)
LOGO_TYPE = "image/png"

_DECODING = threading.BoundedSemaphore(1)


class ImageRejected(ValueError):
    """The image is not decoded: too many pixels, or not readable as its type."""


class TooManyPixels(ImageRejected):
    def __init__(self, max_pixels: int, size: tuple[int, int] | None = None) -> None:
        self.max_pixels = max_pixels
        self.size = size
        claimed = f"{size[0]} x {size[1]} pixels" if size else "more pixels than allowed"
        super().__init__(f"{claimed}; the limit is {max_pixels} pixels")


class Unreadable(ImageRejected):
    pass


def _open(source: Path | BinaryIO, content_type: str, max_pixels: int) -> Image.Image:
    """Pillow's lazy image (only the header read), refused past ``max_pixels``."""
    if not isinstance(source, Path):
        source.seek(0)
    # Pillow's own guard as a second net: it refuses (DecompressionBombError) past twice
    # this on open. The same for every thread of a process: it comes from the settings.
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        image = Image.open(source, formats=[FORMATS[content_type]])
    except Image.DecompressionBombError as exc:
        raise TooManyPixels(max_pixels) from exc
    except Exception as exc:  # any parser error on untrusted bytes
        raise Unreadable(str(exc)) from exc
    width, height = image.size
    if width < 1 or height < 1:
        image.close()
        raise Unreadable("no pixels")
    if width * height > max_pixels:
        image.close()
        raise TooManyPixels(max_pixels, (width, height))
    return image


def check(source: Path | BinaryIO, content_type: str, max_pixels: int) -> tuple[int, int]:
    """(width, height) of an image within the limit whose structure Pillow accepts."""
    with _open(source, content_type, max_pixels) as image:
        size = image.size
        try:
            image.verify()  # chunk CRCs and structure, without decoding (PNG)
        except Exception as exc:
            raise Unreadable(str(exc)) from exc
    return size


def _decoded(source: Path | BinaryIO, content_type: str, max_pixels: int, box: tuple[int, int]) -> Image.Image:
    """The first frame, decoded (truncated data is an error), upright, fit in ``box``."""
    check(source, content_type, max_pixels)
    with _open(source, content_type, max_pixels) as image:
        try:
            # JPEG decodes straight at 1/2..1/8 scale when that still covers the box.
            image.draft(None, (box[0] * 2, box[1] * 2))
            image.load()
            # Full-size copies are avoided: one decoded image at the pixel limit is the
            # cost (3-4 bytes a pixel); the turn and the shrink happen in place.
            ImageOps.exif_transpose(image, in_place=True)
            transparent = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
            target = "RGBA" if transparent else "RGB"
            if image.mode not in ("RGB", "RGBA", "L", "LA") or "transparency" in image.info:
                # Palette (and other) images would be resized with NEAREST: convert first.
                image = image.convert(target)
            image.thumbnail(box, Image.Resampling.LANCZOS)
            result = image.convert(target) if image.mode != target else image.copy()
        except ImageRejected:
            raise
        except Exception as exc:  # truncated or corrupt data, unsupported modes
            raise Unreadable(str(exc)) from exc
    result.info = {}  # nothing of the original's metadata is written back
    return result


def thumbnail(source: Path | BinaryIO, content_type: str, max_pixels: int,
              box: tuple[int, int] = THUMBNAIL_BOX) -> bytes:
    """A WebP thumbnail (``THUMBNAIL_TYPE``) fit in ``box``, or ``ImageRejected``."""
    with _DECODING:
        image = _decoded(source, content_type, max_pixels, box)
    out = io.BytesIO()
    image.save(out, "WEBP", quality=80, method=4)
    return out.getvalue()


def logo(source: Path | BinaryIO, content_type: str, max_pixels: int) -> bytes:
    """The logo re-encoded as PNG (``LOGO_TYPE``) fit in ``LOGO_BOX``, or ``ImageRejected``."""
    with _DECODING:
        image = _decoded(source, content_type, max_pixels, LOGO_BOX)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()
