"""Previews of PDFs and videos: the first page, a frame near the start, as a thumbnail.

Made in the background after the upload (``make_pending``, a job of every process's
outbox loop), never in the request: an upload answers at once and its card shows a
placeholder until the preview is there. The thumbnail is a WebP made by
``portal.files.images`` (the encoding of image thumbnails, a larger box), stored as its own
blob and referenced by ``StoredFile.thumbnail_sha256``, fit in ``RENDER_BOX``.

The untrusted file is only ever opened by a child process, with a memory and CPU limit
and a timeout: ffmpeg for a video (reading the local file only, no other protocol) and
pdfium (``python -m portal.files.previews pdf IN OUT``) for a PDF. A crash, a hang or a
bomb there marks the preview "failed" (the card shows the type's icon) and costs the
server nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

from portal import clock
from portal.files import images
from portal.files.storage import PREVIEW_TYPES, LocalCopy, write_blob
from portal.files.tables import StoredFile
from portal.settings import Settings

log = logging.getLogger(__name__)

PENDING, READY, FAILED = "pending", "ready", "failed"
#: The preview's box: sharp as a video's poster and on a card of a high-density screen.
RENDER_BOX = 960
#: Limits of the child process.
MEMORY_LIMIT = 768 * 1024 * 1024
CPU_SECONDS = 30
TIMEOUT_SECONDS = 60
#: A claim older than this is a process that died while making it: the preview is tried again.
STALE_CLAIM = dt.timedelta(minutes=10)
#: Previews made per round of the background loop (the mail waits for them).
PER_ROUND = 4


def _limit_child() -> None:  # pragma: no cover - runs in the child, between fork and exec
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))


def _commands(kind: str, source: Path, out: Path) -> list[list[str]] | None:
    """The commands to try in turn, each writing the picture to ``out``; None without ffmpeg."""
    if kind == "pdf":
        return [[sys.executable, "-m", "portal.files.previews", "pdf", str(source), str(out)]]
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return None
    # A frame a second in (the first is often black), else the first frame of a shorter video.
    return [[
        ffmpeg, "-nostdin", "-v", "error", "-protocol_whitelist", "file", "-ss", seek, "-i", str(source),
        "-frames:v", "1", "-vf", f"scale='min({RENDER_BOX},iw)':-2", "-update", "1", "-y", str(out),
    ] for seek in ("1", "0")]


async def _run(command: list[str]) -> bool:
    process = await asyncio.create_subprocess_exec(
        *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE, preexec_fn=_limit_child,
    )
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        log.warning("Preview: %s took over %ss and was stopped", command[0], TIMEOUT_SECONDS)
        return False
    if process.returncode != 0:
        log.warning("Preview: %s failed (%s): %s", Path(command[0]).name, process.returncode,
                    stderr.decode(errors="replace").strip()[:300])
    return process.returncode == 0


async def preview_of(settings: Settings, source: Path, content_type: str) -> bytes | None:
    """The WebP thumbnail of a PDF's first page or a video's frame; None if it cannot be made."""
    kind = "pdf" if content_type == "application/pdf" else "video"
    with tempfile.TemporaryDirectory(prefix="preview-") as work:
        out = Path(work) / "frame.png"
        attempts = _commands(kind, source, out)
        if attempts is None:
            log.warning("Preview: ffmpeg is not installed; videos get no poster")
            return None
        for attempt in attempts:
            if await _run(attempt) and out.exists():
                break
        else:
            return None
        try:
            return await asyncio.to_thread(images.thumbnail, out, "image/png", settings.max_image_pixels,
                                           (RENDER_BOX, RENDER_BOX))
        except images.ImageRejected:
            return None


async def _preview_of_stored(settings: Settings, sha256: str, content_type: str) -> bytes | None:
    """``preview_of`` a stored blob (from a bucket: through a temp copy, removed after)."""
    copy = LocalCopy(settings, sha256)
    try:
        path = await asyncio.to_thread(copy.__enter__)
    except FileNotFoundError:
        return None
    try:
        return await preview_of(settings, path, content_type)
    finally:
        await asyncio.to_thread(copy.__exit__, None, None, None)


def _claimable(now: dt.datetime):
    """Pending, and claimed by nobody (or by a process that died: the claim is stale)."""
    return (StoredFile.preview_status == PENDING) & (
        StoredFile.preview_claimed_at.is_null() | (StoredFile.preview_claimed_at < now - STALE_CLAIM))


async def _claim(stored_file_id: int) -> bool:
    """This process makes that preview (a concurrent or later claim by another is refused)."""
    now = clock.now()
    claimed = await StoredFile.update({StoredFile.preview_claimed_at: now}).where(
        (StoredFile.id == stored_file_id) & _claimable(now)
    ).returning(StoredFile.id)
    return bool(claimed)


async def make_pending(settings: Settings) -> int:
    """The background job: previews waiting to be made, a few per round; how many were handled."""
    rows = await StoredFile.select(StoredFile.id, StoredFile.sha256, StoredFile.content_type).where(
        _claimable(clock.now())
    ).order_by(StoredFile.id).limit(PER_ROUND)
    handled = 0
    for row in rows:
        if not await _claim(row["id"]):
            continue  # another process has it
        data = None
        if row["content_type"] in PREVIEW_TYPES:
            data = await _preview_of_stored(settings, row["sha256"], row["content_type"])
        sha = await asyncio.to_thread(write_blob, settings, data) if data else None
        await StoredFile.update({StoredFile.thumbnail_sha256: sha, StoredFile.preview_status: READY if sha else FAILED}).where(
            StoredFile.id == row["id"])
        handled += 1
    return handled


def _render_pdf(source: str, out: str) -> None:
    """In the child: the first page of the PDF as a PNG whose longer side is ``RENDER_BOX``."""
    import pypdfium2

    document = pypdfium2.PdfDocument(source)
    try:
        page = document[0]
        width, height = page.get_size()
        scale = min(RENDER_BOX / max(width, height, 1), 4.0)
        page.render(scale=scale, may_draw_forms=False).to_pil().save(out, "PNG")
    finally:
        document.close()


if __name__ == "__main__":  # python -m portal.files.previews pdf IN OUT
    if len(sys.argv) != 4 or sys.argv[1] != "pdf":
        sys.exit("usage: python -m portal.files.previews pdf IN OUT")
    try:
        _render_pdf(sys.argv[2], sys.argv[3])
    except Exception as exc:  # any parser error on untrusted bytes
        print(f"cannot render: {exc}", file=sys.stderr)
        os._exit(1)
