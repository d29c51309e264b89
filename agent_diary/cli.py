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
from .wording import plural

_state = {"debug": False}

REPO_OPTION_HELP = "The diary repository (default: the repository of the current directory)."
DATE_HELP = ("today, tomorrow, yesterday (in the configured time zone), latest (the newest "
             "entry) or YYYY-MM-DD.")


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """Keep a global option's value for the whole run. Given both before and after the
    command, the one after it wins (it is parsed later); absent, it changes nothing."""
    ctx.ensure_object(dict)
    if param.name == "debug":
        _state["debug"] = _state["debug"] or bool(value)
    elif value is not None:
        ctx.obj[param.name] = value


def _global_options() -> list[click.Option]:
    """--repo, --config and --debug, taken before the command and after it alike (a
    newcomer types `agent-diary preview --repo X`). Fresh objects for each command."""
    return [
        click.Option(["--repo"], type=click.Path(file_okay=False, path_type=Path),
                     help=REPO_OPTION_HELP, expose_value=False, callback=_remember),
        click.Option(["--config"], type=click.Path(dir_okay=False, path_type=Path),
                     help="The settings file (default: config.yaml at the repository's top; "
                          "a file named here must exist).",
                     expose_value=False, callback=_remember),
        click.Option(["--debug"], is_flag=True, help="Show tracebacks of unexpected errors.",
                     expose_value=False, callback=_remember),
    ]


class _Command(click.Command):
    """A command that also takes the global options after its name. An option of the
    command's own keeps its meaning (`run --repo` is repeatable, for several diaries)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        own = {name for param in self.params for name in param.opts}
        self.params += [option for option in _global_options() if option.opts[0] not in own]


class _Group(click.Group):
    command_class = _Command


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]},
             params=_global_options())
@click.version_option(package_name="agent-diary-publisher")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Publish a daily diary from a git repository to X as a thread, exactly once."""
    ctx.ensure_object(dict)
    ctx.obj.setdefault("repo", None)
    ctx.obj.setdefault("config", None)


def _diary(ctx: click.Context):  # -> Diary
    from .diary import open_diary

    return open_diary(ctx.obj["repo"], ctx.obj["config"])


def _warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


@cli.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create config.yaml, diary/ and templates/thread.j2; never overwrite.

    They go to the top of the git repository around the current folder (or --repo), or,
    outside any repository, into a new one made there."""
    from .diary import init_layout, init_root

    start = (ctx.obj["repo"] or Path.cwd()).resolve()
    root = init_root(start)
    if root != start:
        click.echo(f"in the repository at {root} (the top of the git work tree around "
                   f"{start})", err=True)
    for name, created in init_layout(root):
        click.echo(f"{'created' if created else 'exists '}  {name}")


@cli.command()
@click.option("--date", "date_spec", default="today", show_default=True,
              help="today, tomorrow, yesterday (in the configured time zone) or YYYY-MM-DD.")
@click.option("--title", help="The entry's title.")
@click.pass_context
def new(ctx: click.Context, date_spec: str, title: str | None) -> None:
    """Create the day's entry from a skeleton (status: draft); never overwrite."""
    from .diary import NEW_DATE_WORDS, new_entry, resolve_date

    diary = _diary(ctx)
    config = diary.config()
    date = resolve_date(date_spec, config.timezone, diary=diary, words=NEW_DATE_WORDS)
    path = new_entry(diary, date, title)
    click.echo(diary.rel(path))
    click.echo("edit it, set 'status: ready', and commit it", err=True)


