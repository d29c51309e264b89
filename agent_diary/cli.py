"""Command line: parse arguments, call one core function, print its result.

Results go to standard output; errors, warnings and progress to standard error. Every
`AgentDiaryError` becomes its message and exit code; anything else is a bug (exit 1).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from .errors import AgentDiaryError, ExitCode

_state = {"debug": False}

REPO_OPTION_HELP = "The diary repository (default: the repository of the current directory)."


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--repo", type=click.Path(file_okay=False, path_type=Path), help=REPO_OPTION_HELP)
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The settings file (default: config.yaml at the repository's top).")
@click.option("--debug", is_flag=True, help="Show tracebacks of unexpected errors.")
@click.version_option(package_name="agent-diary")
@click.pass_context
def cli(ctx: click.Context, repo: Path | None, config_path: Path | None, debug: bool) -> None:
    """Publish a daily diary from a git repository to X as a thread, exactly once."""
    _state["debug"] = debug
    ctx.obj = {"repo": repo, "config": config_path}


def _diary(ctx: click.Context):  # -> Diary
    from .diary import open_diary

    return open_diary(ctx.obj["repo"], ctx.obj["config"])


def _warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


@cli.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create config.yaml, diary/ and templates/thread.j2 here; never overwrite."""
    from .diary import init_layout

    root = (ctx.obj["repo"] or Path.cwd()).resolve()
    for name, created in init_layout(root):
        click.echo(f"{'created' if created else 'exists '}  {name}")


@cli.command()
@click.option("--date", "date_spec", default="today", show_default=True,
              help="today, yesterday or YYYY-MM-DD (in the configured time zone).")
@click.option("--title", help="The entry's title.")
@click.pass_context
def new(ctx: click.Context, date_spec: str, title: str | None) -> None:
    """Create the day's entry from a skeleton (status: draft); never overwrite."""
    from .diary import new_entry, resolve_date

    diary = _diary(ctx)
    config = diary.config()
    path = new_entry(diary, resolve_date(date_spec, config.timezone, diary=diary), title)
    click.echo(diary.rel(path))
    click.echo("edit it, set 'status: ready', and commit it", err=True)


@cli.command()
@click.option("--date", "date_spec", default="today", show_default=True,
              help="today, yesterday, latest (the newest entry) or YYYY-MM-DD.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.pass_context
def preview(ctx: click.Context, date_spec: str, fmt: str) -> None:
    """Show exactly what would be posted, post by post, with lengths and cost. Offline."""
    from .diary import resolve_date
    from .thread import build_thread

    diary = _diary(ctx)
    config = diary.config()
    thread = build_thread(diary, config, resolve_date(date_spec, config.timezone, diary=diary))
    for message in thread.warnings:
        _warn(message)
    if thread.entry.status == "draft":
        _warn(f"{thread.entry.source} is a draft: it will not be posted until 'status: ready'")
    if thread.entry.posted:
        _warn(f"{thread.entry.source} was already posted at {thread.entry.posted_at}")
    if fmt == "json":
        click.echo(json.dumps(thread.as_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(_thread_as_text(thread))


def _thread_as_text(thread: Any) -> str:
    from .twittertext import MAX_WEIGHTED_LENGTH

    count = len(thread.posts)
    lines = [f"{thread.date} · {thread.entry.source} · {count} post{'s' * (count != 1)} · "
             f"estimated cost ${thread.estimated_cost_usd:.3f}", ""]
    for number, post in enumerate(thread.posts, 1):
        url_note = " · has a URL" if post.has_url else ""
        lines.append(f"[{number}/{count}] {post.weighted_length}/{MAX_WEIGHTED_LENGTH}{url_note}")
        lines.append(post.text)
        for media in post.media:
            alt = f' — alt: "{media.alt}"' if media.alt else " — no alt text"
            lines.append(f"  🖼 {media.path}{alt}")
        lines.append("")
    return "\n".join(lines).rstrip("\n")


def main(argv: list[str] | None = None) -> None:
    """The console script: map errors to the contract's exit codes."""
    try:
        code = cli.main(args=argv, prog_name="agent-diary", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        code = 130
    except click.ClickException as exc:
        exc.show()
        code = ExitCode.BAD_INPUT
    except AgentDiaryError as exc:
        click.echo(f"error: {exc.message}", err=True)
        if _state["debug"]:
            raise
        code = exc.exit_code
    except Exception as exc:
        if _state["debug"]:
            raise
        click.echo(f"internal error: {type(exc).__name__}: {exc}\nThis is a bug in "
                   "agent-diary; rerun with --debug for the traceback and report it.", err=True)
        code = ExitCode.BUG
    sys.exit(int(code or 0))
