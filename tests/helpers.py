"""Test helpers: real temporary git repositories and the real CLI entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout


class ProcessCount:
    """The processes this test process starts from now on, counted by wrapping
    subprocess.Popen's __init__ (so `from subprocess import Popen` is counted too) until
    the test ends. `program`: count only those whose argv[0] it is (e.g. "git")."""

    def __init__(self, monkeypatch, program: str | None = None) -> None:  # pytest's
        self.calls: list[list[str]] = []  # each one's arguments
        self.processes: list[subprocess.Popen] = []  # to ask whether it was waited for
        real = subprocess.Popen.__init__

        def counting(popen: subprocess.Popen, args, *rest, **kwargs) -> None:
            argv = [args] if isinstance(args, str | bytes | os.PathLike) else list(args)
            counted = program is None or argv[:1] == [program]
            if counted:
                self.calls.append(argv)
            real(popen, args, *rest, **kwargs)
            if counted:
                self.processes.append(popen)

        monkeypatch.setattr(subprocess.Popen, "__init__", counting)

    def subcommands(self) -> list[str]:
        return [str(args[1]) for args in self.calls]


class DiaryRepo:
    """A real git repository laid out as a diary, with helpers to write and run."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, relative: str, text: str | bytes) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8", newline="")
        return path

    def entry(self, date: str, body: str, **front: str) -> Path:
        lines = "".join(f"{key}: {value}\n" for key, value in front.items())
        return self.write(f"diary/{date}.md", f"---\n{lines}---\n{body}")

    def commit(self, message: str = "entry") -> None:
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "-m", message)

    def run(self, *args: str, env: dict[str, str] | None = None) -> Result:
        return run_cli(*args, cwd=self.root, env=env)


def make_repo(root: Path, user: str = "Test Agent") -> DiaryRepo:
    """A fresh git repository with a committer identity of its own."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", user)
    git(root, "config", "user.email", "agent@example.invalid")
    return DiaryRepo(root)


def clones_of_a_remote(tmp_path: Path, *names: str) -> tuple[Path, list[DiaryRepo]]:
    """A bare remote and a clone of it per name, each with its own identity."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    clones = []
    for name in names:
        clone = tmp_path / name
        git(tmp_path, "clone", "-q", str(remote), str(clone))
        git(clone, "config", "user.name", name)
        git(clone, "config", "user.email", f"{name}@example.invalid")
        clones.append(DiaryRepo(clone))
    return remote, clones


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Result:
    """The real entry point in a subprocess (`python -m agent_diary`)."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "agent_diary", *args], cwd=cwd,
                          capture_output=True, text=True, env=full_env, timeout=120)
    return Result(proc.returncode, proc.stdout, proc.stderr)




class EmulatorHandle:
    """An in-process emulator with per-test random credentials, and what a CLI run needs."""

    def __init__(self, state_path: Path | None = None) -> None:
        import secrets

        from agent_diary.emulator.server import Emulator
        from agent_diary.emulator.state import Account

        self.account = Account(
            consumer_key=f"ck{secrets.token_hex(8)}", consumer_secret=f"cs{secrets.token_hex(16)}",
            access_token=f"1000-at{secrets.token_hex(8)}",
            access_token_secret=f"ats{secrets.token_hex(16)}")
        self.server = Emulator(self.account, state_path)
        self.url = self.server.start()

    @property
    def world(self):  # -> World
        return self.server.world

    def secrets(self) -> list[str]:
        a = self.account
        return [a.consumer_secret, a.access_token_secret, a.consumer_key, a.access_token]

    def env(self, **extra: str) -> dict[str, str]:
        a = self.account
        return {"AGENT_DIARY_X_API_URL": self.url, "X_CONSUMER_KEY": a.consumer_key,
                "X_CONSUMER_SECRET": a.consumer_secret, "X_ACCESS_TOKEN": a.access_token,
                "X_ACCESS_TOKEN_SECRET": a.access_token_secret,
                "AGENT_DIARY_RETRY_DELAYS": "0.05,0.05",
                # X's real settle window is 60 s; the emulator answers at once, and the
                # tests that are about the window set it themselves.
                "AGENT_DIARY_SETTLE_SECONDS": "0.3", **extra}

    def fault(self, **spec) -> None:
        from agent_diary.emulator.faults import Fault

        with self.world.lock:
            self.world.faults.append(Fault(**spec))

    def clear_faults(self) -> None:
        with self.world.lock:
            self.world.faults.clear()

    def posts(self) -> list[dict]:
        return [p for p in self.world.snapshot()["posts"] if not p.get("deleted")]

    def count(self, key: str) -> int:
        return self.world.snapshot()["counts"].get(key, 0)

    def requests(self) -> int:
        return sum(self.world.snapshot()["counts"].values())

    def stop(self) -> None:
        self.server.stop()


def thread_entry(posts: int = 4, **front: str) -> str:
    """An entry that renders to exactly `posts` posts (explicit breaks)."""
    body = "\n\n---\n\n".join(f"Post number {i} of the thread, with a link "
                              f"https://example.com/{i} & some <markup>."
                              for i in range(1, posts + 1))
    lines = "".join(f"{key}: {value}\n" for key, value in {"title": "Thread", **front}.items())
    return f"---\n{lines}---\n{body}\n"
