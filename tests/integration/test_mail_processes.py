"""Two server processes delivering the same outbox never send one message twice."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from aiosmtpd.controller import Controller

from portal.mail.outbox import enqueue_email
from portal.mail.tables import OutboxMessage
from tests.factories import make_workspace
from tests.integration.test_mail_delivery import Inbox, free_port

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 40

#: One OS process: wait for the go file, then deliver one message per round until none is due.
WORKER = textwrap.dedent(
    """
    import asyncio, dataclasses, pathlib, sys
    from portal.mail.worker import deliver_due
    from portal.settings import Settings

    async def main(smtp_url, go, worker_id):
        settings = dataclasses.replace(Settings.from_env(), smtp_url=smtp_url)
        print("ready", flush=True)
        while not pathlib.Path(go).exists():
            await asyncio.sleep(0.005)
        total = 0
        while n := await deliver_due(settings, worker_id, batch=1):
            total += n
        print(total, flush=True)

    asyncio.run(main(*sys.argv[1:]))
    """
)


async def test_two_processes_share_the_outbox_without_duplicates(settings, db, tmp_path):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        workspace = await make_workspace()
        for i in range(MESSAGES):
            await enqueue_email(settings, workspace_id=workspace, to=f"client{i}@northwind.example", template="login_link",
                                context={"link_url": f"http://127.0.0.1:8000/p/acme/login/T{i}", "minutes": 15,
                                         "recipient_name": ""})
        await db.close_pool()  # hand the SQLite file to the other processes
        go = tmp_path / "go"
        smtp_url = f"smtp+plain://127.0.0.1:{controller.port}"
        workers = [
            subprocess.Popen([sys.executable, "-c", WORKER, smtp_url, str(go), f"process-{n}"], cwd=ROOT,
                             env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for n in range(2)
        ]
        for worker in workers:
            assert await asyncio.to_thread(worker.stdout.readline) == "ready\n", worker.stderr.read()
        go.touch()
        outputs = [await asyncio.to_thread(worker.communicate, timeout=60) for worker in workers]
    finally:
        controller.stop()

    counts = []
    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
        counts.append(int(out.strip()))
    assert sum(counts) == MESSAGES
    assert len(inbox.messages) == MESSAGES
    assert len({m["Message-ID"] for m in inbox.messages}) == MESSAGES
    assert all(count > 0 for count in counts), counts  # both really took part
    assert await OutboxMessage.count().where(OutboxMessage.status == "sent") == MESSAGES
