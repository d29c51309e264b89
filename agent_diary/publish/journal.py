"""The durable record of a thread in progress, and the one-publisher-at-a-time lock.

One append-only JSON-lines file per date under `.git/agent-diary/journal/` (per clone,
never committed). Each record is flushed and fsynced before the call that follows it
returns, so after a crash at any point the journal tells what may have happened:

    account   {id, username}             who posts (GET /2/users/me, once)
    start     {posts, commit, entry_sha}  the thread as rendered when posting began (again
                                          when the entry changed before the posts that
                                          changed were sent), and the commit it came from
    media     {k, i, id, expires}         image i of post k is uploaded (with its alt text)
    media_expired {k}                     X no longer knows post k's uploads: upload again
    sending   {k, at}                     about to send post k: its outcome is unknown
    unknown   {k, at}                     the create of post k got no answer (at: when we
                                          gave up): X may still create it
    failed    {k}                         X answered that post k was not created
    absent    {k}                         post k was looked for long enough after its last
                                          attempt and is not on X: it may be sent again
    sent      {k, id}                     post k exists with this id
    stopped   {k, reason}                 a run ended early, and why (for `status`)
    complete  {ids, posted_at}            every post exists
    recorded  {commit}                    the IDs are in the front matter (and committed)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import DEFAULT_API_URL
from ..errors import TemporaryError
from ..files import fsync_dir


@dataclass
class JournalState:
    """What the records add up to."""

    account: dict[str, str] | None = None
    posts: list[str] | None = None
    start: dict[str, Any] | None = None  # the latest start record
    sent: dict[int, str] = field(default_factory=dict)
    sending: dict[int, str] = field(default_factory=dict)  # k -> time of the first attempt
    # k -> when the last attempt ended without an answer: X may still create post k.
    unknown: dict[int, str] = field(default_factory=dict)
    media: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    stopped: str | None = None
    complete: dict[str, Any] | None = None
    recorded: dict[str, Any] | None = None


# The fields each record must have, and their types: a record of another shape (a disk
# that lost a block, a hand edit) is skipped like a torn line, never a crash.
_SHAPES: dict[str, dict[str, Any]] = {
    "account": {"id": str}, "start": {"posts": list},
    "sending": {"k": int, "at": str}, "unknown": {"k": int, "at": str},
    "failed": {"k": int}, "absent": {"k": int}, "media_expired": {"k": int},
    "media": {"k": int, "i": int, "id": str, "expires": int | float},
    "sent": {"k": int, "id": str}, "complete": {"ids": list, "posted_at": str},
}
LONG_AGO = "1970-01-01T00:00:00+00:00"


def _well_formed(record: dict[str, Any]) -> bool:
    for key, kind in _SHAPES.get(record.get("event", ""), {}).items():
        value = record.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            return False
        if key == "k" and value < 0:
            return False
    try:
        if "at" in record:
            dt.datetime.fromisoformat(record["at"])
    except (TypeError, ValueError):
        return False
    texts = record.get("posts", []) + record.get("ids", [])
    return all(isinstance(text, str) for text in texts)


def _fold(records: list[dict[str, Any]]) -> JournalState:
    state = JournalState()
    for record in filter(_well_formed, records):
        event = record.get("event")
        if event == "account":
            state.account = {"id": record["id"], "username": record.get("username", ""),
                             "api": record.get("api") or DEFAULT_API_URL}
        elif event == "start":
            state.posts, state.start = list(record["posts"]), record
            # A restart (the entry changed before these posts were sent): uploads and
            # attempts of the posts not yet on X belong to the old text.
            state.media = {key: v for key, v in state.media.items() if key[0] in state.sent}
            state.sending = {k: v for k, v in state.sending.items() if k in state.sent}
            state.stopped = None
        elif event == "sending":
            k = int(record["k"])
            state.sending.setdefault(k, record["at"])
            state.unknown[k] = record["at"]
        elif event == "unknown":
            state.unknown[int(record["k"])] = record["at"]
        elif event in ("failed", "absent"):
            state.unknown.pop(int(record["k"]), None)
        elif event == "media":
            state.media[(int(record["k"]), int(record["i"]))] = record
        elif event == "media_expired":
            state.media = {key: v for key, v in state.media.items() if key[0] != record["k"]}
        elif event == "sent":
            state.sent[int(record["k"])] = str(record["id"])
            state.unknown.pop(int(record["k"]), None)
        elif event == "stopped":
            state.stopped = record.get("reason")
        elif event == "complete":
            state.complete = record
        elif event == "recorded":
            state.recorded = record
    # A post missing before one that was sent (its records lost): it exists, or it does
    # not; either way its outcome is unknown, and it is looked for before anything else.
    for k in range(max(state.sent, default=0)):
        if k not in state.sent:
            state.unknown.setdefault(k, LONG_AGO)
    return state


class Journal:
    def __init__(self, path: Path, after_write: Callable[[int], None] | None = None) -> None:
        self.path = path
        self._after_write = after_write
        self._writes = 0
        self.records = self._read()

    def _read(self) -> list[dict[str, Any]]:
        return read_json_lines(self.path)

    @property
    def state(self) -> JournalState:
        return _fold(self.records)

    def append(self, event: str, **data: Any) -> None:
        record = {"event": event, **data, "t": round(time.time(), 3)}
        append_json_line(self.path, record)
        self.records.append(record)
        self._writes += 1
        if self._after_write is not None:
            self._after_write(self._writes)


def read_json_lines(path: Path) -> list[dict[str, Any]]:
    """The records of an append-only JSON-lines file. A last line without its newline was
    cut by a crash mid-write: the write it belonged to never returned, so the step after
    it never ran, and it is ignored (and cut before the next append). A complete line
    that is not a record (a disk that lost a block) is skipped, never hiding later ones."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    records = []
    for line in data.split(b"\n")[:-1]:  # the part after the last newline is torn
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def _cut_torn_tail(fd: int) -> None:
    """Truncate a partial last line (a crash mid-write) so the next record starts on a
    line of its own instead of being glued to the torn one and lost with it."""
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return
    data = os.pread(fd, size, 0)
    os.ftruncate(fd, data.rfind(b"\n") + 1)


