"""Running git: the one place a git process is started, and its one error.

Plain `git` as short subprocesses with LC_ALL=C (some of git's messages are parsed), no
stdin, and none of the caller's variables that point git elsewhere; literal pathspecs
only where a command is given our own paths (`LITERAL`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path

from .errors import InputError

# LC_ALL=C: some of git's messages are parsed below.
GIT_ENV = {"LC_ALL": "C", "LANGUAGE": "C"}
# For the commands given our own paths (ls-tree, status, commit), not for pull or push,
# whose hooks would inherit it: an entry or image named `*.md` or `:x` means that file.
LITERAL = {"GIT_LITERAL_PATHSPECS": "1"}
# What points git at another repository, work tree or index (a git hook's environment
# sets them) or changes how our paths are read: git must look at the diary's repository,
# whose HEAD is read from its own files.
_NOT_INHERITED = frozenset({
    "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_LITERAL_PATHSPECS", "GIT_GLOB_PATHSPECS",
    "GIT_NOGLOB_PATHSPECS", "GIT_ICASE_PATHSPECS"})


class GitFailed(InputError):
    """A git command failed: exit 2 with what git said, naming the repository (a damaged
    index; a repository owned by another user, where git's own advice is the fix).
    `detail` is git's message (stderr, else stdout), for callers that say more."""

    def __init__(self, root: Path, command: str, detail: str, returncode: int) -> None:
        super().__init__(f"git {command} failed in {root}: {detail}")
        self.detail = detail
        self.returncode = returncode


def git(root: Path, *args: str, data: bytes | None = None,
        env: Mapping[str, str] | None = None, timeout: float | None = None) -> bytes:
    """Run `git ARGS` in `root` and return its standard output; GitFailed if it fails.
    git never reads the caller's stdin (an MCP server speaks on it). With `timeout`, git
    and everything it started (ssh, a credential helper) are killed when it runs out:
    git runs in a process group of its own for that."""
    inherited = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    try:
        proc = subprocess.Popen(["git", *args], cwd=root,
                                env={**inherited, **GIT_ENV, **(env or {})},
                                stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=timeout is not None)
    except OSError as exc:
        raise GitFailed(root, args[0], f"git could not be started ({exc.strerror}); is git "
                        "installed and on PATH?", -1) from None
    with proc:
        try:
            out, err = proc.communicate(data, timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise GitFailed(root, args[0], f"no answer within {timeout:g} s", -1) from None
    if proc.returncode != 0:
        detail = (err or out).decode("utf-8", "replace").strip()
        raise GitFailed(root, args[0], detail or f"git {args[0]} exited with {proc.returncode}",
                        proc.returncode)
    return out
