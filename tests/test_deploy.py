"""The deployment examples parse, and the commands in them are real agent-diary commands."""

from __future__ import annotations

import configparser
import importlib.metadata
import os
import re
import shlex
import subprocess
import sys
import tomllib

import pytest
import yaml

from agent_diary.auth import ENV_KEYS

from .helpers import ROOT, DiaryRepo, EmulatorHandle, run_cli, thread_entry

DEPLOY = ROOT / "deploy"


def _cli_accepts(args: list[str], cwd) -> None:
    """The arguments parse (checked with --help appended, which runs nothing)."""
    result = run_cli(*args, "--help", cwd=cwd)
    assert result.code == 0, (args, result.stderr)


def test_systemd_unit(tmp_path) -> None:
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str  # systemd keys are case-sensitive
    unit.read(DEPLOY / "agent-diary.service", encoding="utf-8")
    service = unit["Service"]
    assert service["Restart"] == "on-failure" and service["KillSignal"] == "SIGTERM"
    assert service["User"] not in ("", "root")
    assert service["EnvironmentFile"] == "/etc/agent-diary/env"
    command = shlex.split(service["ExecStart"])
    assert command[0].endswith("/agent-diary") and command[1] == "run"
    _cli_accepts(command[1:], tmp_path)
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_environment_file_example_holds_placeholders_only() -> None:
    text = (DEPLOY / "agent-diary.env.example").read_text(encoding="utf-8")
    assert "0600" in text
    values = dict(line.split("=", 1) for line in text.splitlines()
                  if line and not line.startswith("#"))
    assert set(values) == set(ENV_KEYS.values())
    assert all(value.startswith("replace-with-") for value in values.values())


