"""`--sandbox`: the whole real path (tweepy, OAuth signing, HTTP, journal, reconciliation)
against an in-process emulator whose state persists under `.git/agent-diary/sandbox/`."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from .auth import Credentials
from .emulator.server import Emulator, timeline_page
from .emulator.state import Account

# Not secrets: the emulator's own made-up account, the same for every sandbox.
SANDBOX_ACCOUNT = Account(username="agentdiary_sandbox", name="agent-diary sandbox")
SANDBOX_CREDENTIALS = Credentials(
    SANDBOX_ACCOUNT.consumer_key, SANDBOX_ACCOUNT.consumer_secret,
    SANDBOX_ACCOUNT.access_token, SANDBOX_ACCOUNT.access_token_secret, source="sandbox")


@contextlib.contextmanager
def sandbox_emulator(folder: Path) -> Iterator[Emulator]:
    with Emulator(SANDBOX_ACCOUNT, folder / "emulator.json") as emulator:
        yield emulator


def write_timeline(emulator: Emulator, folder: Path) -> Path:
    """The emulator's timeline page as a file, to look at after the process ends. Written
    beside and renamed into place: the service rewrites it after each post, maybe while a
    browser reads it."""
    folder.mkdir(parents=True, exist_ok=True)
    page = folder / "timeline.html"
    temp = folder / f".timeline.{os.getpid()}.tmp"
    temp.write_text(timeline_page(emulator.world), encoding="utf-8")
    os.replace(temp, page)
    return page