def append_json_line(path: Path, record: dict[str, Any]) -> None:
    """Append one record, flushed and fsynced (the folder too, for a new file)."""
    new_file = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        _cut_torn_tail(fd)
        while line:
            line = line[os.write(fd, line):]
        os.fsync(fd)
    finally:
        os.close(fd)
    if new_file:
        fsync_dir(path.parent)


def failpoint_from(environ: dict[str, str] | Any) -> Callable[[int], None] | None:
    """`AGENT_DIARY_FAILPOINT=journal:N` kills the process (SIGKILL) right after its Nth
    journal write: how the tests crash a publisher at every step. Unset: no hook."""
    spec = environ.get("AGENT_DIARY_FAILPOINT", "")
    if not spec.startswith("journal:"):
        return None
    target = int(spec.split(":", 1)[1])

    def hook(writes: int) -> None:
        if writes == target:
            import signal

            os.kill(os.getpid(), signal.SIGKILL)

    return hook


LOCK_GRACE = 1.0  # seconds a lock is waited for even when no wait was asked


@contextlib.contextmanager
def repo_lock(state_dir: Path, timeout: float,
              progress: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold `state_dir/lock` (flock: released by the kernel even on SIGKILL). Even with
    no `timeout`, a lock held for a moment is waited for (LOCK_GRACE): `status` takes it
    shared for an instant to see whether a publisher runs, and must not make one fail."""
    import fcntl

    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "lock"
    with path.open("a+", encoding="utf-8") as handle:
        start = time.monotonic()
        deadline = start + max(timeout, LOCK_GRACE)
        told = False
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                now = time.monotonic()
                if now >= deadline:
                    raise TemporaryError(
                        f"another agent-diary publisher (pid {holder}) holds {path}; "
                        "it is posting now, so rerun when it is done") from None
                if progress is not None and not told and now - start >= LOCK_GRACE / 2:
                    progress(f"waiting for another publisher (pid {holder}) to finish")
                    told = True
                time.sleep(0.05)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()  # no stale pid for a message to name
            handle.flush()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
