"""The deployment examples parse, and the commands in them are real agent-diary commands."""

from __future__ import annotations

import configparser
import os
import shlex
import subprocess
import sys

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
