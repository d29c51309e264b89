"""`agent-diary run`: the real service in a subprocess against the emulator."""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent_diary.config import config_from_mapping
from agent_diary.diary import resolve_date
from agent_diary.errors import InputError
from agent_diary.service import next_daily_run

from .helpers import DiaryRepo, EmulatorHandle, git, make_repo, thread_entry


def _today() -> dt.date:
    now = dt.datetime.now(dt.UTC)
    if now.hour == 23 and now.minute >= 59:  # keep "today" stable for the whole test
        time.sleep(61 - now.second)
    return dt.datetime.now(dt.UTC).date()


def _at(seconds: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)).strftime("%H:%M:%S")


_RUNNING: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _no_service_outlives_its_test() -> Iterator[None]:
    """A test that fails before stopping its service must not leave it running (it would
    go on polling a deleted repository for the rest of the run)."""
    yield
    while _RUNNING:
        process = _RUNNING.pop()
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


class Service:
    """`agent-diary run` in a subprocess; its log (stderr) is read as it comes, so a test
    can wait for a definite line instead of sleeping."""

    def __init__(self, repo: DiaryRepo, emulator: EmulatorHandle, *args: str,
                 **env: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agent_diary", "run", *args], cwd=repo.root,
            env={**os.environ, **emulator.env(**env)}, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        _RUNNING.append(self.process)

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    @property
    def err(self) -> str:
        return "".join(self.lines)

    def wait_for_log(self, fragment: str, timeout: float = 20.0) -> None:
        def logged() -> bool:
            assert self.process.poll() is None or fragment in self.err, self.err
            return fragment in self.err

        wait_for(logged, timeout)

    def started(self) -> None:
        """Wait for the start-up line: from then on a signal stops it cleanly."""
        self.wait_for_log(" serving ")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> tuple[int, str]:
        self.process.send_signal(sig)
        self.process.wait(timeout=timeout)
        self._reader.join(timeout=timeout)
        return self.process.returncode, self.err


def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def configure(repo: DiaryRepo, time_of_day: str, poll: str = "1s", **extra: str) -> None:
    lines = [f'  time: "{time_of_day}"', f"  poll: {poll}"] + \
        [f"  {key}: {value}" for key, value in extra.items()]
    repo.write("config.yaml", "schedule:\n" + "\n".join(lines) + "\n")


@pytest.fixture
def service_repo(repo: DiaryRepo) -> DiaryRepo:
    repo.write("README.md", "diary\n")
    return repo


def test_an_entry_committed_before_its_time_is_posted_at_the_time(
        service_repo: DiaryRepo, emulator: EmulatorHandle) -> None:
    today = _today()
    at = _at(8)
    configure(service_repo, at, poll="1h")  # only the daily job can post it
    service_repo.write(f"diary/{today}.md", thread_entry(2))
    service_repo.commit()
    service = Service(service_repo, emulator)
    wait_for(lambda: len(emulator.posts()) == 2)
    first = min(emulator.posts(), key=lambda p: int(p["id"]))
    posted = dt.datetime.fromisoformat(first["created_at"].replace("Z", "+00:00"))
    due = dt.datetime.combine(today, dt.time.fromisoformat(at), tzinfo=dt.UTC)
    assert due <= posted + dt.timedelta(seconds=1) < due + dt.timedelta(seconds=5)
    code, err = service.stop()
    assert code == 0, err
    assert "serving" in err and "as @agentdiary" in err and "time zone UTC" in err
    wait_for(lambda: "tweet_ids" in (service_repo.root / f"diary/{today}.md").read_text())
    assert git(service_repo.root, "log", "-1", "--format=%s").startswith(f"diary: posted {today}")


def test_committed_after_its_time_is_posted_at_the_next_poll_and_drafts_never(
        service_repo: DiaryRepo, emulator: EmulatorHandle) -> None:
    today = _today()
    configure(service_repo, "00:00")
    # Worded apart from today's: X refuses a post identical to a recent one.
    service_repo.write(f"diary/{today - dt.timedelta(days=1)}.md",
                       thread_entry(2).replace("Post number", "Yesterday's post"))
    service_repo.commit()
    service = Service(service_repo, emulator)
    time.sleep(2.5)
    assert emulator.posts() == []  # yesterday's entry: outside catch_up_days 0
    service_repo.write(f"diary/{today}.md", thread_entry(3, status="draft"))
    service_repo.commit("draft")
    time.sleep(2.5)
    assert emulator.posts() == []
    service_repo.write(f"diary/{today}.md", thread_entry(3))
    service_repo.commit("ready now")
    wait_for(lambda: len(emulator.posts()) == 3)
    code, err = service.stop()
    assert code == 0 and "is a draft: not posting it" in err
    assert err.count("is a draft") == 1  # logged once, not at every poll


def test_restart_after_sigkill_mid_thread_finishes_exactly_once(
        service_repo: DiaryRepo, emulator: EmulatorHandle) -> None:
    today = _today()
    configure(service_repo, "00:00")
    service_repo.write(f"diary/{today}.md", thread_entry(4))
    service_repo.commit()
    emulator.fault(skip=1, after="hold", hold=30)  # post 2 is created, its answer held
    service = Service(service_repo, emulator)
    wait_for(lambda: len(emulator.posts()) == 2)
    code, _ = service.stop(signal.SIGKILL)
    assert code == -signal.SIGKILL
    emulator.clear_faults()
    again = Service(service_repo, emulator)
    wait_for(lambda: "tweet_ids" in (service_repo.root / f"diary/{today}.md").read_text())
    code, err = again.stop()
    assert code == 0, err
    posts = sorted(emulator.posts(), key=lambda p: int(p["id"]))
    assert len(posts) == 4 and [p["reply_to"] for p in posts[1:]] == [p["id"] for p in posts[:3]]


def test_sigterm_exits_0_promptly_and_a_second_signal_at_once(
        service_repo: DiaryRepo, emulator: EmulatorHandle) -> None:
    configure(service_repo, "00:00", poll="1h")
    service_repo.commit()
    service = Service(service_repo, emulator)
    service.started()  # SIGTERM right after the start-up line
    # ... and after the first poll (at start-up) wrote its state: no job is running.
    wait_for(lambda: (service_repo.root / ".git/agent-diary/service.json").is_file())
    started = time.monotonic()
    code, err = service.stop()
    assert code == 0 and time.monotonic() - started < 5, err
    assert "Traceback" not in err and err.rstrip().endswith("stopped"), err
    assert "stopping: no new work" in err and "in flight" not in err, err  # idle: none
    # Busy in a long request: the first signal waits for it, the second exits at once.
    today = _today()
    service_repo.write(f"diary/{today}.md", thread_entry(2))
    service_repo.commit()
    emulator.fault(after="hold", hold=30)
    busy = Service(service_repo, emulator)
    wait_for(lambda: len(emulator.posts()) == 1)
    busy.process.send_signal(signal.SIGTERM)
    busy.wait_for_log("stopping: no new work; waiting for a request in flight")
    assert busy.process.poll() is None  # still waiting for the request in flight
    started = time.monotonic()
    code, _ = busy.stop(signal.SIGTERM)
    assert code == 1 and time.monotonic() - started < 3


def test_sigterm_during_the_start_up_request_stops_cleanly(
        service_repo: DiaryRepo, emulator: EmulatorHandle) -> None:
    """The earliest SIGTERM a test can aim at: while the start-up GET /2/users/me (the
    service's very first request) is held by the emulator."""
    today = _today()
    configure(service_repo, "00:00")
    entry = service_repo.write(f"diary/{today}.md", thread_entry(2))
    service_repo.commit()
    emulator.fault(method="GET", path="/2/users/me", delay=2)
    service = Service(service_repo, emulator)
    wait_for(lambda: emulator.count("GET /2/users/me") == 1)
    code, err = service.stop()
    assert code == 0, err
    assert "Traceback" not in err and err.rstrip().endswith("stopped"), err
    # It took no work after the signal: nothing posted, no journal, nothing recorded.
    assert emulator.posts() == [] and emulator.count("POST /2/tweets") == 0
    assert not list((service_repo.root / ".git/agent-diary").glob("**/*.jsonl"))
    assert "tweet_ids" not in entry.read_text(encoding="utf-8")
    assert service_repo.run("status", "--days", "1").stdout.splitlines()[-1] == \
        "service: not running"
    # The next start posts the entry exactly once.
    again = Service(service_repo, emulator)
    wait_for(lambda: "tweet_ids" in entry.read_text(encoding="utf-8"))
    assert again.stop()[0] == 0 and len(emulator.posts()) == 2


@pytest.mark.parametrize(("target", "error"), [
    ("publish", RuntimeError("planted bug")),
    ("load_entry", RuntimeError("planted bug")),
    ("publish", InputError("diary/x.md: planted input error; fix it and commit")),
])
def test_an_error_for_a_date_is_logged_once_a_day_and_the_service_keeps_running(
        service_repo: DiaryRepo, emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch,
        target: str, error: Exception) -> None:
    """In-process (so a bug can be planted): the real service, scheduler and signal
    handling, polling every second; a date whose handling fails is logged once, with the
    traceback only for an unexpected exception, and the polls go on."""
    import agent_diary.service as service_module
    from agent_diary.auth import Credentials
    from agent_diary.diary import Diary, open_diary
    from agent_diary.networks.x import XClient

    today = _today()
    configure(service_repo, "00:00")
    service_repo.write(f"diary/{today}.md", thread_entry(1))
    service_repo.commit()
    calls: list[object] = []

    def fail(*args: object, **kwargs: object) -> None:
        calls.append(args)
        raise error

    if target == "publish":
        monkeypatch.setattr(service_module, "publish", fail)
    else:
        monkeypatch.setattr(Diary, "load_entry", fail)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger(f"agent_diary.test.{id(stream)}")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    account = emulator.account
    credentials = Credentials(account.consumer_key, account.consumer_secret,
                              account.access_token, account.access_token_secret)
    finished = threading.Event()

    def stop_after_four_polls() -> None:
        deadline = time.monotonic() + 20
        while len(calls) < 4 and time.monotonic() < deadline and not finished.is_set():
            time.sleep(0.05)
        if not finished.is_set():
            os.kill(os.getpid(), signal.SIGTERM)  # serve's handler: a clean stop

    # A SIGTERM that comes after serve restored the handlers must not kill the test run.
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    stopper = threading.Thread(target=stop_after_four_polls, daemon=True)
    stopper.start()
    try:
        code = service_module.serve([open_diary(service_repo.root, None)],
                                    lambda diary, config: lambda: XClient(credentials,
                                                                          emulator.url),
                                    logger)
    finally:
        finished.set()
        stopper.join(timeout=10)
        signal.signal(signal.SIGTERM, previous)
    log = stream.getvalue()
    assert code == 0 and len(calls) >= 4, log
    assert emulator.posts() == []
    if isinstance(error, InputError):
        assert log.count("planted input error") == 1 and "Traceback" not in log, log
    else:
        assert log.count("Traceback (most recent call last)") == 1, log
        assert log.count("RuntimeError: planted bug") == 1, log
        assert f"{today}: unexpected error" in log, log


def test_a_billing_error_keeps_the_service_running(service_repo: DiaryRepo,
                                                   emulator: EmulatorHandle) -> None:
    today = _today()
    configure(service_repo, "00:00")
    service_repo.write(f"diary/{today}.md", thread_entry(2))
    service_repo.commit()
    emulator.fault(preset="credits", times=0)
    service = Service(service_repo, emulator)
    wait_for(lambda: emulator.count("POST /2/tweets") >= 3)  # three polls tried
    assert emulator.posts() == [] and service.process.poll() is None
    emulator.clear_faults()
    wait_for(lambda: len(emulator.posts()) == 2)
    code, err = service.stop()
    assert code == 0
    assert err.count("credit balance is empty") == 1  # once a day, not once a poll
    for secret in emulator.secrets():
        assert secret not in err


def test_a_401_in_the_service_names_the_credential_trap(service_repo: DiaryRepo,
                                                       emulator: EmulatorHandle) -> None:
    import base64

    client_id = base64.b64encode(b"V2hhdGV2ZXI6MTpjaQ:1:ci").decode().rstrip("=")
    configure(service_repo, "00:00")
    service_repo.commit()
    service = Service(service_repo, emulator, X_CONSUMER_KEY=client_id)
    service.wait_for_log("X_CONSUMER_KEY is an OAuth 2.0 Client ID, not the app's API Key")
    code, err = service.stop()
    assert code == 0 and "401" in err and client_id not in err, err


def test_catch_up_days_and_max_posts_per_day(service_repo: DiaryRepo,
                                             emulator: EmulatorHandle) -> None:
    today = _today()
    configure(service_repo, "00:00", catch_up_days="2", max_posts_per_day="1")
    for back, title in ((3, "Too old"), (2, "Oldest"), (1, "Yesterday")):
        service_repo.write(f"diary/{today - dt.timedelta(days=back)}.md",
                           thread_entry(1, title=title))
    service_repo.commit()
    service = Service(service_repo, emulator)
    wait_for(lambda: len(emulator.posts()) == 1)
    time.sleep(2.5)
    code, err = service.stop()
    assert code == 0
    (post,) = emulator.posts()
    assert post["text"].startswith("Oldest")  # oldest first, one thread a day
    assert "max_posts_per_day (1) threads posted today" in err


def test_several_diaries_in_one_process(tmp_path: Path, emulator: EmulatorHandle) -> None:
    today = _today()
    roots = []
    for name in ("alpha", "beta"):
        root = tmp_path / name
        repo = make_repo(root)
        configure(repo, "00:00")
        repo.write(f"diary/{today}.md",
                   thread_entry(2, title=name.title()).replace("Post number", name))
        repo.commit()
        roots.append(root)
    service = subprocess.Popen(
        [sys.executable, "-m", "agent_diary", "run", "--log-format", "json",
         "--repo", str(roots[0]), "--repo", str(roots[1])], cwd=tmp_path,
        env={**os.environ, **emulator.env()}, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: len(emulator.posts()) == 4)
    service.send_signal(signal.SIGTERM)
    _, err = service.communicate(timeout=10)
    assert service.returncode == 0
    import json

    records = [json.loads(line) for line in err.splitlines()]
    assert {r["repo"] for r in records} >= {"alpha", "beta"}
    assert all({"time", "level", "message"} <= set(r) for r in records)


def test_status_shows_the_next_run(service_repo: DiaryRepo, emulator: EmulatorHandle) -> None:
    configure(service_repo, "00:00", poll="1h")
    service_repo.commit()
    service = Service(service_repo, emulator)
    wait_for(lambda: "service: running" in service_repo.run("status", "--days", "1").stdout)
    line = service_repo.run("status", "--days", "1").stdout.splitlines()[-1]
    assert line.startswith(f"service: running (pid {service.process.pid}), next run at ")
    service.stop()
    assert service_repo.run("status", "--days", "1").stdout.splitlines()[-1] == \
        "service: not running"


@pytest.mark.parametrize(("now", "expected_utc"), [
    # Europe/Berlin leaves summer time on 2026-10-25: 18:30 is 16:30Z before, 17:30Z after.
    ("2026-10-24T19:00:00+02:00", "2026-10-25T17:30:00+00:00"),
    ("2026-10-24T12:00:00+02:00", "2026-10-24T16:30:00+00:00"),
    # and enters it on 2026-03-29: 18:30 is 17:30Z before, 16:30Z after.
    ("2026-03-28T19:00:00+01:00", "2026-03-29T16:30:00+00:00"),
])
def test_the_daily_time_follows_the_zone_across_dst(now: str, expected_utc: str) -> None:
    config = config_from_mapping({"timezone": "Europe/Berlin",
                                  "schedule": {"time": "18:30"}}, environ={})
    fire = next_daily_run(config, dt.datetime.fromisoformat(now))
    assert fire.astimezone(dt.UTC).isoformat() == expected_utc
    assert fire.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M") == "18:30"


def test_today_is_the_configured_zones() -> None:
    moment = dt.datetime(2026, 11, 28, 23, 30, tzinfo=dt.UTC)
    assert resolve_date("today", "Asia/Tokyo", moment) == dt.date(2026, 11, 29)
    assert resolve_date("today", "America/New_York", moment) == dt.date(2026, 11, 28)
    assert resolve_date("yesterday", "Asia/Tokyo", moment) == dt.date(2026, 11, 28)


def test_an_entry_time_overrides_the_daily_time(service_repo: DiaryRepo,
                                                emulator: EmulatorHandle) -> None:
    today = _today()
    at = _at(8)
    configure(service_repo, "23:59:59", poll="1h")
    service_repo.write(f"diary/{today}.md", thread_entry(1, time=f'"{at}"'))
    service_repo.commit()
    service = Service(service_repo, emulator)
    time.sleep(2)
    assert emulator.posts() == []  # the first poll saw it was not due yet
    wait_for(lambda: len(emulator.posts()) == 1)
    posted = dt.datetime.fromisoformat(emulator.posts()[0]["created_at"].replace("Z", "+00:00"))
    due = dt.datetime.combine(today, dt.time.fromisoformat(at), tzinfo=dt.UTC)
    assert due <= posted + dt.timedelta(seconds=1) < due + dt.timedelta(seconds=5)
    assert service.stop()[0] == 0


def test_two_diaries_post_as_two_accounts_from_the_credentials_file(tmp_path: Path) -> None:
    import yaml

    today = _today()
    emulators = {name: EmulatorHandle() for name in ("alpha", "beta")}
    config_home = tmp_path / "config-home"
    (config_home / "agent-diary").mkdir(parents=True)
    credentials = config_home / "agent-diary" / "credentials.yaml"
    credentials.write_text(yaml.safe_dump({name: {
        "consumer_key": e.account.consumer_key, "consumer_secret": e.account.consumer_secret,
        "access_token": e.account.access_token,
        "access_token_secret": e.account.access_token_secret}
        for name, e in emulators.items()}), encoding="utf-8")
    credentials.chmod(0o600)
    roots = []
    for name, handle in emulators.items():
        root = tmp_path / name
        repo = make_repo(root)
        repo.write("config.yaml", f'schedule:\n  time: "00:00"\n  poll: 1s\n'
                                  f"x:\n  api_url: {handle.url}\n  credentials: {name}\n")
        repo.write(f"diary/{today}.md", thread_entry(1, title=name))
        repo.commit()
        roots.append(str(root))
    env = {k: v for k, v in os.environ.items() if not k.startswith("X_")}
    env.pop("AGENT_DIARY_X_API_URL", None)
    service = subprocess.Popen(
        [sys.executable, "-m", "agent_diary", "run", "--repo", roots[0], "--repo", roots[1]],
        cwd=tmp_path, env={**env, "XDG_CONFIG_HOME": str(config_home)},
        stderr=subprocess.PIPE, text=True)
    wait_for(lambda: all(len(e.posts()) == 1 for e in emulators.values()))
    service.send_signal(signal.SIGTERM)
    _, err = service.communicate(timeout=10)
    assert service.returncode == 0, err
    for name, handle in emulators.items():
        assert handle.posts()[0]["text"].startswith(name)
        for secret in handle.secrets():
            assert secret not in err
        handle.stop()


def test_a_committed_config_change_is_picked_up_at_the_next_poll(
        service_repo: DiaryRepo, emulator: EmulatorHandle) -> None:
    today = _today()
    configure(service_repo, "23:59:59")  # polling every second; today's entry not due yet
    service_repo.write(f"diary/{today}.md", thread_entry(2))
    service_repo.commit()
    service = Service(service_repo, emulator)
    service.started()
    # An invalid config is logged once (not at every poll), and the old one is kept.
    service_repo.write("config.yaml", 'schedule:\n  time: "25:00"\n  poll: 1s\n')
    service_repo.commit("broken config")
    service.wait_for_log("keeps the settings it has")
    time.sleep(2.5)
    assert service.err.count("25:00") == 1, service.err
    assert emulator.posts() == [] and service.process.poll() is None
    # Fixed: the daily time moves to one that has passed (today's entry is due at this
    # very poll), polls an hour apart, a day of catch-up.
    configure(service_repo, "00:00", poll="1h", catch_up_days="1", max_posts_per_day="5")
    service_repo.commit("post now")
    wait_for(lambda: len(emulator.posts()) == 2)
    # Logged once the IDs are committed: this test's own commit below must not race the
    # service's (git's index.lock refuses the second of two at once).
    service.wait_for_log(f"{today}: posted")
    service.wait_for_log("schedule.time 23:59:59 → 00:00")
    for change in ("schedule.poll 1 s → 3600 s", "schedule.catch_up_days 0 → 1",
                   "schedule.max_posts_per_day 1 → 5"):
        assert change in service.err
    assert "timezone" not in service.err.split("config.yaml changed")[-1].split("\n")[0]
    # The poll really is an hour apart now: yesterday's entry, committed now and within
    # the new catch-up, waits for the next poll (an hour) instead of the next second.
    service_repo.write(f"diary/{today - dt.timedelta(days=1)}.md",
                       thread_entry(1).replace("Post number", "Yesterday's post"))
    service_repo.commit("yesterday")
    time.sleep(2.5)
    assert len(emulator.posts()) == 2
    code, err = service.stop()
    assert code == 0, err


def test_run_sandbox_writes_and_names_the_timeline_page(
        service_repo: DiaryRepo, emulator: EmulatorHandle) -> None:
    today = _today()
    configure(service_repo, "00:00")
    service_repo.write(f"diary/{today}.md", thread_entry(2))
    service_repo.commit()
    page = service_repo.root / ".git/agent-diary/sandbox/timeline.html"
    service = Service(service_repo, emulator, "--sandbox")
    # Said at start-up, before any post:
    service.wait_for_log(f"sandbox: nothing goes to X; timeline page: {page.as_uri()}")
    service.wait_for_log("posted in the sandbox 2 posts")
    service.wait_for_log(f"; timeline page: {page.as_uri()}")  # and after each post
    assert "Post number 2 of the thread" in page.read_text(encoding="utf-8")
    code, err = service.stop()
    assert code == 0, err
    assert emulator.posts() == []  # the sandbox's own emulator, never this one


def _diary_service(repo: DiaryRepo, config, **kwargs):  # -> DiaryService
    import logging

    from agent_diary.diary import open_diary
    from agent_diary.service import DiaryService

    diary = open_diary(repo.root, None)
    log = logging.LoggerAdapter(logging.getLogger("test"), {"repo": "test"})
    return DiaryService(diary, config, lambda: None, log, **kwargs)


def test_a_config_committed_while_the_service_starts_is_taken_up(repo: DiaryRepo) -> None:
    from agent_diary.diary import open_diary
    from agent_diary.service import committed_config_at

    repo.write("config.yaml", 'schedule:\n  time: "18:00"\n')
    repo.commit()
    config, stamp, _ = committed_config_at(open_diary(repo.root, None))  # what serve reads
    repo.write("config.yaml", 'schedule:\n  time: "07:00"\n')  # committed meanwhile
    repo.commit("config")
    service = _diary_service(repo, config, stamp=stamp)
    assert service._reload_config() and service.config.schedule.time == "07:00"


def test_a_poll_job_made_for_another_interval_is_skipped(repo: DiaryRepo,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from agent_diary.diary import open_diary

    config = open_diary(repo.root, None).committed_view().config()  # poll: 300 s
    service = _diary_service(repo, config)
    ran: list[int] = []
    monkeypatch.setattr(service, "_poll", lambda: ran.append(1))
    monkeypatch.setattr(service, "write_state", lambda stopped=False: None)
    service.poll(interval=1)  # a run of the job before the main thread rescheduled it
    assert ran == []
    service.poll(interval=300)  # on time, however late the one before it started
    service.poll(interval=300)
    service.poll()  # the daily job and one-offs carry no interval
    assert ran == [1, 1, 1]
