"""A diary repository on disk: where things are, dates, loading entries, init and new.

Finding the entry for a date is a path look-up (two candidate files), never a scan of
the diary, so a diary of 20,000 entries costs the same as one of ten.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from . import gitstore
from .config import Config, config_from_text, default_config_text, load_config
from .errors import InputError, NothingToPost
from .text.entry import Entry, check_entry_size, parse_entry

PACKAGED_TEMPLATES = Path(__file__).parent / "templates"
_DATE_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})\.md")


class Diary(NamedTuple):
    """Every path of one diary repository, so tests can point it all at a temp dir.

    Files of the diary (entries, templates, `config.yaml`, media) are read through
    `read_bytes`: from the work tree for `preview`, from one commit (HEAD when the view was
    made) in the committed view that publishing uses, so what is posted is what is
    committed, all of it from the same commit. Neither follows a symbolic link, so a
    committed link cannot make it read outside the repository.
    """

    root: Path
    config_path: Path
    committed: str | None = None  # the commit read from ("": none yet); None: work tree

    def committed_view(self) -> Diary:
        """This diary as committed in HEAD now (later commits do not change what it reads)."""
        return self._replace(committed=gitstore.head_commit(self.root))

    def read_bytes(self, rel: str) -> bytes | None:
        """A file of the repository by its POSIX path from the root; None if absent."""
        if self.committed is not None:
            return gitstore.committed_bytes(self.root, rel, self.committed)
        return gitstore.working_bytes(self.root, rel)

    def file_size(self, rel: str) -> int | None:
        """The size of a file of the repository, without reading it; None if absent."""
        if self.committed is not None:
            return gitstore.committed_size(self.root, rel, self.committed)
        path = gitstore.working_file(self.root, rel)
        try:
            return None if path is None else path.lstat().st_size
        except OSError:
            return None

    @property
    def uses_own_config(self) -> bool:
        """Whether the settings are the repository's own `config.yaml`, read like any file
        of the diary (as committed, in the committed view), rather than a file named with
        --config, which is read where it is."""
        return self.config_path == self.root / "config.yaml"

    @property
    def diary_dir(self) -> Path:
        return self.root / "diary"

    @property
    def state_dir(self) -> Path:
        """Per-clone state (journal, lock, ledger): inside the *common* git directory, so
        never committed, and shared by every linked worktree of the clone (one lock and
        one journal, however many checkouts)."""
        return gitstore.common_git_dir(self.root) / "agent-diary"

    @property
    def sandbox_dir(self) -> Path:
        """The sandbox's journal and emulator state, apart from the real ones."""
        return self.state_dir / "sandbox"

    def candidates(self, date: dt.date) -> list[Path]:
        name = f"{date.isoformat()}.md"
        return [self.diary_dir / name, self.diary_dir / f"{date.year:04d}" / name]

    def prefetch(self, dates: Iterable[dt.date]) -> None:
        """In the committed view, look up and read the entries of many dates with one or
        two git calls in all, so the per-date look-ups that follow start no process."""
        if self.committed:
            gitstore.prefetch(self.root, self.committed,
                              [self.rel(path) for date in dates for path in self.candidates(date)],
                              contents=True)

    def entry_path(self, date: dt.date) -> Path:
        """The entry file for `date`; NothingToPost naming the paths if there is none.
        A symbolic link is not an entry: it is refused (exit 2), never followed."""
        self.prefetch([date])  # both candidates in one look-up
        found = [path for path in self.candidates(date) if self._is_entry(path)]
        if len(found) > 1:
            raise InputError(f"two entries for {date}: {self.rel(found[0])} and "
                             f"{self.rel(found[1])}; keep one")
        if not found:
            tried = " or ".join(self.rel(p) for p in self.candidates(date))
            raise NothingToPost(f"no entry for {date}: looked for {tried}; "
                                f"create one with 'agent-diary new --date {date}'")
        return found[0]

    def rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def _is_entry(self, path: Path) -> bool:
        found = gitstore.working_file(self.root, self.rel(path))  # refuses any link
        if self.committed is None:
            return found is not None
        return gitstore.committed_blob(self.root, self.rel(path), self.committed) is not None

    def load_entry(self, date: dt.date) -> Entry:
        rel = self.rel(self.entry_path(date))
        size = self.file_size(rel)
        if size is not None:  # one over the limit is refused unread (parse_entry checks too)
            check_entry_size(rel, size)
        text = self.read_text(rel)
        if text is None:  # gone between the look-up and the read
            raise NothingToPost(f"no entry for {date}: {rel} is not there any more")
        return parse_entry(text, date, rel)

    def template_source(self, name: str) -> str | None:
        """A template by file name: the repository's `templates/NAME`, else the packaged
        one. Plain names only (an include of `../x` finds nothing)."""
        if not re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*", name):
            return None
        own = self.read_text(f"templates/{name}")
        if own is not None:
            return own
        packaged = PACKAGED_TEMPLATES / name
        return packaged.read_text(encoding="utf-8") if packaged.is_file() else None

    def read_text(self, rel: str) -> str | None:
        data = self.read_bytes(rel)
        return None if data is None else decode(data, rel)

    def latest_date(self) -> dt.date:
        """The newest entry's date (this one does list the diary folder)."""
        newest: dt.date | None = None
        if self.diary_dir.is_dir():
            for _, _, files in os.walk(self.diary_dir):
                for name in files:
                    match = _DATE_NAME.fullmatch(name)
                    if match:
                        try:
                            date = dt.date.fromisoformat(match[1])
                        except ValueError:
                            continue
                        newest = date if newest is None or date > newest else newest
        if newest is None:
            raise NothingToPost(f"no entries in {self.rel(self.diary_dir)}/; create one with "
                                "'agent-diary new'")
        return newest

    def config(self) -> Config:
        """The settings: the repository's own `config.yaml` is read like any file of the
        diary (committed in the committed view, never through a link); a file named with
        --config is the operator's own choice and is read where it is."""
        if not self.uses_own_config:
            return load_named_config(self.config_path)
        text = self.read_text("config.yaml")
        source = "config.yaml" + (" (as committed)" if self.committed is not None else "")
        if text is None:
            return config_from_text(None, f"{source} (missing: defaults)")
        return config_from_text(text, source)