def test_dockerfile(tmp_path) -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    instructions = [line.split(maxsplit=1) for line in lines if line.split()[0].isupper()]
    users = [arg for word, arg in instructions if word == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert ["VOLUME", '["/diary"]'] in instructions
    for word, arg in instructions:
        if word == "COPY":
            for source in arg.split()[:-1]:
                assert (ROOT / source).exists(), source
    entrypoint = yaml.safe_load(dict(instructions)["ENTRYPOINT"])
    command = yaml.safe_load(dict(instructions)["CMD"])
    assert entrypoint == ["agent-diary"] and command[0] == "run"
    _cli_accepts(command, tmp_path)


def _workflow() -> dict:
    return yaml.safe_load((DEPLOY / "github-workflow.yml").read_text(encoding="utf-8"))


def test_github_workflow_parses() -> None:
    flow = _workflow()
    triggers = flow[True]  # YAML 1.1 reads the key `on` as true
    assert len(triggers["schedule"][0]["cron"].split()) == 5
    assert flow["permissions"] == {"contents": "write"}
    steps = flow["jobs"]["publish"]["steps"]
    publish = next(step for step in steps if "agent-diary publish" in step.get("run", ""))
    assert publish["env"] == {name: f"${{{{ secrets.{name} }}}}" for name in ENV_KEYS.values()}
    for step in steps:
        if "run" in step:
            subprocess.run(["bash", "-n", "-c", step["run"]], check=True)


def test_github_workflow_publish_step_against_the_emulator(repo: DiaryRepo,
                                                           emulator: EmulatorHandle) -> None:
    import datetime as dt

    script = next(step["run"] for step in _workflow()["jobs"]["publish"]["steps"]
                  if "agent-diary publish" in step.get("run", ""))
    bin_dir = os.path.dirname(sys.executable)  # where pip put the agent-diary script
    env = {**os.environ, **emulator.env(), "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    repo.write("README.md", "diary\n")
    repo.commit()
    nothing = subprocess.run(["bash", "-c", script], cwd=repo.root, env=env,
                             capture_output=True, text=True)
    assert nothing.returncode == 0 and "no entry for" in nothing.stderr  # exit 3 is fine
    repo.write(f"diary/{dt.datetime.now(dt.UTC).date()}.md", thread_entry(2))
    repo.commit()
    posted = subprocess.run(["bash", "-c", script], cwd=repo.root, env=env,
                            capture_output=True, text=True)
    assert posted.returncode == 0, posted.stderr
    assert len(emulator.posts()) == 2


# Installing it: the index's `agent-diary` is someone else's project (DESIGN.md, "Installing
# it"), so whatever we ship installs from a checkout or a pinned commit, never by name.
OUR_NAMES = {"agent-diary", "agent-diary-publisher"}
SHIPPED = ["README.md", "Dockerfile", "action.yml", "deploy/*", "bench/*", ".ci/*", "tools/*"]
# pip/pip3 install, pipx install/run, uv pip install, uv tool install/run, uv add, uvx.
INSTALL = re.compile(r"\b(?:pip3?\s+install|pipx\s+(?:install|run)|uv\s+pip\s+install"
                     r"|uv\s+tool\s+(?:install|run)|uv\s+add|uvx)\b([^\n`;&|)]*)")
PINNED_VCS = re.compile(r"git\+\S+@(?:[0-9a-f]{40}|<commit>)(?:#\S*)?")


def _refused_targets(args: str) -> list[str]:
    """The install targets in `args` that could resolve to a stranger's package."""
    try:
        words = shlex.split(args)
    except ValueError:  # a quote closed outside the matched text
        words = args.split()
    refused = []
    for word in (w for w in words if not w.startswith("-")):
        if "$" in word:  # decided at run time, so it cannot be checked: refuse
            refused.append(word)
        elif word.startswith((".", "/", "~", "file:")) or PINNED_VCS.fullmatch(word):
            continue  # a local path or a VCS URL pinned to a commit
        else:
            name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", word)
            if word.startswith("git+") or (name and re.sub(
                    r"[-_.]+", "-", name.group().lower()) in OUR_NAMES):
                refused.append(word)
    return refused


def bare_installs(text: str) -> list[str]:
    return [match.group(0).strip() for match in INSTALL.finditer(text)
            if _refused_targets(match.group(1))]


@pytest.mark.parametrize("line, refused", [
    ("pip install agent-diary", True),
    ("pip install 'agent_diary[test]>=0.1'", True),
    ("pipx install agent-diary-publisher", True),
    ("uvx agent-diary publish", True),
    ("uv tool install Agent.Diary", True),
    ('run: pip install "${AGENT_DIARY_PACKAGE:-agent-diary}"', True),
    ("pip install git+https://github.com/o/agent-diary@main", True),
    ("pip install -e . && agent-diary publish", False),
    ("pip install -e '.[test]'", False),
    ("RUN pip install --no-cache-dir .", False),
    ("pip install ./src/agent-diary", False),
    ("pip install git+https://github.com/o/agent-diary@" + "0" * 40, False),
    ('pip install "git+https://github.com/OWNER/agent-diary@<commit>"', False),
    ("pip install twitter-text-parser regex", False),
    ("sudo apt-get install agent-diary", False),
])
def test_install_check_tells_pinned_from_bare(line: str, refused: bool) -> None:
    assert bool(bare_installs(line)) is refused


def test_no_shipped_file_installs_by_a_bare_name() -> None:
    files = sorted({path for pattern in SHIPPED for path in ROOT.glob(pattern) if path.is_file()})
    assert ROOT / "README.md" in files and DEPLOY / "github-workflow.yml" in files
    found = {str(path.relative_to(ROOT)): bare_installs(path.read_text(encoding="utf-8"))
             for path in files}
    assert {name: lines for name, lines in found.items() if lines} == {}


def test_distribution_name_and_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == "agent-diary-publisher"
    assert project["scripts"] == {"agent-diary": "agent_diary.cli:main"}
    # Found only once the checkout is installed under the new name (`pip install -e .`).
    assert importlib.metadata.version("agent-diary-publisher") == project["version"]
    result = run_cli("--version", cwd=ROOT)
    assert result.code == 0 and project["version"] in result.stdout, result.stderr


def test_github_workflow_keeps_the_journal_even_when_a_step_fails() -> None:
    flow = _workflow()
    steps = flow["jobs"]["publish"]["steps"]
    uses = [step.get("uses", "").split("@")[0] for step in steps]
    assert "actions/cache" not in uses  # it saves only when every step succeeded
    restore = steps[uses.index("actions/cache/restore")]
    save = steps[uses.index("actions/cache/save")]
    publish = next(i for i, step in enumerate(steps)
                   if "agent-diary publish" in step.get("run", ""))
    assert uses.index("actions/cache/restore") < publish < uses.index("actions/cache/save")
    assert save["if"] == "always()"
    assert restore["with"]["path"] == save["with"]["path"] == ".git/agent-diary"
    # A key of its own per run and attempt (cache entries are immutable); restore takes
    # the newest by prefix.
    key = save["with"]["key"]
    assert "${{ github.run_id }}" in key and "${{ github.run_attempt }}" in key
    prefix = restore["with"]["restore-keys"].strip()
    assert key.startswith(prefix) and restore["with"]["key"] == key
    # The secrets reach the publish step only, not the install or cache steps.
    text = (DEPLOY / "github-workflow.yml").read_text(encoding="utf-8")
    assert text.count("${{ secrets.") == len(ENV_KEYS) == len(steps[publish]["env"])
