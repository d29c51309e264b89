"""The long-running service, `agent-diary run`: APScheduler posts each day's entry at its
time and picks up entries committed later.

Per diary: a daily job at `schedule.time` in `timezone` (a CronTrigger with the zone,
so DST moves nothing), a poll every `schedule.poll` that posts whatever is due, and a
one-off job for an entry whose own `time:` is later. Every job runs the same `poll`:
it looks only at the dates that can be due (today, and `schedule.catch_up_days` back,
oldest first), and publishes through the same exactly-once publisher and lock as
`publish`. Errors never stop the service: account errors are logged once a day and
retried at the next poll, temporary ones are retried at the next poll; an input error or
an unexpected exception (a bug: with its traceback) is logged once a day per date, and the
date is tried again at each poll.

A committed change to `config.yaml` is picked up at the next poll (its blob id is compared,
so an unchanged config is not parsed again): the changed settings are logged, the daily job
and the poll are rescheduled when their settings changed. An invalid config is logged once
a day and the settings in use are kept.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from . import gitstore
from .config import Config
from .diary import Diary
from .errors import AccountError, AgentDiaryError, NothingToPost, TemporaryError, joined
from .networks.x import XClient
from .publish.journal import Journal
from .publish.publisher import journal_path, publish
from .text.entry import Entry
from .wording import plural

STATE_FILE = "service.json"
BUG_ADVICE = ("(a bug in agent-diary; please report it with this traceback); the service "
              "keeps running, tries again at each poll and logs this once a day")


def time_of_day(text: str) -> dt.time:
    return dt.time(*(int(part) for part in text.split(":")))


def daily_trigger(config: Config) -> Any:
    return _daily_trigger(config.schedule.time, config.timezone)


@functools.lru_cache(maxsize=64)
def _daily_trigger(at_text: str, zone: str) -> Any:
    """One trigger per (time, zone), shared: every poll asks when the daily job runs next,
    and a thousand diaries mostly share their settings. A CronTrigger is not changed by
    use (get_next_fire_time is pure), so sharing it is safe."""
    from apscheduler.triggers.cron import CronTrigger

    at = time_of_day(at_text)
    return CronTrigger(hour=at.hour, minute=at.minute, second=at.second,
                       timezone=ZoneInfo(zone))


def next_daily_run(config: Config, now: dt.datetime) -> dt.datetime:
    """When the daily job fires next after `now` (aware), in the configured zone."""
    return daily_trigger(config).get_next_fire_time(None, now)


def config_stamp(view: Diary) -> object:
    """What identifies the config the service reads, without parsing it: config.yaml's
    blob id in the view's commit (None: none committed), or for a file named with
    --config (read where it is), its modification time and size."""
    if not view.uses_own_config:
        try:
            info = view.config_path.stat()
        except OSError:
            return None
        return (info.st_mtime_ns, info.st_size)
    return gitstore.committed_blob(view.root, "config.yaml", view.committed or "")


_UNSET = object()


def committed_config_at(diary: Diary) -> tuple[Config, object, str | None]:
    """The committed config, its stamp and the commit both were read from: one commit,
    so a commit landing between two reads of HEAD is not taken as already seen."""
    view = diary.committed_view()
    return view.config(), config_stamp(view), view.committed


# Config fields whose config.yaml key has another name.
_KEY_NAMES = {"schedule.poll_seconds": "schedule.poll"}


def settings_of(config: Config) -> dict[str, Any]:
    """Every setting by its config.yaml key (`schedule.poll` in seconds)."""
    flat: dict[str, Any] = {}
    for name, value in config._asdict().items():
        if name == "source":
            continue
        items = value._asdict().items() if hasattr(value, "_asdict") else [(None, value)]
        for sub, item in items:
            key = name if sub is None else f"{name}.{sub}"
            flat[_KEY_NAMES.get(key, key)] = item
    return flat


def _shown(key: str, value: Any) -> str:
    if key == "schedule.poll":
        return f"{value} s"
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def config_changes(old: Config, new: Config) -> list[str]:
    """Each changed setting as "key old → new" (config.yaml holds no secret)."""
    before, after = settings_of(old), settings_of(new)
    return [f"{key} {_shown(key, before.get(key))} → {_shown(key, value)}"
            for key, value in after.items() if before.get(key) != value]


def read_service_state(diary: Diary) -> dict[str, Any] | None:
    """The running service's state file, if a live process wrote it."""
    try:
        data = json.loads((diary.state_dir / STATE_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    if data.get("stopped"):
        return None
    try:
        os.kill(int(data["pid"]), 0)
    except (OSError, KeyError, ValueError, TypeError):
        return None
    return data


class DiaryService:
    """Everything the service does for one diary repository."""

    def __init__(self, diary: Diary, config: Config, client: Callable[[], XClient],
                 log: logging.LoggerAdapter, *, sandbox: bool = False,
                 should_stop: Callable[[], bool] = lambda: False,
                 schedule_at: Callable[[dt.datetime, str], None] = lambda when, key: None,
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
                 stamp: object = _UNSET, stamp_commit: str | None = None) -> None:
        self.diary, self.config, self.log, self.sandbox = diary, config, log, sandbox
        self.zone = ZoneInfo(config.timezone)
        self._client_factory, self._client = client, None
        self.should_stop, self.schedule_at, self.now = should_stop, schedule_at, now
        self._one_offs: dict[str, dt.datetime] = {}
        self._busy = threading.Lock()
        self._said: dict[str, dt.date] = {}
        self._day: dt.date | None = None  # the day caches were last pruned for
        self._entries: dict[Path, tuple[tuple[int, int], Entry]] = {}
        self._posted = self._read_posted()
        # The config's stamp, and the commit it was read from (None: not known): while
        # HEAD stays there, an idle poll reads nothing more to know the config is the same.
        self._stamp_commit = stamp_commit
        if stamp is _UNSET:
            view = diary.committed_view()
            stamp, self._stamp_commit = config_stamp(view), view.committed
        self._config_stamp = stamp
        # Set by serve: told (old, new) in the job's thread when the config changed.
        self.on_reconfigured: Callable[[Config, Config], None] = lambda old, new: None
        # Sandbox only: writes the emulator's timeline page and returns where it is.
        self.write_timeline: Callable[[], Path] | None = None

    @property
    def busy(self) -> bool:
        """Whether a job of this diary is running now (it may be in a request)."""
        return self._busy.locked()

    def use_client(self, client: Callable[[], XClient]) -> None:
        """Another way to make the X client (x.* changed): made at the next request."""
        self._client_factory, self._client = client, None

    def client(self) -> XClient:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def _state_path(self) -> Path:
        return self.diary.state_dir / STATE_FILE

    def _read_posted(self) -> dict[str, int]:
        try:
            data = json.loads(self._state_path().read_text(encoding="utf-8"))
            return {str(k): int(v) for k, v in data.get("posted", {}).items()}
        except (FileNotFoundError, ValueError, AttributeError):
            return {}

    def next_run(self) -> dt.datetime:
        """The earliest of: the daily job, the next poll, an entry's own later time.
        Computed from the triggers, never by asking the scheduler (whose locks a job
        must not take: shutdown holds them while it waits for running jobs)."""
        now = self.now()
        times = [next_daily_run(self.config, now),
                 now + dt.timedelta(seconds=self.config.schedule.poll_seconds),
                 *(when for when in self._one_offs.values() if when > now)]
        return min(times)

    def write_state(self, stopped: bool = False) -> None:
        upcoming = None if stopped else self.next_run()
        data = {"pid": os.getpid(), "stopped": stopped,
                "updated": self.now().isoformat(timespec="seconds"),
                "next_run": upcoming.isoformat(timespec="seconds") if upcoming else None,
                "posted": self._posted}
        path = self._state_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(".tmp")
        temp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(temp, path)

    def say_once(self, key: str, level: int, message: str, *, exc_info: bool = False) -> None:
        """Log a message at most once a day (an hourly poll must not repeat it 24 times)."""
        today = self.now().astimezone(self.zone).date()
        if self._said.get(key) != today:
            self._said[key] = today
            self.log.log(level, message, exc_info=exc_info)

    def _entry(self, date: dt.date) -> Entry | None:
        """The parsed entry, re-read only when the file changed."""
        path = next((p for p in self.diary.candidates(date) if p.is_file()), None)
        if path is None:
            return None
        info = path.stat()
        stamp = (info.st_mtime_ns, info.st_size)
        cached = self._entries.get(path)
        if cached is None or cached[0] != stamp:
            cached = (stamp, self.diary.load_entry(date))
            self._entries[path] = cached
        return cached[1]

    def poll(self, interval: int | None = None) -> None:
        """Post what is due. Never raises: the service keeps running. `interval`: the
        `schedule.poll` the poll job was scheduled with; a run of a job made for another
        one is skipped, since the main thread is about to reschedule it (a poll at the old
        pace must not post what the new settings make wait)."""
        if interval is not None and interval != self.config.schedule.poll_seconds:
            return
        if not self._busy.acquire(blocking=False):
            return  # the previous run of a job is still posting
        try:
            self._poll()
        except Exception as exc:
            # Keyed by the error itself: the same bug at every poll is logged once a day,
            # a different one still shows.
            self.say_once(f"bug:{type(exc).__name__}:{exc}", logging.ERROR,
                          f"unexpected error {BUG_ADVICE}", exc_info=True)
        finally:
            self._busy.release()
            self.write_state()

    def _poll(self) -> None:
        config, now = self.config, self.now()
        today = now.astimezone(self.zone).date()
        if config.git.pull and not self.sandbox:
            try:
                gitstore.pull(self.diary.root)
            except AgentDiaryError as exc:
                self.say_once("pull", logging.WARNING,
                              joined(exc.message, "going on with the local branch"))
        if self._reload_config():
            config = self.config
            today = now.astimezone(self.zone).date()
        window = [today - dt.timedelta(days=back)
                  for back in range(config.schedule.catch_up_days, -1, -1)]
        self._forget_before(window[0], today)
        for date in window:
            if self.should_stop():
                return
            if self._posted.get(str(today), 0) >= config.schedule.max_posts_per_day:
                self.say_once("max", logging.INFO, "schedule.max_posts_per_day "
                              f"({config.schedule.max_posts_per_day}) threads posted today; "
                              "anything else waits for tomorrow")
                return
            try:
                self._poll_date(date, today, now)
            except AgentDiaryError as exc:
                self.say_once(f"{date}:error", logging.ERROR, exc.message)
            except Exception:
                # One date's bug must neither stop the other dates nor flood the log with
                # a traceback at every poll.
                self.say_once(f"{date}:bug", logging.ERROR,
                              f"{date}: unexpected error {BUG_ADVICE}", exc_info=True)

    def _forget_before(self, oldest: dt.date, today: dt.date) -> None:
        """Drop what no poll can need again: entries of days out of the window, messages
        said on earlier days (say_once compares with today anyway), one-off runs of past
        days. A service runs for months, a thousand diaries to a process."""
        if self._day == today:
            return
        self._day = today
        self._entries = {path: cached for path, cached in self._entries.items()
                         if cached[1].date >= oldest}
        self._said = {key: day for key, day in self._said.items() if day == today}
        self._one_offs = {key: when for key, when in self._one_offs.items()
                          if key >= str(today)}

    def _reload_config(self) -> bool:
        """Take up a committed change to config.yaml; True if the settings changed. An
        invalid config is logged once a day (per version) and the settings kept."""
        try:
            view = self.diary.committed_view()
            in_commit = view.uses_own_config
            if in_commit and view.committed is not None and view.committed == self._stamp_commit:
                return False  # HEAD did not move: the committed config.yaml cannot have
            stamp = config_stamp(view)
            if stamp == self._config_stamp:
                self._stamp_commit = view.committed if in_commit else None
                return False
            new = view.config()  # not remembered if invalid: logged again the next day
        except AgentDiaryError as exc:
            self.say_once(f"config:{exc.message}", logging.ERROR,
                          f"{exc.message}; the service keeps the settings it has until a "
                          "valid config.yaml is committed (logged once a day)")
            return False
        old, self.config, self._config_stamp = self.config, new, stamp
        self._stamp_commit = view.committed if in_commit else None
        changes = config_changes(old, new)
        if not changes:
            self.log.info("config.yaml changed; no setting did")
            return False
        self.zone = ZoneInfo(new.timezone)
        moves = []
        if (old.schedule.time, old.timezone) != (new.schedule.time, new.timezone):
            upcoming = next_daily_run(new, self.now()).isoformat(timespec="seconds")
            moves.append(f"the daily job to {new.schedule.time} {new.timezone} (next run "
                         f"{upcoming})")
        if old.schedule.poll_seconds != new.schedule.poll_seconds:
            moves.append(f"the poll to every {new.schedule.poll_seconds} s")
        self.log.info("config.yaml changed: %s%s", ", ".join(changes),
                      f"; rescheduling {' and '.join(moves)}" if moves else "")
        self.on_reconfigured(old, new)
        return True

    def _poll_date(self, date: dt.date, today: dt.date, now: dt.datetime) -> None:
        """Post the entry for `date` if it is due; schedule its own later time if not."""
        journal = Journal(journal_path(self.diary.sandbox_dir if self.sandbox
                                       else self.diary.state_dir, date)).state
        if journal.complete is not None and (journal.recorded or self.sandbox):
            return
        try:
            entry = self._entry(date)
        except AgentDiaryError as exc:
            self.say_once(f"{date}:entry", logging.ERROR, exc.message)
            return
        if entry is None or (entry.posted and not self.sandbox):
            return
        if entry.status == "draft":
            self.say_once(f"{date}:draft", logging.INFO,
                          f"{entry.source} is a draft: not posting it")
            return
        at = time_of_day(entry.time or self.config.schedule.time)
        due = dt.datetime.combine(date, at, tzinfo=self.zone)
        if now < due:
            if entry.time and date == today and self._one_offs.get(str(date)) != due:
                self._one_offs[str(date)] = due
                self.schedule_at(due, str(date))
            return
        self._publish(date)

    def _publish(self, date: dt.date) -> None:
        try:
            result = publish(self.diary, self.config, date, self.client, lock_timeout=0,
                             sandbox=self.sandbox, should_stop=self.should_stop,
                             progress=self.log.info)
        except NothingToPost as exc:
            self.say_once(f"{date}:nothing", logging.INFO, exc.message)
        except AccountError as exc:
            self.say_once("account", logging.ERROR, joined(
                exc.message, "the service keeps running and tries again at each poll; this "
                             "message is logged once a day"))
        except TemporaryError as exc:
            self.log.warning("%s: %s", date, joined(exc.message, "trying again at the next poll"))
        except AgentDiaryError as exc:
            self.say_once(f"{date}:error", logging.ERROR, exc.message)
        else:
            if result.already:
                return
            today = str(self.now().astimezone(self.zone).date())
            self._posted = {today: self._posted.get(today, 0) + 1}
            where = " in the sandbox" if self.sandbox else ""
            page = f"; {self._timeline()}" if self.write_timeline is not None else ""
            self.log.info("%s: posted%s %s: %s%s", date, where,
                          plural(len(result.ids), "post"), result.url, page)
        finally:
            # Made again for the next post: kept, it is a session and its connection pools
            # per diary, a thousand of them in one service.
            self._client = None

    def _timeline(self) -> str:
        """Sandbox: rewrite the timeline page, and say where it is."""
        assert self.write_timeline is not None
        try:
            return f"timeline page: {self.write_timeline().as_uri()}"
        except OSError as exc:  # the post is done; only the page could not be written
            return f"the timeline page could not be written ({exc})"

    def announce(self) -> None:
        """Say at start-up what the service will do."""
        config = self.config
        try:
            me = self.client().me()
            account = f"@{me.username}"
        except AgentDiaryError as exc:
            account = "unknown"
            self.say_once("account", logging.ERROR, exc.message)
        finally:
            self._client = None  # made again when a thread is due: idle, it is memory
        upcoming = next_daily_run(config, self.now())
        self.log.info(
            "serving %s as %s%s; time zone %s; daily at %s, polling every %d s, catching up "
            "%d day(s); next daily run %s", self.diary.root, account,
            " (sandbox)" if self.sandbox else "", config.timezone, config.schedule.time,
            config.schedule.poll_seconds, config.schedule.catch_up_days,
            upcoming.isoformat(timespec="seconds"))
        if self.write_timeline is not None:
            self.log.info("sandbox: nothing goes to X; %s (rewritten after each post)",
                          self._timeline())


def serve(diaries: list[Diary], client_for: Callable[[Diary, Config], Callable[[], XClient]],
          logger: logging.Logger, *, sandbox: bool = False,
          timeline: Callable[[Diary], Path] | None = None) -> int:
    """Run until SIGTERM/SIGINT: the first stops taking work and lets the request in flight
    finish (the journal stays consistent); a second exits at once. Returns the exit code.
    `timeline` (sandbox): writes a diary's timeline page, returning where it is."""
    import queue
    import select
    import signal
    import socket

    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.date import DateTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    stop = threading.Event()  # set once a signal came: jobs check it between posts
    # The committed config.yaml, as publish reads it (bad config: exit 2 before starting).
    loaded = [committed_config_at(diary) for diary in diaries]
    scheduler = BackgroundScheduler(job_defaults={"coalesce": True, "max_instances": 1,
                                                  "misfire_grace_time": 3600})
    services: list[DiaryService] = []
    # Jobs ask for scheduler changes (a one-off run, a new trigger) through this queue;
    # the main thread makes them, so no job ever waits on the scheduler's locks.
    changes: queue.Queue[Callable[[], Any]] = queue.Queue()
    # The main thread sleeps in select() on this socket, woken by a signal (through
    # set_wakeup_fd) or by a job asking for a one-off run: no periodic wake-ups at all.
    wake_read, wake_write = socket.socketpair()
    wake_read.setblocking(False)
    wake_write.setblocking(False)

    def wake() -> None:
        with contextlib.suppress(BlockingIOError):
            wake_write.send(b"w")

    received: list[int] = []

    def on_signal(signum: int, frame: Any) -> None:
        # Only an atomic append here: taking a lock in a signal handler can deadlock.
        if received:
            os._exit(1)  # a second signal: at once; the journal keeps exactly-once
        received.append(signum)

    # The handlers come first, before any request or job: a SIGTERM during the start-up
    # request must stop the service cleanly (exit 0), not kill it.
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    previous_fd = signal.set_wakeup_fd(wake_write.fileno(), warn_on_full_buffer=False)
    finisher: threading.Thread | None = None
    try:
        for index, (diary, (config, stamp, commit)) in enumerate(zip(diaries, loaded,
                                                                    strict=True)):
            if received:
                break  # signalled during start-up: take no work at all
            prefix = f"diary{index}-"
            service = DiaryService(diary, config, client_for(diary, config),
                                   logging.LoggerAdapter(logger, {"repo": diary.root.name}),
                                   sandbox=sandbox, should_stop=stop.is_set, stamp=stamp,
                                   stamp_commit=commit)

            def schedule_at(when: dt.datetime, key: str, service: DiaryService = service,
                            prefix: str = prefix) -> None:
                changes.put(lambda: scheduler.add_job(
                    service.poll, DateTrigger(run_date=when), id=f"{prefix}at-{key}",
                    replace_existing=True))
                wake()

            def reconfigured(old: Config, new: Config, service: DiaryService = service,
                             diary: Diary = diary, prefix: str = prefix) -> None:
                if old.x != new.x and not sandbox:  # another account or API URL
                    service.use_client(client_for(diary, new))
                triggers = {}
                if (old.schedule.time, old.timezone) != (new.schedule.time, new.timezone):
                    triggers[f"{prefix}daily"] = daily_trigger(new)
                if old.schedule.poll_seconds != new.schedule.poll_seconds:
                    triggers[f"{prefix}poll"] = IntervalTrigger(
                        seconds=new.schedule.poll_seconds)
                for job_id, trigger in triggers.items():
                    changes.put(lambda job_id=job_id, trigger=trigger:
                                scheduler.reschedule_job(job_id, trigger=trigger))
                if f"{prefix}poll" in triggers:  # its runs now carry the new interval
                    changes.put(lambda: scheduler.modify_job(
                        f"{prefix}poll", kwargs={"interval": new.schedule.poll_seconds}))
                wake()

            service.schedule_at = schedule_at
            service.on_reconfigured = reconfigured
            if timeline is not None:
                service.write_timeline = lambda diary=diary: timeline(diary)
            services.append(service)
            service.announce()
            scheduler.add_job(service.poll, daily_trigger(config), id=f"{prefix}daily")
            scheduler.add_job(service.poll,
                              IntervalTrigger(seconds=config.schedule.poll_seconds),
                              id=f"{prefix}poll", next_run_time=dt.datetime.now(dt.UTC),
                              kwargs={"interval": config.schedule.poll_seconds})
        if not received:
            scheduler.start()
        while not received and not stop.is_set():
            select.select([wake_read], [], [])
            with contextlib.suppress(BlockingIOError):
                while wake_read.recv(512):
                    pass
            while not changes.empty():
                changes.get()()
        stop.set()
        if any(service.busy for service in services):
            logger.info("stopping: no new work; waiting for a request in flight (a second "
                        "signal exits at once)", extra={"repo": "-"})
        else:
            logger.info("stopping: no new work", extra={"repo": "-"})
        if scheduler.running:
            finisher = threading.Thread(target=scheduler.shutdown, kwargs={"wait": True},
                                        daemon=True)
            finisher.start()
            finisher.join(timeout=10)
    finally:
        signal.set_wakeup_fd(previous_fd)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        wake_read.close()
        wake_write.close()
        for service in services:
            service.write_state(stopped=True)
    if finisher is not None and finisher.is_alive():
        # A request still hangs past its own timeout: leave now; the journal records
        # that its outcome is unknown and the next start reconciles it.
        logger.warning("a request is still in flight; exiting anyway", extra={"repo": "-"})
        logging.shutdown()
        os._exit(0)
    logger.info("stopped", extra={"repo": "-"})
    return 0
