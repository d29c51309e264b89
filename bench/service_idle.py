"""Idle footprint of the service (issue 4): resident memory and CPU per hour.

    python bench/service_idle.py [--seconds 30]

Runs `agent-diary run` against a local emulator on a diary whose entry for today is
already posted, so every poll finds nothing new. Measures, from /proc, the resident
memory and the CPU time used after start-up: once with a 1-second poll (to measure the
cost of one poll) and once with a 1-hour poll (the cost of idling between polls). From
those it prints the CPU per hour with a 1-minute poll (target: under 1 s) and the
memory (target: at most 60 MB), with a bare `python` process as the baseline.

Issue 11 adds the memory of a service that has posted (target: at most 60 MB): a third
diary whose entry for today is committed and due, so the first poll publishes it (a
3-post thread) to the emulator; its resident memory is read a few seconds after the
"posted" line, with its children's (none should live on) counted too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    bare_python_rss_mb,
    committed_diary,
    cpu_seconds,
    descendants_rss_mb,
    emulator_env,
    rss_mb,
)

from agent_diary.emulator.server import Emulator
from agent_diary.emulator.state import Account

POSTED = "---\ntitle: Posted already\ntweet_ids: [\"1\"]\nposted_at: \"2026-01-01T00:00:00Z\"\n" \
    "---\nNothing new today.\n"
DUE = "---\ntitle: Due now\n---\n" + "\n\n---\n\n".join(
    f"Post {i} of today's entry: what the agent did, in a sentence or two." for i in range(3))


def make_diary(root: Path, poll: str, text: str = POSTED) -> None:
    today = dt.datetime.now(dt.UTC).date()
    committed_diary(root, {f"diary/{today}.md": text,
                           "config.yaml": f'schedule:\n  time: "00:00"\n  poll: {poll}\n'})


def measure(root: Path, env: dict[str, str], seconds: float) -> tuple[float, float]:
    """(CPU seconds used in `seconds` after start-up, resident MB at the end)."""
    process = subprocess.Popen([sys.executable, "-m", "agent_diary", "run"], cwd=root,
                               env=env, stderr=subprocess.DEVNULL)
    try:
        time.sleep(5)  # start-up: imports, the first poll
        before = cpu_seconds(process.pid)
        time.sleep(seconds)
        used = cpu_seconds(process.pid) - before
        memory = rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=20)
    return used, memory


def measure_after_posting(root: Path, env: dict[str, str]) -> tuple[float, float, float]:
    """(resident MB of the service, its peak, and of its live children) a few seconds
    after it posted."""
    process = subprocess.Popen([sys.executable, "-m", "agent_diary", "run"], cwd=root,
                               env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        for line in process.stderr:  # the first poll publishes the due entry
            if ": posted " in line:
                break
        else:
            raise SystemExit("the service never posted the due entry")
        threading.Thread(target=process.stderr.read, daemon=True).start()  # keep draining
        time.sleep(3)
        return (rss_mb(process.pid), rss_mb(process.pid, "VmHWM"),
                descendants_rss_mb(process.pid)[0])
    finally:
        process.terminate()
        process.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30)
    seconds = parser.parse_args().seconds
    account = Account()
    with Emulator(account) as emulator, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, **emulator_env(account, emulator.url)}
        make_diary(Path(tmp) / "busy", "1s")
        make_diary(Path(tmp) / "idle", "1h")
        polling_cpu, polling_rss = measure(Path(tmp) / "busy", env, seconds)
        idle_cpu, idle_rss = measure(Path(tmp) / "idle", env, seconds)
        make_diary(Path(tmp) / "posting", "1h", DUE)
        posted_rss, posted_peak, posted_children = measure_after_posting(Path(tmp) / "posting", env)
        bare_rss = bare_python_rss_mb()
    per_poll = max(0.0, polling_cpu - idle_cpu) / seconds  # one poll a second
    idle_per_hour = idle_cpu / seconds * 3600
    per_hour = idle_per_hour + 60 * per_poll
    print(f"CPU per poll with nothing new          {per_poll * 1000:7.2f} ms")
    print(f"CPU per hour idling between polls      {idle_per_hour:7.3f} s")
    print(f"CPU per hour with a 1-minute poll      {per_hour:7.3f} s  (target < 1 s)")
    print(f"resident memory, service               {max(polling_rss, idle_rss):7.1f} MB "
          f"(target <= 60 MB)")
    print(f"resident memory, service after posting {posted_rss:7.1f} MB "
          f"(peak {posted_peak:.1f} MB; + {posted_children:.1f} MB of live children; "
          "target <= 60 MB)")
    print(f"resident memory, bare python (baseline) {bare_rss:6.1f} MB  ratio "
          f"{max(polling_rss, idle_rss) / bare_rss:.1f}, after posting "
          f"{posted_rss / bare_rss:.1f}")


if __name__ == "__main__":
    main()
