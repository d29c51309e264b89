"""The README tells the truth: its commands, every command and every config key."""

from __future__ import annotations

import re

from agent_diary.cli import cli
from agent_diary.config import SCHEMA

from .helpers import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", README)


def test_readme_opens_with_the_two_commands() -> None:
    main, tests = _commands()[:2]
    assert main.endswith("agent-diary publish --sandbox --date latest")
    assert "pip install -e '.[test]'" in tests


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    install, _, run = _commands()[1].rpartition(" && ")
    assert install in ci
    assert re.search(rf"^{re.escape(run)}$", ci, re.MULTILINE)


def test_every_command_and_config_key_is_documented() -> None:
    for name in cli.commands:
        assert f"agent-diary {name}" in README, name
    for key in SCHEMA:
        assert f"`{key}`" in README, key
