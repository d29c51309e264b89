"""`publish` against the emulator, in real git repositories, through the real CLI."""

from __future__ import annotations

import datetime as dt
import itertools
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

from agent_diary.text.entry import split_entry

from .helpers import (
    DiaryRepo,
    EmulatorHandle,
    Result,
    clones_of_a_remote,
    git,
    thread_entry,
)

DATE = "2026-11-28"
N = 4


def front_matter(repo: DiaryRepo) -> dict:
    text = (repo.root / f"diary/{DATE}.md").read_text(encoding="utf-8")
    return yaml.safe_load(split_entry(text, "entry")[0]) or {}


def assert_posted_once(repo: DiaryRepo, emulator: EmulatorHandle, n: int = N) -> list[str]:
    """Exactly n posts, each replying to the one before, and the front matter holds them."""
    posts = sorted(emulator.posts(), key=lambda p: int(p["id"]))
    assert len(posts) == n, [p["text"][:30] for p in posts]
    assert posts[0]["reply_to"] is None
    for before, after in itertools.pairwise(posts):
        assert after["reply_to"] == before["id"]
    ids = [p["id"] for p in posts]
    data = front_matter(repo)
    assert data["tweet_ids"] == ids
    assert dt.datetime.strptime(data["posted_at"], "%Y-%m-%dT%H:%M:%SZ")
    return ids


def no_secrets(emulator: EmulatorHandle, *results: Result) -> None:
    for result in results:
        for secret in emulator.secrets():
            assert secret not in result.stdout and secret not in result.stderr


@pytest.fixture
def ready(repo: DiaryRepo) -> DiaryRepo:
    repo.write(f"diary/{DATE}.md", thread_entry(N))
    repo.commit("entry")
    return repo


def publish(repo: DiaryRepo, emulator: EmulatorHandle, **env: str) -> Result:
    return repo.run("publish", "--date", DATE, env=emulator.env(**env))


def test_posts_once_records_ids_and_commits_only_the_entry(ready: DiaryRepo,
                                                          emulator: EmulatorHandle) -> None:
    ready.write("unrelated.txt", "staged\n")
    git(ready.root, "add", "unrelated.txt")
    ready.write("notes.txt", "modified, not staged\n")
    result = publish(ready, emulator)
    assert result.code == 0, result.stderr
    ids = assert_posted_once(ready, emulator)
    # The emulator is not X: the output says where the posts went, not an x.com link.
    # The link is the post on the emulator's own timeline page.
    assert f"posted {N} posts to the X API at {emulator.url} (not X): {emulator.url}/" \
        f"#post-{ids[0]}" in result.stdout
    assert 'id="post-' + ids[0] + '"' in requests.get(emulator.url + "/", timeout=10).text
    # Exactly n creates, one users/me and one read of the account's posts (with no
    # journal, the thread may be on X already: issue 9, "lost journal"); no retries.
    assert emulator.count("POST /2/tweets") == N and emulator.count("GET /2/users/me") == 1
    assert emulator.count("GET /2/users/1000/tweets") == 1
    assert emulator.requests() == N + 2
    changed = git(ready.root, "show", "--name-only", "--format=%s", "HEAD").split()
    assert changed[-1] == f"diary/{DATE}.md" and f"diary/{DATE}.md" in changed
    assert "unrelated.txt" not in changed
    assert git(ready.root, "log", "-1", "--format=%s") == \
        f"diary: posted {DATE} as a thread of {N} posts\n"
    status = git(ready.root, "status", "--porcelain")
    assert "A  unrelated.txt" in status and "?? notes.txt" in status
    # The front matter write changed nothing but the two keys.
    diff = git(ready.root, "diff", "HEAD~1", "HEAD", "--unified=0", "--", f"diary/{DATE}.md")
    added = [line for line in diff.splitlines() if line.startswith("+") and
             not line.startswith("+++")]
    assert [line.split(":")[0] for line in added] == ["+tweet_ids", "+posted_at"]
    assert not [line for line in diff.splitlines() if line.startswith("-") and
                not line.startswith("---")]
    again = publish(ready, emulator)
    assert again.code == 0 and "already posted" in again.stdout
    assert emulator.count("POST /2/tweets") == N
    no_secrets(emulator, result, again)


