"""Where a repository keeps things, and HEAD's commit read from its files."""

from __future__ import annotations

import os
import re
from pathlib import Path

from .gitrun import GitFailed, git

# --- where the repository keeps things ------------------------------------------------

def git_dir(root: Path) -> Path:
    """The repository's git directory (`.git` may be a file in a worktree)."""
    dotgit = root / ".git"
    if dotgit.is_file():
        text = dotgit.read_text(encoding="utf-8").strip()
        if text.startswith("gitdir:"):
            target = Path(text[len("gitdir:"):].strip())
            return target if target.is_absolute() else (root / target).resolve()
    return dotgit


def common_git_dir(root: Path) -> Path:
    """The git directory shared by all worktrees (`git rev-parse --git-common-dir`): a
    linked worktree's git directory names it in its `commondir` file."""
    private = git_dir(root)
    try:
        common = (private / "commondir").read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return private
    target = Path(common)
    return (target if target.is_absolute() else private / target).resolve()


# --- HEAD ----------------------------------------------------------------------------------

_OID = re.compile(rb"[0-9a-f]{40}(?:[0-9a-f]{24})?")  # SHA-1 or SHA-256
_BRANCH = re.compile(rb"refs/heads/[^\s:?*\[\\^~]+")


class _Unusual(Exception):
    """A layout `_head_from_files` does not read: git itself is asked."""


def _read_ref_file(path: Path) -> bytes | None:
    """The stripped content of a ref file, None if there is none."""
    try:
        return path.read_bytes().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:
        raise _Unusual from None


def _packed_ref(common: Path, ref: bytes) -> str | None:
    """`ref`'s commit in packed-refs (`OID SP REFNAME` lines), None if not there."""
    try:
        data = (common / "packed-refs").read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:
        raise _Unusual from None
    at = (data + b"\n").find(b" " + ref + b"\n")
    if at < 0:
        return None
    oid = data[data.rfind(b"\n", 0, at) + 1:at]
    if not _OID.fullmatch(oid):
        raise _Unusual
    return oid.decode()


def _head_from_files(root: Path) -> str:
    """HEAD read as git stores it in files: HEAD in the worktree's own git directory, the
    branch it names loose or in packed-refs of the common one; "" on an unborn branch."""
    common = common_git_dir(root)
    if (common / "reftable").exists():
        raise _Unusual
    head = _read_ref_file(git_dir(root) / "HEAD")
    if head is None:
        raise _Unusual
    if _OID.fullmatch(head):  # detached
        return head.decode()
    ref = head[len(b"ref: "):] if head.startswith(b"ref: ") else b""
    if not _BRANCH.fullmatch(ref) or b".." in ref or b"//" in ref or ref.endswith(b"/"):
        raise _Unusual
    loose = _read_ref_file(common / os.fsdecode(ref))
    if loose is not None:
        if not _OID.fullmatch(loose):
            raise _Unusual  # e.g. a symbolic ref
        return loose.decode()
    packed = _packed_ref(common, ref)
    return packed if packed is not None else ""  # "": no commit on this branch yet


def head_commit(root: Path) -> str:
    """HEAD's commit id, or "" in a repository with no commit yet. Spawns nothing in the
    usual layouts: the service asks this of every diary on every poll."""
    try:
        return _head_from_files(root)
    except _Unusual:
        pass
    try:
        return git(root, "rev-parse", "-q", "--verify", "HEAD^{commit}").decode().strip()
    except GitFailed as exc:
        if exc.returncode == 1:  # -q --verify: quietly no commit; anything else is said
            return ""
        raise
