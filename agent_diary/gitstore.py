"""Git: is an entry committed, what HEAD holds, the one-file commit, pull and push.

The one git layer of the process: plain `git` run as short subprocesses, never a library,
with LC_ALL=C (some of git's messages are parsed below), literal pathspecs for our own
paths, no stdin, and none of the caller's variables that point git elsewhere. GitPython
was used before and is gone: importing it cost ~62 ms and 11 MB of memory, a `Repo` that
was collected closed its pipes under a stream still being read ("read of closed file"),
and it keeps `git cat-file` processes alive for every repository it opened — one `run`
process serving 1,000 diaries would keep thousands. Here no git process outlives the call
that started it.

What stays cheap however large the diary:
- `head_commit` reads HEAD and the refs in Python (no process) in the usual layouts, and
  asks `git rev-parse` only for anything unusual (reftable, a symbolic ref to a ref);
- look-ups in a commit are batched (`prefetch`: one `ls-tree` for many paths, a second
  only for folders it could not tell apart, one `cat-file --batch` for their contents)
  and cached per (repository, commit, path): a commit never changes, so the cache is
  never stale; it is bounded;
- `status_codes`: one `git status` for all the paths a command asks about.

Callers use the names here; the parts live apart: `gitrun` starts git, `gitrefs` reads
HEAD, `gittree` looks files up in a commit and in the work tree. This module: status,
the one-file commit, pull and push, and doctor's questions.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from .errors import InputError, TemporaryError
from .gitrefs import common_git_dir, head_commit
from .gitrun import LITERAL, GitFailed, git
from .gittree import (
    clear_cache,
    committed_blob,
    committed_bytes,
    committed_size,
    prefetch,
    working_bytes,
    working_file,
)

__all__ = [  # what the rest of agent-diary uses, wherever it lives
    "GitFailed", "clear_cache", "commit_file", "committed_blob",
    "committed_bytes", "committed_size", "common_git_dir", "config_value", "file_state",
    "git", "head_commit",
    "init_repository", "prefetch", "pull", "push", "remote_problem", "status_codes",
    "working_bytes", "working_file"]

_FEW_PATHS = 32  # more paths than this: `git status` is asked about their folders


def status_codes(root: Path, rels: Iterable[str]) -> dict[str, str]:
    """git's porcelain XY code for each of `rels` ("" when clean), from one `git status`
    for all of them: X is the index against HEAD, Y the work tree against the index; "??"
    untracked, "!!" ignored. Renames are not paired (a moved entry is added, as it would
    be alone)."""
    wanted = list(dict.fromkeys(rels))
    codes = dict.fromkeys(wanted, "")
    if not wanted:
        return codes
    # git matches every index entry against every pathspec: hundreds of paths in a big
    # index cost more than asking about their folders and keeping the paths wanted.
    specs = wanted if len(wanted) <= _FEW_PATHS else \
        list(dict.fromkeys(str(PurePosixPath(rel).parent) for rel in wanted))
    # Optional locks off: `status` must not take index.lock from a publisher committing.
    out = git(root, "status", "--porcelain", "-z", "--ignored", "--untracked-files=all",
              "--no-renames", "--", *specs, env={**LITERAL, "GIT_OPTIONAL_LOCKS": "0"})
    for record in out.split(b"\0"):
        if len(record) < 4:
            continue
        code, path = record[:2].decode("ascii"), record[3:].decode("utf-8", "surrogateescape")
        for rel in ([path] if not path.endswith("/") else
                    [r for r in wanted if r.startswith(path)]):
            if codes.get(rel) == "":  # the first line for a path, as git sorts them
                codes[rel] = code
    return codes


def file_state(root: Path, rel: str) -> str:
    """"clean" (in HEAD, working copy and index equal to it), "untracked" (not in HEAD) or
    "modified" (in HEAD, but edited or staged since). A link committed at `rel` (or on
    the way to it) is refused as a link, whatever the work tree holds now."""
    if committed_blob(root, rel, head_commit(root)) is None:
        return "untracked"
    # Tracked, so no search for untracked files (the slow part of `status` in a big folder).
    out = git(root, "status", "--porcelain", "-z", "--untracked-files=no", "--no-renames",
              "--", rel, env={**LITERAL, "GIT_OPTIONAL_LOCKS": "0"})
    return "modified" if out.strip(b"\0") else "clean"


# --- writing: init, commit, pull, push ---------------------------------------------------------

def init_repository(root: Path) -> None:
    """`git init` in `root` (made if missing)."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q")


def commit_file(root: Path, rel: str, message: str, author: str | None) -> str:
    """Commit `rel` alone: other staged or modified files stay exactly as they were."""
    env = dict(LITERAL)
    if author:
        name, email = author.rsplit(" <", 1)
        env |= {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email.rstrip(">"),
               "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email.rstrip(">")}
    try:
        # --no-verify: the tool's own one-line change must not be stopped or rewritten
        # by hooks written for people's commits once the thread is already on X.
        git(root, "commit", "--only", "--no-verify", "-q", "-m", message, "--", rel, env=env)
    except GitFailed as exc:
        detail = exc.detail
        hint = (" Set git.author in config.yaml or git config user.name/user.email."
                if "identity" in detail or "tell me who you are" in detail.lower() else "")
        raise InputError(f"git could not commit {rel} in {root}: {detail}.{hint}") from None
    return head_commit(root)


# A repository owned by another user: no rerun helps; git's message says what does.
_UNSAFE = "detected dubious ownership"


def pull(root: Path) -> None:
    """Fast-forward only: a diverged branch is reported, never merged."""
    try:
        git(root, "pull", "--ff-only")
    except GitFailed as exc:
        detail = exc.detail
        if _UNSAFE in detail:
            raise
        if "diverg" in detail or "Not possible to fast-forward" in detail:
            raise InputError(f"git pull: the branch has diverged from its upstream; "
                             f"reconcile it by hand ({detail})") from None
        raise TemporaryError(f"git pull failed: {detail}") from None


def push(root: Path, attempts: int = 3) -> None:
    """Push; a rejected push is rebased onto the upstream and retried, never forced."""
    for attempt in range(attempts):
        try:
            git(root, "push")
            return
        except GitFailed as exc:
            detail = exc.detail
            if _UNSAFE in detail:
                raise
            rejected = "rejected" in detail or "fetch first" in detail
            if not rejected or attempt == attempts - 1:
                raise TemporaryError(f"git push failed: {detail}; the commit is kept "
                                     "locally, push it by hand or rerun") from None
        try:
            git(root, "pull", "--rebase")
        except GitFailed as exc:
            with contextlib.suppress(GitFailed):
                git(root, "rebase", "--abort")
            raise TemporaryError(f"git push was rejected and rebasing onto the upstream "
                                 f"failed ({exc.detail}); the commit is kept locally") from None


# --- doctor's questions ------------------------------------------------------------------------

def config_value(root: Path, key: str) -> str:
    """A git setting as git reads it (repository, global and system files), "" if unset."""
    try:
        return git(root, "config", "--get", key).decode("utf-8", "replace").strip()
    except GitFailed as exc:
        if exc.returncode == 1:  # the key is not set
            return ""
        raise


def remote_problem(root: Path, timeout: float = 20.0) -> str | None:
    """Why the remote cannot be reached (git's last line), None if it answers."""
    try:
        git(root, "ls-remote", "--heads", timeout=timeout)
    except GitFailed as exc:
        return " ".join(exc.detail.splitlines()[-1:])
    return None
