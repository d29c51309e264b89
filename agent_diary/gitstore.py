"""Git: is an entry committed, what HEAD holds, the one-file commit, pull and push."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from .errors import InputError, TemporaryError
from .journal import fsync_dir


def _repo(root: Path) -> Any:
    from git import Repo  # GitPython is heavy: only when git is needed

    return Repo(root)


def file_state(root: Path, rel: str) -> str:
    """"clean" (in HEAD, working copy and index equal to it), "untracked" (not in HEAD) or
    "modified" (in HEAD, but edited or staged since)."""
    repo = _repo(root)
    try:
        repo.head.commit.tree / rel
    except (ValueError, KeyError):  # no commit yet, or not in HEAD's tree
        return "untracked"
    return "modified" if repo.git.status("--porcelain", "--", rel).strip() else "clean"


def head_bytes(root: Path, rel: str) -> bytes:
    """The file exactly as committed (GitPython's `git show` would strip the newline)."""
    return (_repo(root).head.commit.tree / rel).data_stream.read()


def atomic_write(path: Path, text: str) -> None:
    """Write via a temporary file and rename, fsynced: the file is old or new, never half."""
    temp = path.with_name(f".{path.name}.agent-diary-{os.getpid()}.tmp")
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    with temp.open("wb") as handle:
        handle.write(text.encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(temp, mode)
    os.replace(temp, path)
    fsync_dir(path.parent)


def commit_file(root: Path, rel: str, message: str, author: str | None) -> str:
    """Commit `rel` alone: other staged or modified files stay exactly as they were."""
    from git import GitCommandError

    repo = _repo(root)
    env = {}
    args = ["--only", "--no-verify", "-m", message]
    if author:
        name, email = author.rsplit(" <", 1)
        env = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email.rstrip(">"),
               "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email.rstrip(">")}
    try:
        # --no-verify: the tool's own one-line change must not be stopped or rewritten
        # by hooks written for people's commits once the thread is already on X.
        repo.git.commit(*args, "--", rel, env=env)
    except GitCommandError as exc:
        detail = (exc.stderr or str(exc)).strip()
        hint = (" Set git.author in config.yaml or git config user.name/user.email."
                if "identity" in detail or "tell me who you are" in detail.lower() else "")
        raise InputError(f"git could not commit {rel}: {detail}.{hint}") from None
    return repo.head.commit.hexsha


def pull(root: Path) -> None:
    """Fast-forward only: a diverged branch is reported, never merged."""
    from git import GitCommandError

    try:
        _repo(root).git.pull("--ff-only")
    except GitCommandError as exc:
        detail = (exc.stderr or str(exc)).strip()
        if "diverg" in detail or "Not possible to fast-forward" in detail:
            raise InputError(f"git pull: the branch has diverged from its upstream; "
                             f"reconcile it by hand ({detail})") from None
        raise TemporaryError(f"git pull failed: {detail}") from None


def push(root: Path, attempts: int = 3) -> None:
    """Push; a rejected push is rebased onto the upstream and retried, never forced."""
    from git import GitCommandError

    repo = _repo(root)
    for attempt in range(attempts):
        try:
            repo.git.push()
            return
        except GitCommandError as exc:
            detail = (exc.stderr or str(exc)).strip()
            rejected = "rejected" in detail or "fetch first" in detail
            if not rejected or attempt == attempts - 1:
                raise TemporaryError(f"git push failed: {detail}; the commit is kept "
                                     "locally, push it by hand or rerun") from None
        try:
            repo.git.pull("--rebase")
        except GitCommandError as exc:
            with contextlib.suppress(GitCommandError):
                repo.git.rebase("--abort")
            raise TemporaryError(f"git push was rejected and rebasing onto the upstream "
                                 f"failed ({(exc.stderr or str(exc)).strip()}); the commit "
                                 "is kept locally") from None
