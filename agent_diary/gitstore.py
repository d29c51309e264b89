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
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import stat
import subprocess
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TypeGuard

from .errors import InputError, TemporaryError
from .journal import fsync_dir

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
_CHUNK = 1000  # paths per git command line (far below any system's argument limit)
_FEW_PATHS = 32  # more paths than this: `git status` is asked about their folders


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


# --- files in a commit ---------------------------------------------------------------------

@dataclass(frozen=True)
class _Node:
    mode: str
    kind: str  # blob, tree or commit (a submodule)
    oid: str
    size: int  # of a blob; -1 for a tree or commit


@dataclass(frozen=True)
class _Link:
    """A symbolic link at `path` on the way to the file looked up: refused."""

    path: str


_Found = _Node | _Link | None

_MAX_NODES = 8192  # (repository, commit, path) look-ups kept
# Contents are kept by size: a file up to _MAX_CACHED_BLOB (an entry, a template,
# config.yaml; a small image too), _MAX_BLOB_BYTES in all, least recently used out first.
# A larger one (most images) is never kept, so a service that posted one holds no copy:
# `prefetch` does not read it ahead (ls-tree gives the sizes), and each `committed_bytes`
# of it reads it from git once.
_MAX_BLOB_BYTES = 4 * 2**20
_MAX_CACHED_BLOB = 64 * 2**10
_lock = threading.Lock()  # the service reads from several threads
_nodes: OrderedDict[tuple[str, str, str], _Found] = OrderedDict()
_blobs: OrderedDict[str, bytes] = OrderedDict()  # by blob id: the same in any repository
_blob_bytes = 0


def clear_cache() -> None:
    """Forget every look-up (tests; nothing else needs it: commits do not change)."""
    global _blob_bytes
    with _lock:
        _nodes.clear()
        _blobs.clear()
        _blob_bytes = 0


def _remember_node(key: tuple[str, str, str], found: _Found) -> None:
    with _lock:
        _nodes[key] = found
        _nodes.move_to_end(key)
        while len(_nodes) > _MAX_NODES:
            _nodes.popitem(last=False)


def _cached_node(key: tuple[str, str, str]) -> tuple[bool, _Found]:
    with _lock:
        if key not in _nodes:
            return False, None
        _nodes.move_to_end(key)
        return True, _nodes[key]


def _keeps(node: _Found | str) -> TypeGuard[_Node]:
    """Whether `node` is a file whose contents the cache keeps (so reads ahead)."""
    return isinstance(node, _Node) and 0 <= node.size <= _MAX_CACHED_BLOB


def _remember_blob(oid: str, data: bytes) -> None:
    global _blob_bytes
    if len(data) > _MAX_CACHED_BLOB:
        return
    with _lock:
        if oid in _blobs:
            return
        _blobs[oid] = data
        _blob_bytes += len(data)
        while _blob_bytes > _MAX_BLOB_BYTES:
            _blob_bytes -= len(_blobs.popitem(last=False)[1])


def _ls_tree(root: Path, commit: str, paths: list[str], recurse: bool) -> dict[str, _Node]:
    """`git ls-tree -z -l` of `paths` in `commit`: with `recurse`, every folder on the way
    to each path is listed too (-r -t); without, each path itself (a folder not opened).
    -l: each blob's size, so that only what the cache keeps is read ahead."""
    listing: dict[str, _Node] = {}
    for start in range(0, len(paths), _CHUNK):
        out = git(root, "ls-tree", "-z", "-l", *(["-r", "-t"] if recurse else []), commit,
                  "--", *paths[start:start + _CHUNK], env=LITERAL)
        for line in out.split(b"\0"):
            if not line:
                continue
            meta, _, name = line.partition(b"\t")
            mode, kind, oid, size = meta.decode("ascii").split()
            listing[name.decode("utf-8", "surrogateescape")] = \
                _Node(mode, kind, oid, int(size) if size.isdigit() else -1)
    return listing


def _resolve(parts: tuple[str, ...], listing: dict[str, _Node],
             settled: set[str]) -> _Found | str:
    """The file at `parts` from what ls-tree listed, a link refused on the way, or (a
    str) a folder on the way ls-tree -r -t did not show that must be asked about: it is
    missing, or a file or link rather than a folder."""
    node: _Node | None = None
    for index in range(1, len(parts) + 1):
        path = "/".join(parts[:index])
        node = listing.get(path)
        if node is None:
            return None if index == len(parts) or path in settled else path
        if node.mode == "120000":
            return _Link(path)
        if index < len(parts) and node.kind != "tree":
            return None
    return node if node is not None and node.kind == "blob" else None


def _cat_file(root: Path, names: list[str]) -> dict[str, bytes | None]:
    """One `git cat-file --batch` for `names` (object ids, or `COMMIT:PATH`): the content
    of each, None for one git does not have."""
    if not names:
        return {}
    out = git(root, "cat-file", "--batch", data="".join(f"{n}\n" for n in names).encode())
    found: dict[str, bytes | None] = {}
    at = 0
    for name in names:
        end = out.index(b"\n", at)
        header = out[at:end].split(b" ")
        if len(header) != 3 or not header[2].isdigit():  # "NAME missing" (or ambiguous)
            found[name], at = None, end + 1
            continue
        size = int(header[2])
        found[name], at = out[end + 1:end + 1 + size], end + 1 + size + 1
    return found


