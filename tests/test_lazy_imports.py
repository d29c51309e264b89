"""Which libraries each command imports: the heavy ones only on the paths that need them
(start-up time is mostly imports). Behaviour, not time: the real CLI in a subprocess
reports the modules it had loaded when it exited."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import ROOT, DiaryRepo, thread_entry

# Prints sys.modules at exit, whatever the command did (click exits through SystemExit).
RUNNER = """
import atexit, json, runpy, sys
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv = ["agent-diary", *sys.argv[2:]]
runpy.run_module("agent_diary", run_name="__main__")
"""

NETWORK = {"tweepy", "requests", "requests_oauthlib", "oauthlib", "urllib3"}
SERVICE = {"apscheduler"}
GITPYTHON = {"git", "gitdb"}
RENDERING = {"markdown_it", "jinja2"}


def gitpython_stand_ins(folder: Path) -> str:
    """A PYTHONPATH on which `git` and `gitdb` import, doing nothing: GitPython is no
    dependency any more, so without them an import of it (guarded, as optional ones are)
    would fail and leave no trace in sys.modules, and the GITPYTHON checks could not fail."""
    for name in GITPYTHON:
        (folder / name).mkdir(parents=True, exist_ok=True)
        (folder / name / "__init__.py").write_text("# A stand-in: importing it is the fault\n")
    return os.pathsep.join(filter(None, [str(folder), str(ROOT), os.environ.get("PYTHONPATH")]))


def imported(repo: DiaryRepo, tmp_path: Path, *args: str) -> set[str]:
    out = tmp_path / "modules.json"
    env = {**os.environ, "NO_COLOR": "1",
           "PYTHONPATH": gitpython_stand_ins(tmp_path / "stand-ins")}
    proc = subprocess.run([sys.executable, "-c", RUNNER, str(out), *args], cwd=repo.root,
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return {name.split(".")[0] for name in json.loads(out.read_text(encoding="utf-8"))}


@pytest.fixture
def diary(repo: DiaryRepo) -> DiaryRepo:
    repo.write("diary/2026-11-28.md", thread_entry(3))
    repo.commit()
    return repo


def test_help_imports_no_library_beyond_click(diary: DiaryRepo, tmp_path: Path) -> None:
    loaded = imported(diary, tmp_path, "--help")
    assert loaded & (NETWORK | SERVICE | GITPYTHON | RENDERING | {"yaml"}) == set()


def test_preview_renders_offline_without_network_service_or_gitpython(
        diary: DiaryRepo, tmp_path: Path) -> None:
    loaded = imported(diary, tmp_path, "preview", "--date", "2026-11-28")
    assert loaded >= RENDERING  # it does render the entry
    assert loaded & (NETWORK | SERVICE | GITPYTHON) == set()


def test_status_imports_no_network_service_or_renderer(diary: DiaryRepo,
                                                       tmp_path: Path) -> None:
    loaded = imported(diary, tmp_path, "status", "--days", "3")
    assert loaded & (NETWORK | SERVICE | GITPYTHON | {"markdown_it"}) == set()


def test_publish_imports_no_scheduler(diary: DiaryRepo, tmp_path: Path, emulator) -> None:
    out = tmp_path / "modules.json"
    proc = subprocess.run([sys.executable, "-c", RUNNER, str(out), "publish", "--date",
                           "2026-11-28"], cwd=diary.root, capture_output=True, text=True,
                          env={**os.environ, **emulator.env()}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    loaded = {name.split(".")[0] for name in json.loads(out.read_text(encoding="utf-8"))}
    assert "tweepy" in loaded  # it did post
    assert loaded & SERVICE == set()
