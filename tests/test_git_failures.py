"""When git fails, or the environment points git elsewhere: every command says what git
said about which repository and exits with the contract's code, never "internal error"
(exit 1). Real repositories, the real CLI. Each test failed before its fix."""

from __future__ import annotations

import datetime as dt
import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

from agent_diary import gitstore
from agent_diary.errors import AgentDiaryError
from tests.helpers import ROOT, DiaryRepo, clones_of_a_remote, git, make_repo, thread_entry

TODAY = dt.datetime.now(dt.UTC).date().isoformat()
COMMANDS = [["preview", "--date", TODAY], ["status"], ["publish", "--sandbox", "--date", TODAY]]


@pytest.fixture
def ready(repo: DiaryRepo) -> DiaryRepo:
    repo.write("config.yaml", "timezone: UTC\n")
    repo.write(f"diary/{TODAY}.md", thread_entry(2, status="ready"))
    repo.commit()
    return repo


def assert_git_refusal(result, root: Path, said: str) -> None:
    assert result.code == 2, result.stdout + result.stderr
    assert "internal error" not in result.stderr
    assert said in result.stderr and str(root) in result.stderr, result.stderr


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_broken_index_is_exit_2_with_gits_message(ready: DiaryRepo, command: list[str]) -> None:
    (ready.root / ".git" / "index").write_bytes(b"not an index")
    result = ready.run(*command)
    assert_git_refusal(result, ready.root, "index file")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the repository away")
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_repository_of_another_user_is_exit_2_with_gits_advice(
        ready: DiaryRepo, command: list[str]) -> None:
    nobody = pwd.getpwnam("nobody")
    for folder, dirs, files in os.walk(ready.root):
        for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
            os.lchown(name, nobody.pw_uid, nobody.pw_gid)
    result = ready.run(*command)
    assert_git_refusal(result, ready.root, "dubious ownership")
    assert "git config --global --add safe.directory" in result.stderr


def test_a_failing_git_is_an_agent_diary_error_naming_the_repository(ready: DiaryRepo) -> None:
    (ready.root / ".git" / "index").write_bytes(b"not an index")
    with pytest.raises(AgentDiaryError) as caught:
        gitstore.status_codes(ready.root, [f"diary/{TODAY}.md"])
    assert caught.value.exit_code == 2
    assert str(ready.root) in caught.value.message and "index file" in caught.value.message
    with pytest.raises(AgentDiaryError):
        gitstore.file_state(ready.root, f"diary/{TODAY}.md")


def test_a_committed_link_replaced_by_a_file_is_refused_as_a_link(repo: DiaryRepo) -> None:
    entry = f"diary/{TODAY}.md"
    repo.write("notes.md", thread_entry(2, status="ready"))
    (repo.root / "diary").mkdir()
    os.symlink("../notes.md", repo.root / entry)
    repo.commit("a link")
    os.unlink(repo.root / entry)
    repo.write(entry, thread_entry(2, status="ready"))
    result = repo.run("publish", "--sandbox", "--date", TODAY)
    assert result.code == 2, result.stderr
    assert f"{entry} is a symbolic link" in result.stderr


