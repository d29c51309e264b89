"""Files of the repository: in a commit (batched look-ups, a bounded cache) and in the
work tree, a symbolic link anywhere on the way refused, never followed."""

from __future__ import annotations

import os
import stat
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TypeGuard

from .errors import InputError
from .gitrun import LITERAL, git

_CHUNK = 1000  # paths per git command line (far below any system's argument limit)


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


def committed_size(root: Path, rel: str, commit: str) -> int | None:
    """The size in bytes of the file `rel` in `commit` (from the tree listing: the file is
    not read), or None if it has no such file."""
    node = _committed_node(root, rel, commit)
    return None if node is None else node.size


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
