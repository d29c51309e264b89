"""Requests and client overhead for publishing a 10-post thread (issue 3).

    python bench/publish.py [--runs 5]

Publishes a 10-post entry to a local emulator (in-process, real HTTP, OAuth 1.0a) with
the real publisher — journal fsyncs, lock, front matter, git commit included — and
prints the requests it made (target: exactly 10 creates + 1 users/me) and its time per
post beyond the baseline: the same 10 creates sent as bare signed requests (requests +
requests-oauthlib) to the same emulator in the same run. Target: under 50 ms per post.

Then whole processes (issue 11): `python -m agent_diary publish` of a fresh 10-post entry
(credentials and AGENT_DIARY_X_API_URL from the environment, as a CI job runs it) against
a bare tweepy loop in its own process (import tweepy, 10 create_tweet calls, each a reply
to the one before) posting to the same emulator, runs alternating, a fresh emulator for
each pair. Target: publish at most 1.3 times the loop. Both processes read bytecode (an
installed package has it; PYTHONDONTWRITEBYTECODE would make only ours compile its source
on every run): the first run of each writes it to a temporary PYTHONPYCACHEPREFIX.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from requests_oauthlib import OAuth1

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import committed_diary, emulator_env

from agent_diary.auth import Credentials
from agent_diary.config import load_config
from agent_diary.diary import Diary
from agent_diary.emulator.server import Emulator
from agent_diary.emulator.state import Account
from agent_diary.networks.x import XClient
from agent_diary.publish.publisher import publish

POSTS = 10
DATE = "2026-11-28"


def entry(tag: str) -> str:
    body = "\n\n---\n\n".join(f"Post {i} of run {tag}: what the agent did today, in a "
                              "sentence or two of plain words." for i in range(POSTS))
    return f"---\ntitle: Bench {tag}\n---\n{body}\n"


def make_repo(root: Path, tag: str) -> Diary:
    committed_diary(root, {f"diary/{DATE}.md": entry(tag)})
    return Diary(root=root, config_path=root / "config.yaml")


# The baseline process: what any script posting a thread with tweepy must do. tweepy
# hard-codes api.twitter.com, so its session is pointed at the emulator (as ours is).
TWEEPY_LOOP = """
import os, sys, requests, tweepy
base = os.environ["AGENT_DIARY_X_API_URL"]
class Routed(requests.Session):
    def request(self, method, url, *args, **kwargs):
        return super().request(method, url.replace("https://api.twitter.com", base),
                               *args, **kwargs)
client = tweepy.Client(consumer_key=os.environ["X_CONSUMER_KEY"],
                       consumer_secret=os.environ["X_CONSUMER_SECRET"],
                       access_token=os.environ["X_ACCESS_TOKEN"],
                       access_token_secret=os.environ["X_ACCESS_TOKEN_SECRET"],
                       return_type=dict)
client.session = Routed()
previous = None
for i in range(int(sys.argv[1])):
    text = f"Post {i} of loop {sys.argv[2]}: what the agent did today, in a sentence or two."
    previous = client.create_tweet(text=text, in_reply_to_tweet_id=previous,
                                   user_auth=True)["data"]["id"]
"""


def process_env(account: Account, url: str, pycache: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPYCACHEPREFIX": pycache, **emulator_env(account, url)}


def timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def processes(runs: int, tmp: Path) -> None:
    """Whole processes, alternating: the CLI's publish against the bare tweepy loop, and
    the loop importing first the libraries publish cannot do without (its floor)."""
    cli, loop, floor = [], [], []
    libraries = "import click, yaml, jinja2, markdown_it\n"
    pycache = str(tmp / "pycache")
    for run in range(runs + 1):  # run 0 writes the bytecode and is not counted
        account = Account()
        with Emulator(account) as emulator:
            env = process_env(account, emulator.url, pycache)
            diary = make_repo(tmp / f"cli{run}", f"cli {run}")
            times = (timed([sys.executable, "-c", TWEEPY_LOOP, str(POSTS), str(run)], env,
                           tmp),
                     timed([sys.executable, "-m", "agent_diary", "publish", "--date", DATE,
                            "--repo", str(diary.root)], env, tmp),
                     timed([sys.executable, "-c", libraries + TWEEPY_LOOP, str(POSTS),
                            f"{run} floor"], env, tmp))
        if run:
            loop.append(times[0])
            cli.append(times[1])
            floor.append(times[2])
    print(f"process: bare tweepy loop, {POSTS} creates    "
          f"{statistics.median(loop) * 1000:7.1f} ms")
    print(f"process: agent-diary publish, {POSTS} posts   "
          f"{statistics.median(cli) * 1000:7.1f} ms  ratio "
          f"{statistics.median(cli) / statistics.median(loop):.2f} (target ≤ 1.3)")
    print(f"process: the loop importing click, yaml, jinja2 and markdown_it first "
          f"{statistics.median(floor) * 1000:7.1f} ms  ratio "
          f"{statistics.median(floor) / statistics.median(loop):.2f} (what those imports "
          "alone cost publish, before any of its own work)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--process-runs", type=int, default=9)
    parser.add_argument("--only-processes", action="store_true")
    args = parser.parse_args()
    runs = args.runs
    if args.only_processes:
        with tempfile.TemporaryDirectory() as tmp:
            processes(args.process_runs, Path(tmp))
        return
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
    with tempfile.TemporaryDirectory() as tmp:
        processes(args.process_runs, Path(tmp))


if __name__ == "__main__":
    main()