def test_git_reads_nothing_from_the_callers_stdin(repo: DiaryRepo) -> None:
    """An MCP server speaks on its stdin: git must never take a byte of it."""
    code = ("import sys; from pathlib import Path; from agent_diary import gitstore; "
            "sys.stdout.write(gitstore.git(Path('.'), 'hash-object', '--stdin').decode())")
    out = subprocess.run([sys.executable, "-c", code], cwd=repo.root, input=b"a request\n",
                         capture_output=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == b"e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"  # the empty blob


def test_hooks_of_a_push_do_not_inherit_literal_pathspecs(tmp_path: Path) -> None:
    _, (clone,) = clones_of_a_remote(tmp_path, "one")
    seen = tmp_path / "hook-env"
    hook = clone.root / ".git" / "hooks" / "pre-push"
    hook.write_text(f'#!/bin/sh\nenv > "{seen}"\n')
    hook.chmod(0o755)
    clone.write("a.md", "a")
    clone.commit()
    gitstore.push(clone.root)
    assert seen.exists()
    assert "GIT_LITERAL_PATHSPECS" not in seen.read_text()


def test_our_pathspecs_stay_literal(repo: DiaryRepo) -> None:
    """A file named like a pattern means that file: status, commit and look-ups."""
    repo.write("x[ab].md", "one")
    repo.write("xa.md", "one")
    repo.commit()
    repo.write("x[ab].md", "two")
    repo.write("xa.md", "two")
    assert gitstore.status_codes(repo.root, ["x[ab].md"]) == {"x[ab].md": " M"}
    gitstore.commit_file(repo.root, "x[ab].md", "only the one", None)
    assert gitstore.status_codes(repo.root, ["x[ab].md", "xa.md"]) == \
        {"x[ab].md": "", "xa.md": " M"}
    head = gitstore.head_commit(repo.root)
    assert gitstore.committed_bytes(repo.root, "x[ab].md", head) == b"two"


@pytest.fixture
def elsewhere(tmp_path: Path) -> dict[str, str]:
    """An environment naming another repository, as a git hook's environment does."""
    other = make_repo(tmp_path / "other")
    other.write("unrelated.md", "x")
    other.commit()
    return {"GIT_DIR": str(other.root / ".git"), "GIT_WORK_TREE": str(other.root),
            "GIT_INDEX_FILE": str(other.root / ".git" / "index")}


def test_git_variables_of_the_caller_do_not_redirect_git(
        ready: DiaryRepo, elsewhere: dict[str, str]) -> None:
    published = ready.run("publish", "--sandbox", "--date", TODAY, env=elsewhere)
    assert published.code == 0, published.stderr
    ready.write(f"diary/{TODAY}.md", thread_entry(3, status="ready"))
    previewed = ready.run("preview", "--date", TODAY, env=elsewhere)
    assert previewed.code == 0, previewed.stderr
    assert "has uncommitted edits" in previewed.stdout + previewed.stderr
    status = ready.run("status", "--days", "1", env=elsewhere)
    assert f"{TODAY}  uncommitted" in status.stdout, status.stdout + status.stderr


def test_the_git_layer_ignores_git_variables_of_the_caller(
        ready: DiaryRepo, elsewhere: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in elsewhere.items():
        monkeypatch.setenv(name, value)
    rel = f"diary/{TODAY}.md"
    assert gitstore.file_state(ready.root, rel) == "clean"
    ready.write(rel, "edited")
    assert gitstore.status_codes(ready.root, [rel]) == {rel: " M"}
    assert git(ready.root, "rev-parse", "--show-toplevel").strip() != str(ready.root)


# --- the blob cache (here for want of a better home while test_gitstore.py is edited) ---

def git_output(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Each git subcommand this process starts from now on, and the bytes it answered."""
    calls: list[tuple[str, int]] = []
    real = subprocess.Popen

    class Counting(real):  # type: ignore[misc, valid-type]
        def communicate(self, *args, **kwargs):
            out, err = super().communicate(*args, **kwargs)
            if list(self.args)[:1] == ["git"]:
                calls.append((list(self.args)[1], len(out or b"")))
            return out, err

    monkeypatch.setattr(subprocess, "Popen", Counting)
    return calls


def test_a_file_too_large_to_keep_is_read_once_for_each_read_and_not_ahead(
        repo: DiaryRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    big = bytes(range(256)) * 1024  # 256 KB: an image, say
    repo.write("media/a.png", big)
    repo.write("config.yaml", "timezone: UTC\n")
    repo.commit()
    gitstore.clear_cache()
    head = gitstore.head_commit(repo.root)
    calls = git_output(monkeypatch)
    gitstore.prefetch(repo.root, head, ["media/a.png", "config.yaml"], contents=True)
    assert gitstore.committed_bytes(repo.root, "config.yaml", head) == b"timezone: UTC\n"
    assert sum(size for _, size in calls) < len(big)  # the text read ahead, not the image
    for _ in range(2):  # never kept: read again, once for each read
        calls.clear()
        assert gitstore.committed_bytes(repo.root, "media/a.png", head) == big
        assert [command for command, _ in calls] == ["cat-file"]