@cli.command()
@click.option("--date", "date_spec", default="today", show_default=True, help=DATE_HELP)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.pass_context
def preview(ctx: click.Context, date_spec: str, fmt: str) -> None:
    """Show exactly what would be posted, post by post, with lengths and cost. Offline."""
    from .diary import resolve_date
    from .readiness import preview_warnings
    from .thread import build_thread

    diary = _diary(ctx)
    config = diary.config()
    thread = build_thread(diary, config, resolve_date(date_spec, config.timezone, diary=diary),
                          placeholder_ok=True)
    for message in preview_warnings(diary, thread):
        _warn(message)
    if fmt == "json":
        click.echo(json.dumps(thread.as_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(_thread_as_text(thread))


@cli.command()
@click.option("--date", "date_spec", default="today", show_default=True, help=DATE_HELP)
@click.option("--sandbox", is_flag=True,
              help="Post to a local X API emulator instead of X: the whole real path, "
                   "nothing public, the entry untouched.")
@click.option("--wait", "lock_timeout", type=float, default=60.0, show_default=True,
              help="Seconds to wait while another publisher of this repository runs.")
@click.option("--accept-edit", is_flag=True,
              help="The entry was changed after some of its posts were on X: keep those "
                   "posts as they are, post the rest from the new text, and record the IDs.")
@click.pass_context
def publish(ctx: click.Context, date_spec: str, sandbox: bool, lock_timeout: float,
            accept_edit: bool) -> None:
    """Post the entry for a date to X as a thread, exactly once, and record its IDs.

    What is posted is what is committed: the entry, its template, config.yaml and its
    images are read from the committed tree (HEAD), never through a symbolic link."""
    import contextlib
    import os

    from .app import Targets
    from .diary import resolve_date
    from .publish.journal import failpoint_from
    from .publish.publisher import publish as run
    from .publish.record import is_x

    diary = _diary(ctx)
    config = diary.committed_view().config()
    date = resolve_date(date_spec, config.timezone, diary=diary)
    with contextlib.ExitStack() as stack:
        targets = Targets(stack, sandbox=sandbox)
        result = run(diary, config, date, targets.x_client(diary, config), sandbox=sandbox,
                     lock_timeout=lock_timeout, after_journal_write=failpoint_from(os.environ),
                     accept_edit=accept_edit,
                     progress=lambda message: click.echo(message, err=True))
        if sandbox:
            page, folder = targets.timeline(diary), diary.sandbox_dir
    count = plural(len(result.ids), "post")
    if sandbox:
        where, link = " in the sandbox (not on X)", page.as_uri()
    elif is_x(result.api_url):
        where, link = "", result.url
    else:  # the emulator or a test double: an x.com link would point at nothing real
        where, link = f" to the X API at {result.api_url} (not X)", result.url
    if result.already:
        click.echo(f"{date}: already posted{where}: {count}, {link}")
    elif sandbox:
        click.echo(f"{date}: posted{where} {count}: {link}")
    else:
        click.echo(f"{date}: posted {count}{where}: {link}")
    if result.commit:
        click.echo(f"recorded in commit {result.commit[:12]}", err=True)
    if sandbox:
        click.echo(f"look at it: {page.as_uri()}\nor browse it live: agent-diary emulator "
                   f"--state {folder / 'emulator.json'}", err=True)



@cli.command()
@click.option("--repo", "repos", multiple=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="A diary repository to serve; repeat it to serve several (each with its "
                   "own config.yaml and x.profile). Default: the global --repo or here.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: one object a line, for log collectors.")
@click.option("--sandbox", is_flag=True,
              help="Post to local X API emulators instead of X (nothing public).")
@click.pass_context
def run(ctx: click.Context, repos: tuple[Path, ...], log_format: str, sandbox: bool) -> None:
    """Run the service: post each day's entry at its time, and entries committed later."""
    import contextlib

    from .app import Targets
    from .diary import open_diary
    from .logs import make_logger
    from .service import serve

    if len(repos) > 1 and ctx.obj["config"] is not None:
        from .errors import InputError

        raise InputError("--config names one settings file, but run serves several diaries "
                         "(--repo given more than once), each with its own config.yaml; "
                         "drop --config")
    diaries = [open_diary(repo, ctx.obj["config"]) for repo in repos] or [_diary(ctx)]
    logger, redact = make_logger(log_format)
    with contextlib.ExitStack() as stack:
        targets = Targets(stack, sandbox=sandbox, redact=redact)
        ctx.exit(serve(diaries, targets.x_client, logger, sandbox=sandbox,
                       timeline=targets.timeline if sandbox else None))


@cli.command()
@click.option("--days", type=click.IntRange(1, 366), default=7, show_default=True,
              help="How many days to show: today and the days before it.")
@click.pass_context
def status(ctx: click.Context, days: int) -> None:
    """For recent dates: missing, draft, uncommitted, posting, not-scheduled, pending,
    partial or posted, and what will happen to each."""
    from .diary import resolve_date
    from .status import recent_status

    diary = _diary(ctx)
    # The committed config, as the service and publish read it: what will happen.
    config = diary.committed_view().config()
    from .service import read_service_state

    today = resolve_date("today", config.timezone)
    for line in recent_status(diary, today, days, config.schedule.catch_up_days):
        click.echo(f"{line.date}  {line.state:<13}  {line.detail}".rstrip())
    from .publish import ledger

    month = today.strftime("%Y-%m")
    spent = ledger.month_spend(diary.state_dir, month)
    limit = config.budget.monthly_usd
    click.echo(f"spent in {month} (estimated): ${spent:.3f}"
               + (f" of ${limit:.2f} (budget.monthly_usd)" if limit is not None else ""))
    running = read_service_state(diary)
    if running:
        click.echo(f"service: running (pid {running['pid']}), next run at "
                   f"{running.get('next_run') or 'unknown'}, last poll {running['updated']}")
    else:
        click.echo("service: not running")


@cli.command()
@click.option("--profile", help="The profile to write (default: x.profile, else 'default').")
@click.option("--status", "show_status", is_flag=True,
              help="Show which account each profile posts as; change nothing.")
@click.pass_context
def auth(ctx: click.Context, profile: str | None, show_status: bool) -> None:
    """Authorize an X account (OAuth 1.0a PIN flow) and save its tokens, mode 0600."""
    import os

    from . import auth as accounts
    from .networks.x import XClient

    config = _optional_config(ctx)
    base = config.x.api_url
    path = accounts.credentials_path()
    if show_status:
        lines = accounts.profile_accounts(path, lambda creds: XClient(creds, base,
                                                                      retry_delays=()).me())
        click.echo("\n".join(lines) or f"no profiles in {path}; run 'agent-diary auth'")
        return
    profile = profile or config.x.profile
    key = os.environ.get("X_CONSUMER_KEY") or click.prompt(
        "API Key (consumer key) of your X app", hide_input=True, err=True)
    secret = os.environ.get("X_CONSUMER_SECRET") or click.prompt(
        "API Key Secret", hide_input=True, err=True)
    pending = accounts.start_authorization(base, key.strip(), secret.strip())
    click.echo(f"Open this page, signed in as the account that will post, and authorize "
               f"the app:\n  {pending.authorize_url}", err=True)
    pin = click.prompt("Then type the PIN it shows", err=True)
    credentials = accounts.finish_authorization(base, key.strip(), secret.strip(), pending, pin)
    me = XClient(credentials, base).me()
    accounts.save_profile(path, profile, credentials, me.username)
    click.echo(f"saved profile '{profile}' for @{me.username} in {path} (mode 0600)")


def _optional_config(ctx: click.Context) -> Any:
    """The repository's config if there is one here, else the defaults (and environment)."""
    from .config import config_from_mapping, load_config
    from .diary import find_root, load_named_config
    from .errors import InputError

    if ctx.obj["config"] is not None:
        return load_named_config(ctx.obj["config"])
    try:
        root = find_root(ctx.obj["repo"] or Path.cwd())
    except InputError:
        return config_from_mapping({})
    return load_config(root / "config.yaml")


@cli.command()
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Check config, credentials, clock, account, git and template; say how to fix each."""
    import datetime as dt
    import os

    from .diary import open_diary
    from .doctor import run_checks
    from .networks.x import XClient, client_options_from

    diary = config = config_error = None
    try:
        diary = open_diary(ctx.obj["repo"], ctx.obj["config"])
        config = diary.config()
    except AgentDiaryError as exc:
        config_error = exc.message
    options = client_options_from(os.environ)
    from .config import environment_api_url

    # Without a valid config, the environment's URL (as the config would have it); a
    # malformed one stops here (exit 2), before any check would send a request to it.
    base = config.x.api_url if config else environment_api_url(os.environ)
    checks = run_checks(diary, config, config_error, base,
                        lambda creds: XClient(creds, base, **options),
                        dt.datetime.now(dt.UTC))
    for check in checks:
        click.echo(f"{check.status.upper():<5} {check.name}: {check.message}")
    failed = [check for check in checks if check.status == "fail"]
    if failed:
        ctx.exit(int(failed[0].exit_code))


@cli.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="The port on 127.0.0.1; 0 picks a free one.")
@click.option("--state", "state_path", type=click.Path(dir_okay=False, path_type=Path),
              help="A JSON file that keeps the emulator's posts between runs.")
def emulator(port: int, state_path: Path | None) -> None:
    """Run a local X API emulator (for demos and tests) until interrupted.

    It prints to standard output the `export` lines that point agent-diary at it (its URL,
    the emulator's made-up credentials and its process ID), then lets go of standard
    output, so that in a shell this starts it in the background and sets them:

    \b
        eval "$(agent-diary emulator --port 0 &)"
        agent-diary publish --date latest      # posts to the emulator
        kill "$AGENT_DIARY_EMULATOR_PID"       # stops it

    What was posted is shown as threads on its timeline page, at its URL's `/`
    (http://127.0.0.1:8765/ with the default port). Ctrl-C or SIGTERM stops it."""
    import contextlib
    import os
    import signal
    import threading

    from .emulator.server import Emulator

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # before anyone knows the PID
    server = Emulator(state_path=state_path)
    url = server.start(port=port)
    account = server.world.account
    click.echo(f"export AGENT_DIARY_X_API_URL={url}\n"
               f"export X_CONSUMER_KEY={account.consumer_key}\n"
               f"export X_CONSUMER_SECRET={account.consumer_secret}\n"
               f"export X_ACCESS_TOKEN={account.access_token}\n"
               f"export X_ACCESS_TOKEN_SECRET={account.access_token_secret}\n"
               f"export AGENT_DIARY_EMULATOR_PID={os.getpid()}")
    _let_go_of_stdout()
    click.echo(f"emulator for @{account.username} at {url} (timeline: {url}/); "
               "Ctrl-C stops it", err=True)
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    server.stop()


def _let_go_of_stdout() -> None:
    """Point standard output at /dev/null once the exports are out: a shell's `$(…)`
    reads until every writer has closed the pipe, so keeping it would hang `eval`."""
    import os

    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _thread_as_text(thread: Any) -> str:
    from .text.twittertext import MAX_WEIGHTED_LENGTH

    count = len(thread.posts)
    lines = [f"{thread.date} · {thread.entry.source} · {plural(count, 'post')} · "
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
    """The console script: map errors to the contract's exit codes. --debug only adds
    tracebacks: scripts rely on the exit code either way."""
    import traceback

    try:
        code = cli.main(args=argv, prog_name="agent-diary", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        code = 130
    except click.ClickException as exc:
        exc.show()
        code = ExitCode.BAD_INPUT
    except AgentDiaryError as exc:
        if _state["debug"]:
            traceback.print_exc()
        click.echo(f"error: {exc.message}", err=True)
        code = exc.exit_code
    except Exception as exc:
        if _state["debug"]:
            traceback.print_exc()
        hint = ("report it with the traceback above" if _state["debug"] else
                "rerun with --debug for the traceback and report it")
        click.echo(f"internal error: {type(exc).__name__}: {exc}\nThis is a bug in "
                   f"agent-diary; {hint}.", err=True)
        code = ExitCode.BUG
    sys.exit(int(code or 0))
