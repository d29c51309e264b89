"""The git layer (agent_diary/gitstore.py): what it answers, and how many git processes
it starts for it (counted, never timed)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from agent_diary import gitstore
from agent_diary.errors import InputError
from tests.helpers import DiaryRepo, EmulatorHandle, ProcessCount, git, make_repo, thread_entry


@pytest.fixture(autouse=True)
def fresh_cache():
    gitstore.clear_cache()
    yield
    gitstore.clear_cache()


def rev_parse(root: Path) -> str:
    result = subprocess.run(["git", "rev-parse", "-q", "--verify", "HEAD"], cwd=root,
                            capture_output=True, text=True, check=False)
    return result.stdout.strip()


def committed(repo: DiaryRepo, files: dict[str, str], message: str = "files") -> None:
    for rel, text in files.items():
        repo.write(rel, text)
    repo.commit(message)


# --- head_commit ------------------------------------------------------------------------

def test_head_commit_reads_every_usual_layout_without_starting_git(
        repo: DiaryRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    count = ProcessCount(monkeypatch, "git")

    def head_commit(root: Path) -> str:
        before = len(count.calls)
        found = gitstore.head_commit(root)
        assert count.calls[before:] == []
        return found

    assert head_commit(repo.root) == "" == rev_parse(repo.root)  # unborn branch
    committed(repo, {"a.md": "one"})
    committed(repo, {"a.md": "two"})
    assert head_commit(repo.root) == rev_parse(repo.root) != ""  # loose branch
    git(repo.root, "pack-refs", "--all")
    assert not (repo.root / ".git" / "refs" / "heads" / "main").exists()
    assert head_commit(repo.root) == rev_parse(repo.root)  # packed
    git(repo.root, "checkout", "-q", "--detach", "HEAD~1")
    assert head_commit(repo.root) == rev_parse(repo.root)  # detached
    git(repo.root, "checkout", "-q", "main")
    worktree = tmp_path / "linked"
    git(repo.root, "worktree", "add", "-q", "-b", "side", str(worktree))
    committed(DiaryRepo(worktree), {"b.md": "side"})
    assert head_commit(worktree) == rev_parse(worktree)  # HEAD private, ref common
    assert head_commit(worktree) != head_commit(repo.root)
    assert head_commit(repo.root) == rev_parse(repo.root)
    git(repo.root, "checkout", "-q", "--orphan", "fresh")
    assert head_commit(repo.root) == "" == rev_parse(repo.root)  # unborn again


def test_head_commit_asks_git_about_an_unusual_head(repo: DiaryRepo) -> None:
    committed(repo, {"a.md": "one"})
    git(repo.root, "tag", "v1")
    committed(repo, {"a.md": "two"})
    git(repo.root, "symbolic-ref", "HEAD", "refs/tags/v1")  # not a branch: git is asked
    assert gitstore.head_commit(repo.root) == rev_parse(repo.root) != ""


# --- files in a commit ------------------------------------------------------------------

def link_commit(repo: DiaryRepo) -> str:
    """A commit holding links: `linked` a link to a folder, `diary/2026` a link to a
    folder, `diary/leaf.md` a link to a file, and `plain` a file where a folder could be."""
    committed(repo, {"real/2026-01-01.md": "real entry", "real/sub/x.md": "x",
                     "diary/ok.md": "ok", "plain": "a file"})
    os.symlink("real", repo.root / "linked")
    os.symlink("../real", repo.root / "diary" / "2026")
    os.symlink("ok.md", repo.root / "diary" / "leaf.md")
    repo.commit("links")
    return gitstore.head_commit(repo.root)


@pytest.mark.parametrize(("rel", "refused"), [
    ("linked/2026-01-01.md", "linked"), ("linked/sub/x.md", "linked"),
    ("diary/2026/2026-01-01.md", "diary/2026"), ("diary/leaf.md", "diary/leaf.md")])
def test_a_link_anywhere_on_a_committed_path_is_refused(repo: DiaryRepo, rel: str,
                                                        refused: str) -> None:
    head = link_commit(repo)
    gitstore.prefetch(repo.root, head, [rel, "diary/ok.md"], contents=True)  # never raises
    for _ in range(2):  # from git, then from the cache
        with pytest.raises(InputError, match=f"^{refused} is a symbolic link"):
            gitstore.committed_bytes(repo.root, rel, head)
        with pytest.raises(InputError, match=f"^{refused} is a symbolic link"):
            gitstore.committed_blob(repo.root, rel, head)


def test_committed_look_ups_find_files_and_nothing_else(repo: DiaryRepo) -> None:
    head = link_commit(repo)
    root = repo.root
    assert gitstore.committed_bytes(root, "diary/ok.md", head) == b"ok"
    assert gitstore.committed_bytes(root, "real/2026-01-01.md", head) == b"real entry"
    assert gitstore.committed_blob(root, "diary/ok.md", head) == \
        git(root, "rev-parse", f"{head}:diary/ok.md").strip()
    for absent in ("plain/x.md", "real", "real/sub", "nope.md", "diary/2025/x.md",
                   "real/nope/x.md"):
        assert gitstore.committed_bytes(root, absent, head) is None, absent
    assert gitstore.committed_bytes(root, "diary/ok.md", "") is None  # no commit yet
    with pytest.raises(InputError, match="resolves outside the repository"):
        gitstore.committed_bytes(root, "../x.md", head)


def test_many_committed_dates_cost_two_git_calls_and_then_none(
        repo: DiaryRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    from agent_diary.diary import Diary

    start = dt.date(2026, 1, 1)
    dates = [start + dt.timedelta(days=n) for n in range(30)]
    committed(repo, {f"diary/{d}.md": f"---\nstatus: ready\n---\nDay {d}.\n" for d in dates})
    view = Diary(repo.root, repo.root / "config.yaml").committed_view()
    count = ProcessCount(monkeypatch, "git")
    view.prefetch(dates)
    assert sorted(count.subcommands()) == ["cat-file", "ls-tree"]
    count.calls.clear()
    for date in dates:
        assert view.load_entry(date).body.strip() == f"Day {date}."
    assert count.calls == []


def test_committed_bytes_are_the_same_in_a_big_commit(repo: DiaryRepo) -> None:
    """The batched reader against git itself, over files of many sizes."""
    files = {f"diary/f{n}.md": "é" * (n * 37) + "\n" * (n % 3) for n in range(60)}
    committed(repo, files)
    head = gitstore.head_commit(repo.root)
    gitstore.prefetch(repo.root, head, files, contents=True)
    for rel, text in files.items():
        assert gitstore.committed_bytes(repo.root, rel, head) == text.encode("utf-8")


# --- the work tree ------------------------------------------------------------------------

@pytest.mark.parametrize("filler", [0, 40])  # 40: past _FEW_PATHS, folders are asked
def test_status_codes_of_many_paths_agree_with_git_asked_one_by_one(
        repo: DiaryRepo, monkeypatch: pytest.MonkeyPatch, filler: int) -> None:
    extra = {f"fresh/more{n}.md": "m" for n in range(filler)}
    committed(repo, {".gitignore": "ignored.md\nskipped/\n", "clean.md": "c",
                     "edited.md": "e", "staged.md": "s", "both.md": "b", "gone.md": "g",
                     "fresh/old.md": "o", **extra})
    for n in range(0, filler, 3):
        repo.write(f"fresh/more{n}.md", "edited")
    repo.write("edited.md", "e2")
    repo.write("staged.md", "s2")
    git(repo.root, "add", "staged.md", "both.md")
    repo.write("both.md", "b2")
    repo.write("new.md", "n")
    repo.write("fresh/inside.md", "f")
    repo.write("brandnew/inside.md", "f")  # a wholly untracked folder
    repo.write("ignored.md", "i")
    repo.write("skipped/inside.md", "s")
    repo.write("added.md", "a")
    git(repo.root, "add", "added.md")
    git(repo.root, "rm", "-q", "--cached", "gone.md")
    rels = ["clean.md", "edited.md", "staged.md", "both.md", "new.md", "fresh/inside.md",
            "ignored.md", "skipped/inside.md", "added.md", "gone.md", "missing.md",
            "fresh/old.md", "brandnew/inside.md", *extra]
    count = ProcessCount(monkeypatch, "git")
    codes = gitstore.status_codes(repo.root, rels)
    assert count.subcommands() == ["status"]
    one_by_one = {rel: git(repo.root, "status", "--porcelain", "--ignored", "--", rel)[:2]
                  for rel in rels}
    assert codes == one_by_one
    assert codes["clean.md"] == "" and codes["new.md"] == "??" and codes["ignored.md"] == "!!"


# --- whole commands, git processes counted with a logging `git` on PATH -----------------

def git_shim(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose `git` logs its pid and arguments, then runs the real git."""
    real = shutil.which("git")
    assert real
    folder, log = tmp_path / "shim", tmp_path / "git.log"
    folder.mkdir()
    shim = folder / "git"
    shim.write_text(f'#!/bin/sh\necho "$$ $1" >> "{log}"\nexec "{real}" "$@"\n')
    shim.chmod(0o755)
    return {"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}, log


def logged(log: Path) -> list[tuple[int, str]]:
    if not log.exists():
        return []
    return [(int(pid), command) for pid, _, command in
            (line.partition(" ") for line in log.read_text().splitlines())]


def assert_none_running(calls: list[tuple[int, str]]) -> None:
    for pid, command in calls:
        try:
            alive = b"git" in Path(f"/proc/{pid}/cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError):
            alive = False
        assert not alive, f"git {command} (pid {pid}) still running after the command"


def test_status_of_many_days_starts_one_git_status(repo: DiaryRepo, tmp_path: Path) -> None:
    today = dt.datetime.now(dt.UTC).date()
    days = [today - dt.timedelta(days=n) for n in range(40)]
    committed(repo, {"config.yaml": "timezone: UTC\n",
                     **{f"diary/{d}.md": f"---\nstatus: ready\n---\nDay {d}.\n" for d in days}})
    repo.write(f"diary/{days[3]}.md", "---\nstatus: ready\n---\nEdited.\n")
    repo.write(f"diary/{today - dt.timedelta(days=45)}.md", "---\nstatus: ready\n---\nNew.\n")
    env, log = git_shim(tmp_path)
    result = repo.run("status", "--days", "50", env=env)
    assert result.code == 0, result.stderr
    assert f"{days[3]}  uncommitted" in result.stdout
    assert f"{today - dt.timedelta(days=45)}  uncommitted" in result.stdout
    assert result.stdout.count("not-scheduled") == 38  # all but today and the edited
    calls = logged(log)
    commands = [command for _, command in calls]
    assert commands.count("status") == 1 and len(commands) <= 3, commands  # + config.yaml
    assert_none_running(calls)


def test_publish_starts_as_many_git_processes_in_a_big_diary_as_in_a_small_one(
        tmp_path: Path, emulator: EmulatorHandle) -> None:
    counts = []
    for name, entries in (("small", 2), ("big", 40)):
        repo = make_repo(tmp_path / name)
        date = dt.date(2026, 3, 1)
        files = {f"diary/{date - dt.timedelta(days=n)}.md":
                 thread_entry(2, status="ready").replace("Post number", f"{name} {n}:")
                 for n in range(entries)}
        committed(repo, {"config.yaml": "timezone: UTC\n", **files})
        env, log = git_shim(tmp_path / name)
        result = repo.run("publish", "--date", str(date), env={**emulator.env(), **env})
        assert result.code == 0, result.stderr
        calls = logged(log)
        assert_none_running(calls)
        counts.append(sorted(command for _, command in calls))
    assert counts[0] == counts[1]
    assert len(counts[1]) <= 12, counts[1]


def test_no_command_needs_gitpython(tmp_path: Path, emulator: EmulatorHandle) -> None:
    """GitPython is no dependency any more: `init` (which made the repository with it),
    `publish`, `status` and `doctor` run with an importable `git` package that refuses."""
    from tests.helpers import ROOT, run_cli

    poison = tmp_path / "poison" / "git"
    poison.mkdir(parents=True)
    (poison / "__init__.py").write_text("raise ImportError('GitPython was imported')\n")
    env = {**emulator.env(), "PYTHONPATH": f"{poison.parent}{os.pathsep}{ROOT}"}
    folder = tmp_path / "new-diary"
    folder.mkdir()
    assert run_cli("init", cwd=folder, env=env).code == 0
    repo = DiaryRepo(folder)
    git(folder, "config", "user.name", "Test Agent")
    git(folder, "config", "user.email", "agent@example.invalid")
    repo.write("diary/2026-03-01.md", thread_entry(2, status="ready"))
    repo.commit()
    results = [repo.run(*args, env=env) for args in
               (["publish", "--date", "2026-03-01"], ["status"], ["doctor"])]
    assert results[0].code == 0, results[0].stderr
    for result in results:
        assert "GitPython" not in result.stdout + result.stderr


def test_an_idle_poll_starts_no_git_process(repo: DiaryRepo,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """What the service asks of every diary at every poll (HEAD, config.yaml's blob in
    it) costs one look-up per commit, then nothing while HEAD stays."""
    committed(repo, {"config.yaml": "timezone: UTC\n"})
    count = ProcessCount(monkeypatch, "git")
    first = gitstore.committed_blob(repo.root, "config.yaml", gitstore.head_commit(repo.root))
    assert first is not None and len(count.calls) == 1
    for _ in range(3):
        head = gitstore.head_commit(repo.root)
        assert gitstore.committed_blob(repo.root, "config.yaml", head) == first
        assert gitstore.committed_bytes(repo.root, "config.yaml", head) == b"timezone: UTC\n"
    assert len(count.calls) == 2  # the one look-up, and one read of the content
