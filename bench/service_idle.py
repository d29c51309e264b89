"""Idle footprint of the service (issue 4): resident memory and CPU per hour.

    python bench/service_idle.py [--seconds 30]

Runs `agent-diary run` against a local emulator on a diary whose entry for today is
already posted, so every poll finds nothing new. Measures, from /proc, the resident
memory and the CPU time used after start-up: once with a 1-second poll (to measure the
cost of one poll) and once with a 1-hour poll (the cost of idling between polls). From
those it prints the CPU per hour with a 1-minute poll (target: under 1 s) and the
memory (target: at most 60 MB), with a bare `python` process as the baseline.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agent_diary.emulator import Emulator
from agent_diary.emulator_state import Account

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def make_diary(root: Path, poll: str) -> None:
    root.mkdir()
    for args in (["init", "-q", "-b", "main"], ["config", "user.name", "bench"],
                 ["config", "user.email", "bench@example.invalid"]):
        subprocess.run(["git", *args], cwd=root, check=True)
    today = dt.datetime.now(dt.UTC).date()
    (root / "diary").mkdir()
    (root / "diary" / f"{today}.md").write_text(
        "---\ntitle: Posted already\ntweet_ids: [\"1\"]\nposted_at: \"2026-01-01T00:00:00Z\"\n"
        "---\nNothing new today.\n", encoding="utf-8")
    (root / "config.yaml").write_text(f'schedule:\n  time: "00:00"\n  poll: {poll}\n',
                                      encoding="utf-8")
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "entry"], cwd=root, check=True)


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30)
    seconds = parser.parse_args().seconds
    account = Account()
    with Emulator(account) as emulator, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "AGENT_DIARY_X_API_URL": emulator.url,
               "X_CONSUMER_KEY": account.consumer_key,
               "X_CONSUMER_SECRET": account.consumer_secret,
               "X_ACCESS_TOKEN": account.access_token,
               "X_ACCESS_TOKEN_SECRET": account.access_token_secret}
        make_diary(Path(tmp) / "busy", "1s")
        make_diary(Path(tmp) / "idle", "1h")
        polling_cpu, polling_rss = measure(Path(tmp) / "busy", env, seconds)
        idle_cpu, idle_rss = measure(Path(tmp) / "idle", env, seconds)
        bare = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        time.sleep(2)
        bare_rss = rss_mb(bare.pid)
        bare.kill()
    per_poll = max(0.0, polling_cpu - idle_cpu) / seconds  # one poll a second
    idle_per_hour = idle_cpu / seconds * 3600
    per_hour = idle_per_hour + 60 * per_poll
    print(f"CPU per poll with nothing new          {per_poll * 1000:7.2f} ms")
    print(f"CPU per hour idling between polls      {idle_per_hour:7.3f} s")
    print(f"CPU per hour with a 1-minute poll      {per_hour:7.3f} s  (target < 1 s)")
    print(f"resident memory, service               {max(polling_rss, idle_rss):7.1f} MB "
          f"(target <= 60 MB)")
    print(f"resident memory, bare python (baseline) {bare_rss:6.1f} MB  ratio "
          f"{max(polling_rss, idle_rss) / bare_rss:.1f}")


if __name__ == "__main__":
    main()
