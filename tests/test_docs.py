"""The README tells the truth: its commands, every command and every config key."""

from __future__ import annotations

import re

from click.testing import CliRunner

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


# --- the README's commands and the --help texts agree -------------------------------------

def _help_options(*args: str) -> set[str]:
    """The long options that `agent-diary ARGS --help` lists (in its Options section)."""
    result = CliRunner().invoke(cli, [*args, "--help"], prog_name="agent-diary")
    assert result.exit_code == 0, result.output
    section = result.output.split("\nOptions:\n", 1)[1]
    declared = [re.match(r"\s+(-[^ ]+(?: ?[,/] ?-[^ ]+)*)", line) for line in section.splitlines()]
    return {name for match in declared if match
            for name in re.findall(r"--[a-z][a-z0-9-]*", match[1])} - {"--help"}


def _code_in_readme() -> list[str]:
    """Every inline code span and every line of a fenced block."""
    fenced = re.findall(r"^```[^\n]*\n(.*?)^```", README, re.MULTILINE | re.DOTALL)
    prose = re.sub(r"^```[^\n]*\n.*?^```", "", README, flags=re.MULTILINE | re.DOTALL)
    return re.findall(r"`([^`]+)`", prose) + [line for block in fenced
                                              for line in block.splitlines()]


def _invocations() -> list[tuple[list[str], str | None, list[str]]]:
    """Each `agent-diary …` run in the README's code (where a shell runs a command: not
    `docker build -t agent-diary`): (options before the command, the command, options
    after it). Shell syntax (`&&`, `;`, `)`, `#`) ends one."""
    found = []
    for code in _code_in_readme():
        code = code.replace("\\|", "/")  # `text\|json` inside a table cell
        for match in re.finditer(r"(?:^|&&|;|\$\(|\|)\s*agent-diary(?![\w./@-])([^;&|#)]*)",
                                 code, re.MULTILINE):
            words = [word.strip("[]…\"'") for word in match[1].split()]
            before: list[str] = []
            while words and words[0].startswith("--"):
                before.append(words.pop(0))
                if before[-1] in ("--repo", "--config") and words:
                    words.pop(0)  # its value
            command = words.pop(0) if words else None
            found.append((before, command, [w for w in words if w.startswith("--")]))
    return found


def _commands_table() -> dict[str, str]:
    return {match[1]: match[0] for match in
            re.finditer(r"^\| `agent-diary (\w+)[^\n]*$", README, re.MULTILINE)}


def _global_options_paragraph() -> str:
    return re.search(r"^Global options.*?\n\n", README, re.MULTILINE | re.DOTALL)[0]


def test_every_option_of_every_command_is_in_the_readme() -> None:
    rows, global_text = _commands_table(), _global_options_paragraph()
    global_options = _help_options()
    assert set(rows) == set(cli.commands)
    for option in global_options:
        assert f"`{option}" in global_text, option
    for name in cli.commands:
        for option in _help_options(name):
            if option in global_options and option not in rows[name]:
                assert f"`{option}" in global_text, (name, option)
            else:
                assert option in rows[name], (name, option)


def test_every_option_the_readme_gives_a_command_exists() -> None:
    global_options = _help_options()
    invocations = _invocations()
    assert len(invocations) > 10
    for before, command, after in invocations:
        assert set(before) <= global_options, (before, command)
        if command is None:
            continue
        assert command in cli.commands, command
        options = _help_options(command)
        assert set(after) <= options, (command, set(after) - options)


def test_the_comparison_sees_options_in_tables_commands_and_help() -> None:
    """The two tests above would pass on nothing: show that they read what is there."""
    assert {"--date", "--sandbox", "--wait", "--accept-edit"} <= _help_options("publish")
    assert (["--version"], None, []) in _invocations()
    assert ([], "publish", ["--date", "--accept-edit"]) in _invocations()
    assert ([], "run", ["--repo", "--log-format", "--sandbox"]) in _invocations()