def load_named_config(path: Path) -> Config:
    """A settings file named with --config. Missing, it is a mistake (a typo would
    otherwise post with the defaults); only the default config.yaml may be absent."""
    if not path.exists():
        raise InputError(f"--config {path}: no such file; check the path, or leave out "
                         "--config to use config.yaml at the repository's top")
    return load_config(path)


def decode(data: bytes, label: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{label}: not UTF-8 text (byte {exc.start}); save it as UTF-8") \
            from None


def work_tree_top(start: Path) -> Path | None:
    """The top of the git work tree containing `start`, or None outside any."""
    start = start.resolve()
    return next((folder for folder in (start, *start.parents) if (folder / ".git").exists()),
                None)


def find_root(start: Path) -> Path:
    """The top of the git work tree containing `start`."""
    top = work_tree_top(start)
    if top is not None:
        return top
    start = start.resolve()
    raise InputError(f"{start} is not inside a git repository; run 'git init' and "
                     "'agent-diary init' there, or pass --repo PATH")


def open_diary(repo: Path | None, config: Path | None) -> Diary:
    root = find_root(repo if repo is not None else Path.cwd())
    return Diary(root=root, config_path=config if config is not None else root / "config.yaml")


DATE_WORDS = ("today", "tomorrow", "yesterday", "latest")
NEW_DATE_WORDS = ("today", "tomorrow", "yesterday")  # `new` writes a day, never "latest"
_DAY_SHIFT = {"yesterday": -1, "today": 0, "tomorrow": 1}


def resolve_date(spec: str, timezone: str, now: dt.datetime | None = None,
                 diary: Diary | None = None, words: tuple[str, ...] = DATE_WORDS) -> dt.date:
    """One of `words` (`today`, `tomorrow`, `yesterday` in the configured zone, `latest`:
    the newest entry) or `YYYY-MM-DD`; `words` is what the asking command takes."""
    from zoneinfo import ZoneInfo

    if spec in words and spec in _DAY_SHIFT:
        moment = now if now is not None else dt.datetime.now(dt.UTC)
        today = moment.astimezone(ZoneInfo(timezone)).date()
        return today + dt.timedelta(days=_DAY_SHIFT[spec])
    if spec in words and spec == "latest":
        if diary is None:
            raise InputError("--date latest needs a diary")
        return diary.latest_date()
    try:
        return dt.date.fromisoformat(spec)
    except ValueError:
        raise InputError(_date_error(spec, words)) from None


def _date_error(spec: str, words: tuple[str, ...]) -> str:
    """What is wrong with a --date, what this command takes, and the likeliest fix."""
    import difflib

    days = ", ".join(word for word in words if word in _DAY_SHIFT)
    *first, last = [f"{days} (in the configured time zone)"] * bool(days) \
        + ["latest (the newest entry)"] * ("latest" in words) \
        + ["a date YYYY-MM-DD, e.g. 2026-11-28"]
    takes = f"--date takes {', '.join(first)} or {last}"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", spec):
        return f"--date {spec}: not a date in the calendar; here {takes}"
    close = difflib.get_close_matches(spec.lower(), words, n=1)
    if close:
        return f"--date {spec!r}: did you mean '{close[0]}'? Here {takes}"
    return f"--date {spec!r}: here {takes}"


# --- init and new ------------------------------------------------------------------------

def init_root(start: Path) -> Path:
    """Where `init` lays out a diary: the top of the repository around `start` (run in
    `diary/` of a diary, it must not make a repository inside it), else `start` itself,
    which becomes a new repository."""
    return work_tree_top(start) or start.resolve()


def init_layout(root: Path) -> list[tuple[str, bool]]:
    """Create config.yaml, diary/, templates/thread.j2; never overwrite. (path, created)."""
    results: list[tuple[str, bool]] = []
    created_git = not (root / ".git").exists()
    if created_git:
        gitstore.init_repository(root)
        results.append((".git", True))
    for folder in ("diary", "diary/media", "templates"):
        path = root / folder
        results.append((folder + "/", not path.exists()))
        path.mkdir(parents=True, exist_ok=True)
    files = {
        "config.yaml": default_config_text(),
        "templates/thread.j2": (PACKAGED_TEMPLATES / "thread.j2").read_text(encoding="utf-8"),
    }
    for name, text in files.items():
        results.append((name, write_new(root / name, text)))
    return results


def write_new(path: Path, text: str) -> bool:
    """Write a file only if it does not exist (atomically, via O_EXCL)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8", newline="") as handle:
            handle.write(text)
    except FileExistsError:
        return False
    return True


def entry_skeleton(date: dt.date, title: str | None) -> str:
    title_line = title if title else f"Day of {date.isoformat()}"
    quoted = '"' + title_line.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"""---
title: {quoted}
status: draft            # set to ready when the entry may be posted
tags: []
---
What happened today, in plain Markdown. Paragraphs are packed into posts of up to
280 characters; a line holding only --- starts a new post.
"""


def new_entry(diary: Diary, date: dt.date, title: str | None) -> Path:
    existing = [p for p in diary.candidates(date) if p.exists()]
    if existing:
        raise InputError(f"{diary.rel(existing[0])} already exists; edit it instead "
                         "(agent-diary new never overwrites)")
    path = diary.candidates(date)[0]
    if not write_new(path, entry_skeleton(date, title)):
        raise InputError(f"{diary.rel(path)} already exists; edit it instead")
    return path