def _read_blobs(root: Path, oids: list[str],
                also: Iterable[str] = ()) -> dict[str, bytes | None]:
    """The contents of `oids` (cached ones from the cache), and of the objects named
    `also`, with one `git cat-file --batch` for all that are not cached."""
    found: dict[str, bytes | None] = {}
    with _lock:
        for oid in oids:
            if oid in _blobs:
                found[oid] = _blobs[oid]
    read = _cat_file(root, [n for n in dict.fromkeys([*oids, *also]) if n not in found])
    for oid in oids:
        if oid in read:
            data = read[oid]
            if data is None:
                raise InputError(f"git has no object {oid} in {root}; the repository is "
                                 "damaged (git fsck)")
            _remember_blob(oid, data)
    return {**read, **found}


def _pathspecs(rels: list[str]) -> tuple[list[str], set[str]]:
    """What to give `ls-tree -r -t` to find `rels`, and the folders among it. Each path
    itself, except that paths sharing a folder below the top (a year folder) are asked
    for as that folder: git matches every entry of a big folder against every path
    given, and a folder asked for is either listed or known to be missing."""
    parents = [str(PurePosixPath(rel).parent) for rel in rels]
    shared = {folder for folder, n in Counter(parents).items() if "/" in folder and n > 1}
    specs = [folder if folder in shared else rel for rel, folder in zip(rels, parents, strict=True)]
    return list(dict.fromkeys(specs)), shared


def _look_up(root: Path, commit: str, rels: list[str], contents: bool,
             also_read: Iterable[str] = ()) -> None:
    """Find `rels` in `commit` with one `ls-tree -r -t` and cache what was found. A
    folder on the way that it did not show and was not asked for (a missing year folder
    of a single date) is asked about in the `cat-file --batch` that reads the contents;
    only a file or link there (rare) takes a third call, to see its mode. `also_read`:
    blobs found before, whose contents are wanted too, read in the same call."""
    specs, asked_folders = _pathspecs(rels)
    listing = _ls_tree(root, commit, specs, recurse=True)
    results = {rel: _resolve(repository_parts(rel), listing, asked_folders) for rel in rels}
    unclear = list(dict.fromkeys(r for r in results.values() if isinstance(r, str)))
    blobs = [*also_read, *(n.oid for n in results.values() if _keeps(n))] if contents else []
    if unclear or blobs:
        asked = {path: f"{commit}:{path}" for path in unclear if "\n" not in path}
        answers = _read_blobs(root, blobs, asked.values())
        there = [path for path in unclear
                 if path not in asked or answers.get(asked[path]) is not None]
        if there:  # a file or a link where a folder would be: its mode tells which
            listing.update(_ls_tree(root, commit, there, recurse=False))
        settled = asked_folders | set(unclear)
        results = {rel: _resolve(repository_parts(rel), listing, settled) for rel in rels}
    for rel, found in results.items():
        assert not isinstance(found, str)
        _remember_node((str(root), commit, rel), found)


def prefetch(root: Path, commit: str, rels: Iterable[str], *, contents: bool = False) -> None:
    """Look up many files of `commit` at once (and with `contents`, read them): the
    `committed_blob`/`committed_bytes` calls that follow for them start no process (but
    for a file too large to keep: see _MAX_CACHED_BLOB). Two git calls at most in the
    usual case, whatever the number of paths. A path refused (a link on the way) is
    refused when it is asked for, not here."""
    if not commit:
        return
    paths = []
    for rel in rels:
        try:
            paths.append("/".join(repository_parts(rel)))  # as _committed_node keys them
        except InputError:
            continue  # refused when asked for
    unique = list(dict.fromkeys(paths))
    wanted = [rel for rel in unique if not _cached_node((str(root), commit, rel))[0]]

    def found_blobs() -> list[str]:
        nodes = [_cached_node((str(root), commit, rel))[1] for rel in unique]
        return [node.oid for node in nodes if _keeps(node)]

    if wanted:  # and the contents of those found before, in the same call
        _look_up(root, commit, wanted, contents, found_blobs() if contents else ())
    elif contents:  # all found before: read what is not cached
        _read_blobs(root, found_blobs())


def _committed_node(root: Path, rel: str, commit: str) -> _Node | None:
    """The file `rel` in `commit` (None if absent or not a file). A symbolic link (git
    mode 120000) anywhere on the path is refused, never followed."""
    parts = repository_parts(rel)
    if not commit:  # a repository with no commit yet
        return None
    key = (str(root), commit, "/".join(parts))
    known, found = _cached_node(key)
    if not known:
        _look_up(root, commit, [key[2]], contents=False)
        found = _cached_node(key)[1]
    if isinstance(found, _Link):
        raise symlink_refused(found.path)
    return found


def committed_bytes(root: Path, rel: str, commit: str) -> bytes | None:
    """The file `rel` as committed in `commit`, or None if it has no such file: the
    look-up from the cache or one `ls-tree`, the contents from the cache or one
    `cat-file`."""
    node = _committed_node(root, rel, commit)
    return None if node is None else _read_blobs(root, [node.oid])[node.oid]


def committed_blob(root: Path, rel: str, commit: str) -> str | None:
    """The blob id of `rel` in `commit` (what identifies its content), or None."""
    node = _committed_node(root, rel, commit)
    return None if node is None else node.oid


# --- the work tree -------------------------------------------------------------------------

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
