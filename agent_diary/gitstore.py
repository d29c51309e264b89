"""Git: is an entry committed, what HEAD holds, the one-file commit, pull and push.

One GitPython repository object per work tree for the whole process: a `Repo` that is
collected closes its `git cat-file` pipes under any stream still being read (the "read of
closed file" a diary of a few hundred entries ran into). Git runs with LC_ALL=C, since
some of its messages are parsed below.
"""

from __future__ import annotations

import contextlib
import functools
import os
import stat
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import InputError, TemporaryError
from .journal import fsync_dir

GIT_ENV = {"LC_ALL": "C", "LANGUAGE": "C"}


@functools.cache
def _repo(root: Path) -> Any:
    from git import Repo  # GitPython is heavy: only when git is needed

    repo = Repo(root)
    repo.git.update_environment(**GIT_ENV)
    return repo


def symlink_refused(rel: str) -> InputError:
    return InputError(f"{rel} is a symbolic link; agent-diary reads no links, so that nothing "
                      "outside the repository is ever read or posted: replace the link with "
                      "the file itself")


def repository_parts(rel: str) -> tuple[str, ...]:
    """The parts of a repository-relative POSIX path, refusing any way out of the work
    tree (an absolute path, `..`, or the `.git` folder)."""
    parts = PurePosixPath(rel).parts
    if not parts or rel.startswith("/") or ".." in parts or parts[0] == ".git":
        raise InputError(f"{rel!r} resolves outside the repository; only files inside the "
                         "repository (not in .git) are read")
    return parts


def _committed_node(root: Path, rel: str, commit: str) -> Any:
    """The tree entry `rel` in `commit` (None if absent). A symbolic link (git mode
    120000) anywhere on the path is refused, never followed."""
    parts = repository_parts(rel)
    if not commit:  # a repository with no commit yet
        return None
    node = _repo(root).commit(commit).tree
    for index, part in enumerate(parts):
        if node.type != "tree":
            return None
        try:
            node = node / part
        except KeyError:
            return None
        if stat.S_ISLNK(node.mode):
            raise symlink_refused("/".join(parts[:index + 1]))
    return node if node.type == "blob" else None


def committed_bytes(root: Path, rel: str, commit: str) -> bytes | None:
    """The file `rel` as committed in `commit`, or None if it has no such file."""
    node = _committed_node(root, rel, commit)
    return None if node is None else node.data_stream.read()


def committed_blob(root: Path, rel: str, commit: str) -> str | None:
    """The blob id of `rel` in `commit` (what identifies its content), or None."""
    node = _committed_node(root, rel, commit)
    return None if node is None else str(node.hexsha)


def working_file(root: Path, rel: str) -> Path | None:
    """The regular file `rel` in the work tree, or None if there is none. A symbolic link
    anywhere on the path is refused, never followed: nothing outside the repository is
    reached, whatever was committed."""
    parts = repository_parts(rel)
    path = root
    for index, part in enumerate(parts):
        path = path / part
        try:
            info = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if stat.S_ISLNK(info.st_mode):
            raise symlink_refused("/".join(parts[:index + 1]))
    return path if stat.S_ISREG(info.st_mode) else None


def working_bytes(root: Path, rel: str) -> bytes | None:
    """The bytes of `working_file(root, rel)`, or None if there is none."""
    path = working_file(root, rel)
    if path is None:
        return None
    # O_NOFOLLOW: a link swapped in after the check above is still not followed.
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        raise symlink_refused(rel) from None
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def file_state(root: Path, rel: str) -> str:
    """"clean" (in HEAD, working copy and index equal to it), "untracked" (not in HEAD) or
    "modified" (in HEAD, but edited or staged since)."""
    repo = _repo(root)
    try:
        repo.head.commit.tree / rel
    except (ValueError, KeyError):  # no commit yet, or not in HEAD's tree
        return "untracked"
    return "modified" if repo.git.status("--porcelain", "--", rel).strip() else "clean"


def status_code(root: Path, rel: str) -> str:
    """git's porcelain XY code for `rel`, "" when it is clean: X is the index against
    HEAD, Y the work tree against the index; "??" untracked, "!!" ignored."""
    # Plain git, not GitPython: preview asks this, and importing GitPython would double
    # its start-up time.
    import subprocess

    line = subprocess.run(["git", "status", "--porcelain", "--ignored", "--", rel],
                          cwd=root, capture_output=True, text=True, check=False,
                          env={**os.environ, **GIT_ENV}).stdout
    return line[:2] if line else ""


def head_commit(root: Path) -> str:
    """HEAD's commit id, or "" in a repository with no commit yet."""
    try:
        return str(_repo(root).head.commit.hexsha)
    except ValueError:
        return ""


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