def test_git_commit_false_writes_ids_without_committing(ready: DiaryRepo,
                                                        emulator: EmulatorHandle) -> None:
    ready.write("config.yaml", "git:\n  commit: false\n")
    ready.commit("config")
    result = publish(ready, emulator)
    assert result.code == 0, result.stderr
    assert_posted_once(ready, emulator)
    assert git(ready.root, "log", "-1", "--format=%s").strip() == "config"
    again = publish(ready, emulator)
    assert again.code == 0 and "already posted" in again.stdout


def _wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _start(repo: DiaryRepo, emulator: EmulatorHandle, **env: str) -> subprocess.Popen:
    import os

    return subprocess.Popen([sys.executable, "-m", "agent_diary", "publish", "--date", DATE],
                            cwd=repo.root, env={**os.environ, **emulator.env(**env)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("created", range(1, N + 1))
def test_killed_right_after_x_created_post_i(ready: DiaryRepo, emulator: EmulatorHandle,
                                            created: int) -> None:
    # X creates post i but holds the answer; the publisher is SIGKILLed meanwhile, so it
    # never learns the ID. The rerun must find the post instead of sending it again.
    emulator.fault(skip=created - 1, after="hold", hold=30)
    process = _start(ready, emulator)
    _wait_for(lambda: len(emulator.posts()) == created)
    process.send_signal(signal.SIGKILL)
    process.wait()
    emulator.clear_faults()
    result = publish(ready, emulator)
    assert result.code == 0, result.stderr
    assert "already on X" in result.stderr
    assert_posted_once(ready, emulator)


JOURNAL_WRITES = 2 * N + 4  # account, start, (sending, sent) per post, complete, recorded


@pytest.mark.parametrize("write", range(1, JOURNAL_WRITES + 1))
def test_killed_after_each_journal_write(ready: DiaryRepo, emulator: EmulatorHandle,
                                         write: int) -> None:
    crashed = publish(ready, emulator, AGENT_DIARY_FAILPOINT=f"journal:{write}")
    assert crashed.code == -signal.SIGKILL
    result = publish(ready, emulator)
    assert result.code == 0, result.stderr
    assert_posted_once(ready, emulator)
    assert git(ready.root, "status", "--porcelain") == ""


@pytest.mark.parametrize("dropped", range(1, N + 1))
def test_connection_dropped_after_the_create(ready: DiaryRepo, emulator: EmulatorHandle,
                                             dropped: int) -> None:
    emulator.fault(skip=dropped - 1, after="drop")
    result = publish(ready, emulator)
    assert result.code == 0, result.stderr
    assert f"post {dropped}/{N} was already on X" in result.stderr
    assert_posted_once(ready, emulator)
    assert emulator.count("POST /2/tweets") == N  # found, not sent again


def test_a_failed_create_that_did_not_post_is_sent_again(ready: DiaryRepo,
                                                         emulator: EmulatorHandle) -> None:
    emulator.fault(skip=1, preset="unavailable")  # 503 on post 2: nothing was created
    result = publish(ready, emulator)
    assert result.code == 0, result.stderr
    assert "not on X, sending again" in result.stderr
    assert_posted_once(ready, emulator)


def test_duplicate_answer_is_reconciled(ready: DiaryRepo, emulator: EmulatorHandle) -> None:
    # Post 2 is created but its answer is lost; the timeline lags and does not show it
    # yet, so it is sent again; X answers 403 duplicate; by then the timeline has it.
    emulator.fault(skip=1, after="drop")
    # skip=1: the first read is the look for the thread before post 1 (no journal yet).
    emulator.fault(method="GET", path=r"/2/users/\d+/tweets", status=200, skip=1,
                   body={"meta": {"result_count": 0}})
    result = publish(ready, emulator)
    assert result.code == 0, result.stderr
    assert "post 2/4 was already on X" in result.stderr
    assert emulator.count("POST /2/tweets") == N + 1  # the resend that X refused
    assert_posted_once(ready, emulator)


def test_killed_before_the_create_reached_x(ready: DiaryRepo, emulator: EmulatorHandle) -> None:
    # Killed right after journalling 'sending post 1': nothing was created. X's duplicate
    # answer then cannot be matched to any post: stop, do not guess.
    crashed = publish(ready, emulator, AGENT_DIARY_FAILPOINT="journal:3")
    assert crashed.code == -signal.SIGKILL and emulator.posts() == []
    emulator.fault(preset="duplicate")
    result = publish(ready, emulator)
    assert result.code == 5 and "unknown" in result.stderr
    assert emulator.posts() == []


def test_duplicate_of_a_post_outside_the_thread_is_bad_input(ready: DiaryRepo,
                                                              emulator: EmulatorHandle) -> None:
    # The account posted post 1's text as a reply elsewhere: X calls post 1 a duplicate,
    # and no attempt of this thread can be it; rerunning would never help (issue 9).
    from agent_diary.diary import open_diary
    from agent_diary.thread import build_thread

    diary = open_diary(ready.root, None)
    first = build_thread(diary, diary.config(), dt.date.fromisoformat(DATE)).posts[0].text
    other = emulator.world.create_post({"text": "elsewhere"}, time.time())["data"]["id"]
    elsewhere = emulator.world.create_post(
        {"text": first, "reply": {"in_reply_to_tweet_id": other}}, time.time())["data"]["id"]
    result = publish(ready, emulator)
    assert result.code == 2, result.stderr
    assert "post 1 is identical to a recent post of the account" in result.stderr
    assert f"{emulator.url}/#post-{elsewhere}" in result.stderr
    assert "reword post 1" in result.stderr
    assert len(emulator.posts()) == 2 and "tweet_ids" not in front_matter(ready)


def test_an_unseen_duplicate_with_no_journal_is_temporary(ready: DiaryRepo,
                                                           emulator: EmulatorHandle) -> None:
    # No journal, and X says duplicate of something the account's posts do not show:
    # it may be this thread's own post still invisible in a lagging timeline.
    emulator.fault(preset="duplicate")
    result = publish(ready, emulator)
    assert result.code == 5 and "rerun in a minute" in result.stderr
    assert emulator.posts() == []


ERRORS = [
    ({"preset": "credits"}, 4, ["402", "credit balance is empty", "Billing", "tier"]),
    ({"preset": "unauthorized", "path": "/2/users/me", "method": "GET"}, 4,
     ["401", "X_CONSUMER_KEY"]),
    ({"preset": "clock", "path": "/2/users/me", "method": "GET"}, 4, ["clock"]),
    ({"preset": "read_only"}, 4, ["read-only", "Read and write", "re-authorize"]),
    ({"preset": "not_enrolled"}, 4, ["not enrolled", "project"]),
    ({"preset": "reply_not_allowed", "skip": 1}, 4, ["not this account's own"]),
    ({"preset": "rate_limit", "reset_in": 900}, 5, ["rate-limited", "rerun at"]),
    ({"preset": "usage_cap"}, 5, ["Monthly usage cap", "waiting minutes will not help"]),
    ({"preset": "unavailable", "path": "/2/users/me", "method": "GET", "times": 3}, 5,
     ["503", "X is down"]),
    ({"preset": "unavailable", "times": 0}, 5, ["503", "not on the account's timeline"]),
    ({"preset": "too_long"}, 2, ["400", "too long"]),
]


@pytest.mark.parametrize(("fault", "code", "fragments"), ERRORS,
                         ids=[f"{f.get('preset')}" for f, _, _ in ERRORS])
def test_x_errors_exit_with_the_contract_code_and_a_fix(ready: DiaryRepo,
                                                        emulator: EmulatorHandle, fault: dict,
                                                        code: int, fragments: list[str]) -> None:
    emulator.fault(**fault)
    result = publish(ready, emulator)
    assert result.code == code, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert "tweet_ids" not in front_matter(ready)
    assert git(ready.root, "log", "--format=%s").splitlines() == ["entry"]
    no_secrets(emulator, result)


def test_a_short_rate_limit_is_waited_out(ready: DiaryRepo, emulator: EmulatorHandle) -> None:
    emulator.fault(preset="rate_limit", reset_in=1, skip=2)
    result = publish(ready, emulator)
    assert result.code == 0, result.stderr
    assert_posted_once(ready, emulator)


def test_timeouts_and_refused_connections_are_temporary(ready: DiaryRepo,
                                                        emulator: EmulatorHandle) -> None:
    emulator.fault(method="GET", path="/2/users/me", delay=2, times=0)
    slow = publish(ready, emulator, AGENT_DIARY_HTTP_TIMEOUT="0.5")
    assert slow.code == 5 and "Timeout" in slow.stderr
    emulator.clear_faults()
    refused = publish(ready, emulator, AGENT_DIARY_X_API_URL="http://127.0.0.1:9")
    assert refused.code == 5 and "cannot reach X" in refused.stderr
    assert emulator.posts() == []


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_refused_connection_names_the_url_and_fails_at_once_when_local() -> None:
    """Nothing listening on this machine (the emulator is not running): said at once, not
    after the retries; elsewhere (0.0.0.0 is not a loopback address) the retries stay."""
    from agent_diary.auth import Credentials
    from agent_diary.errors import TemporaryError
    from agent_diary.networks.x import XClient

    port = _closed_port()
    credentials = Credentials("ck", "cs", "at", "ats")
    for host, delays in (("127.0.0.1", []), ("localhost", []), ("0.0.0.0", [2.0, 6.0])):
        sleeps: list[float] = []
        client = XClient(credentials, f"http://{host}:{port}", retry_delays=(2.0, 6.0),
                         sleep=sleeps.append)
        with pytest.raises(TemporaryError) as info:
            client.me()
        assert f"cannot reach X at http://{host}:{port} " in info.value.message
        assert sleeps == delays, host
        assert ("nothing is listening" in info.value.message) == (not delays)


def test_publish_to_a_local_url_where_nothing_listens(ready: DiaryRepo,
                                                      emulator: EmulatorHandle) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    result = publish(ready, emulator, AGENT_DIARY_X_API_URL=url, AGENT_DIARY_RETRY_DELAYS="2,6")
    assert result.code == 5 and f"cannot reach X at {url}" in result.stderr, result.stderr
    assert "agent-diary emulator" in result.stderr and "Traceback" not in result.stderr


def test_stopped_midway_then_finished(repo: DiaryRepo, emulator: EmulatorHandle) -> None:
    today = str(dt.datetime.now(dt.UTC).date())  # status counts back from today
    repo.write(f"diary/{today}.md", thread_entry(N))
    repo.commit()
    emulator.fault(preset="credits", skip=2)
    first = repo.run("publish", env=emulator.env())
    assert first.code == 4 and len(emulator.posts()) == 2
    line = repo.run("status", "--days", "1").stdout.strip()
    assert line.startswith(f"{today}  partial") and "2 of 4 posted" in line and "402" in line
    second = repo.run("publish", env=emulator.env())
    assert second.code == 0, second.stderr
    assert len(emulator.posts()) == N
    assert repo.run("status", "--days", "1").stdout.split()[1] == "posted"


def test_two_publishers_at_once_post_once(ready: DiaryRepo, emulator: EmulatorHandle) -> None:
    emulator.fault(after="hold", hold=4)  # keep the first publisher busy on post 1
    first = _start(ready, emulator)
    _wait_for(lambda: len(emulator.posts()) == 1)
    second = _start(ready, emulator)
    outputs = [p.communicate(timeout=60) for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    assert "waiting for another publisher" in outputs[1][1]
    assert "already posted" in outputs[1][0]
    assert_posted_once(ready, emulator)


@pytest.mark.parametrize(("setup", "code", "fragment"), [
    ("draft", 3, "is a draft"),
    ("untracked", 3, "not committed"),
    ("modified", 3, "uncommitted edits"),
    ("bad media", 2, "not found"),
    ("missing", 3, "no entry for"),
])
def test_bad_input_never_reaches_the_network(repo: DiaryRepo, emulator: EmulatorHandle,
                                             setup: str, code: int, fragment: str) -> None:
    repo.write("README.md", "a diary\n")
    repo.commit("init")
    path = f"diary/{DATE}.md"
    if setup == "draft":
        repo.write(path, thread_entry(2, status="draft"))
        repo.commit()
    elif setup == "untracked":
        repo.write(path, thread_entry(2))
    elif setup == "modified":
        repo.write(path, thread_entry(2))
        repo.commit()
        repo.write(path, thread_entry(3))
    elif setup == "bad media":
        repo.write(path, thread_entry(2, media="[{path: media/missing.png, alt: x}]"))
        repo.commit()
    result = publish(repo, emulator)
    assert result.code == code, result.stderr
    assert fragment in result.stderr
    assert emulator.requests() == 0


def test_an_edit_to_a_post_already_on_x_is_refused(ready: DiaryRepo,
                                                   emulator: EmulatorHandle) -> None:
    emulator.fault(preset="credits", skip=1)
    assert publish(ready, emulator).code == 4
    ready.write(f"diary/{DATE}.md", thread_entry(N).replace("Post number 1", "Post one"))
    ready.commit("edit")
    result = publish(ready, emulator)
    assert result.code == 2 and "changed after 1 of 4 posts" in result.stderr
    first = emulator.posts()[0]["id"]
    assert "post 1 is already on X with its old text" in result.stderr
    assert f"({emulator.url}/#post-{first})" in result.stderr
    assert "git checkout" in result.stderr and f"publish --date {DATE} --accept-edit" \
        in result.stderr
    assert len(emulator.posts()) == 1


def test_push_rebases_a_rejected_push(tmp_path: Path, emulator: EmulatorHandle) -> None:
    remote, (ours, theirs) = clones_of_a_remote(tmp_path, "ours", "theirs")
    ours.write("config.yaml", "git:\n  push: true\n")
    ours.write(f"diary/{DATE}.md", thread_entry(2))
    ours.commit("entry")
    git(ours.root, "push", "-q", "-u", "origin", "main")
    git(theirs.root, "pull", "-q")
    theirs.write("other.md", "someone else's commit\n")
    theirs.commit("theirs")
    git(theirs.root, "push", "-q")
    result = publish(ours, emulator)
    assert result.code == 0, result.stderr
    log = git(remote, "log", "--format=%s", "main").splitlines()
    assert log[0].startswith(f"diary: posted {DATE}") and "theirs" in log


def test_pull_first_when_configured(tmp_path: Path, emulator: EmulatorHandle) -> None:
    _, (agent, publisher) = clones_of_a_remote(tmp_path, "writer", "publisher")
    agent.write("config.yaml", "git:\n  pull: true\n")
    agent.commit("config")
    git(agent.root, "push", "-q", "-u", "origin", "main")
    git(publisher.root, "pull", "-q")
    agent.write(f"diary/{DATE}.md", thread_entry(2))
    agent.commit("entry written elsewhere")
    git(agent.root, "push", "-q")
    result = publish(publisher, emulator)
    assert result.code == 0, result.stderr
    assert len(emulator.posts()) == 2


def test_status_shows_each_state(repo: DiaryRepo, emulator: EmulatorHandle) -> None:
    today = dt.datetime.now(dt.UTC).date()
    days = [today - dt.timedelta(days=i) for i in range(5)]
    repo.write(f"diary/{days[1]}.md", thread_entry(2, status="draft"))
    # Worded apart: a post identical to a nearby day's is refused (issue 9).
    repo.write(f"diary/{days[2]}.md", thread_entry(2).replace("Post number", "Pending post"))
    repo.write(f"diary/{days[3]}.md", thread_entry(2, title="Other"))
    repo.commit()
    repo.write(f"diary/{days[4]}.md", thread_entry(2, title="Untracked"))
    assert repo.run("publish", "--date", str(days[3]), env=emulator.env()).code == 0
    output = repo.run("status", "--days", "5").stdout.splitlines()
    lines, (spent, service) = output[:5], output[5:]
    assert spent == f"spent in {today:%Y-%m} (estimated): $0.400"  # two posts with URLs
    assert service == "service: not running"
    states = [line.split()[1] for line in lines]
    # Two days old with schedule.catch_up_days 0: the service will never post it.
    assert states == ["missing", "draft", "not-scheduled", "posted", "uncommitted"]
    assert f"{emulator.url}/#post-" in lines[3]  # the emulator's page, not x.com


def test_sandbox_needs_no_account_and_touches_nothing(ready: DiaryRepo) -> None:
    first = ready.run("publish", "--sandbox", "--date", DATE)
    assert first.code == 0, first.stderr
    assert f"posted in the sandbox (not on X) {N} posts" in first.stdout
    page = ready.root / ".git/agent-diary/sandbox/timeline.html"
    assert page.is_file() and "Post number 3 of the thread" in page.read_text(encoding="utf-8")
    assert "timeline.html" in first.stderr
    assert git(ready.root, "status", "--porcelain") == ""
    assert "tweet_ids" not in front_matter(ready)
    again = ready.run("publish", "--sandbox", "--date", DATE)
    assert again.code == 0 and "already posted in the sandbox" in again.stdout


def test_a_diverged_branch_is_reported_not_merged(tmp_path: Path,
                                                  emulator: EmulatorHandle) -> None:
    _, (ours, theirs) = clones_of_a_remote(tmp_path, "ours", "theirs")
    ours.write("config.yaml", "git:\n  pull: true\n")
    ours.commit("config")
    git(ours.root, "push", "-q", "-u", "origin", "main")
    git(theirs.root, "pull", "-q")
    theirs.write("theirs.md", "x\n")
    theirs.commit("theirs")
    git(theirs.root, "push", "-q")
    ours.write(f"diary/{DATE}.md", thread_entry(1))
    ours.commit("ours")
    result = publish(ours, emulator)
    assert result.code == 2 and "diverged" in result.stderr
    assert emulator.requests() == 0
    assert "theirs.md" not in git(ours.root, "ls-files")  # nothing was merged
