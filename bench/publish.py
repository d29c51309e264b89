"""Requests and client overhead for publishing a 10-post thread (issue 3).

    python bench/publish.py [--runs 5]

Publishes a 10-post entry to a local emulator (in-process, real HTTP, OAuth 1.0a) with
the real publisher — journal fsyncs, lock, front matter, git commit included — and
prints the requests it made (target: exactly 10 creates + 1 users/me) and its time per
post beyond the baseline: the same 10 creates sent as bare signed requests (requests +
requests-oauthlib) to the same emulator in the same run. Target: under 50 ms per post.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import requests
from requests_oauthlib import OAuth1

from agent_diary.auth import Credentials
from agent_diary.config import load_config
from agent_diary.diary import Diary
from agent_diary.emulator import Emulator
from agent_diary.emulator_state import Account
from agent_diary.publisher import publish
from agent_diary.xapi import XClient

POSTS = 10
DATE = "2026-11-28"


def entry(tag: str) -> str:
    body = "\n\n---\n\n".join(f"Post {i} of run {tag}: what the agent did today, in a "
                              "sentence or two of plain words." for i in range(POSTS))
    return f"---\ntitle: Bench {tag}\n---\n{body}\n"


def make_repo(root: Path, tag: str) -> Diary:
    root.mkdir()
    for args in (["init", "-q", "-b", "main"], ["config", "user.name", "bench"],
                 ["config", "user.email", "bench@example.invalid"]):
        subprocess.run(["git", *args], cwd=root, check=True)
    (root / "diary").mkdir()
    (root / "diary" / f"{DATE}.md").write_text(entry(tag), encoding="utf-8")
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "entry"], cwd=root, check=True)
    return Diary(root=root, config_path=root / "config.yaml")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    account = Account()
    credentials = Credentials(account.consumer_key, account.consumer_secret,
                              account.access_token, account.access_token_secret)
    auth = OAuth1(account.consumer_key, account.consumer_secret, account.access_token,
                  account.access_token_secret)
    import datetime as dt

    date = dt.date.fromisoformat(DATE)
    publish_times, baseline_times, counts = [], [], {}
    with Emulator(account) as emulator, tempfile.TemporaryDirectory() as tmp:
        for run in range(runs):
            with requests.Session() as session:  # the baseline: bare signed creates
                start = time.perf_counter()
                previous = None
                for i in range(POSTS):
                    body = {"text": f"baseline {run} post {i}"}
                    if previous:
                        body["reply"] = {"in_reply_to_tweet_id": previous}
                    answer = session.post(emulator.url + "/2/tweets", json=body, auth=auth)
                    previous = answer.json()["data"]["id"]
                baseline_times.append(time.perf_counter() - start)
            diary = make_repo(Path(tmp) / f"repo{run}", str(run))
            config = load_config(diary.config_path)
            before = dict(emulator.world.snapshot()["counts"])
            start = time.perf_counter()
            result = publish(diary, config, date, lambda: XClient(credentials, emulator.url))
            publish_times.append(time.perf_counter() - start)
            after = emulator.world.snapshot()["counts"]
            counts = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
            assert len(result.ids) == POSTS and result.commit
    per_post = (statistics.median(publish_times) - statistics.median(baseline_times)) / POSTS
    print(f"requests for a {POSTS}-post thread: " +
          ", ".join(f"{k} x{v}" for k, v in sorted(counts.items())) +
          f" (total {sum(counts.values())}; target {POSTS} creates, 1 users/me and 1 read of "
          "the account's posts, which looks for a thread whose journal was lost)")
    print(f"baseline: {POSTS} bare signed creates        "
          f"{statistics.median(baseline_times) * 1000:7.1f} ms")
    print(f"publish: the whole thread, journal and commit "
          f"{statistics.median(publish_times) * 1000:7.1f} ms  "
          f"ratio {statistics.median(publish_times) / statistics.median(baseline_times):.2f}")
    print(f"client overhead per post beyond the baseline  {per_post * 1000:7.1f} ms "
          "(target < 50 ms)")


if __name__ == "__main__":
    main()
