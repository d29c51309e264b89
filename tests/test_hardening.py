"""Issue 9: exactly once and safe where it really runs — hostile commits, lost and torn
journals, late creates, linked worktrees, edits between attempts. Each test failed on the
code before the fix. Real git repositories, the real CLI, the emulator."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
from pathlib import Path

import pytest

from agent_diary.publish.reconcile import comparable

from .helpers import DiaryRepo, EmulatorHandle, git, make_repo, thread_entry
from .test_media import png
from .test_publish import DATE, N, _start, _wait_for, assert_posted_once, front_matter, publish

SECRET = "s3cr3t-value-that-must-never-be-posted"


def journal_file(repo: DiaryRepo) -> Path:
    return repo.root / ".git" / "agent-diary" / "journal" / f"{DATE}.jsonl"


@pytest.fixture
def ready(repo: DiaryRepo) -> DiaryRepo:
    repo.write(f"diary/{DATE}.md", thread_entry(N))
    repo.commit("entry")
    return repo


@pytest.fixture
def no_dedup(emulator: EmulatorHandle) -> EmulatorHandle:
    """X's duplicate check misses repeats: exactly-once must hold without it."""
    emulator.world.reject_duplicates = False
    return emulator


# --- secrets and untrusted commits -----------------------------------------------------

def _secret_file(tmp_path: Path) -> Path:
    target = tmp_path / "outside" / "credentials.yaml"
    target.parent.mkdir()
    target.write_text(f"default:\n  consumer_secret: {SECRET}\n", encoding="utf-8")
    return target


@pytest.mark.parametrize("link", ["entry", "entry-proc", "template", "config", "folder"])
def test_a_committed_symlink_is_refused_and_nothing_outside_is_read(
        repo: DiaryRepo, emulator: EmulatorHandle, tmp_path: Path, link: str) -> None:
    target = _secret_file(tmp_path)
    entry = f"diary/{DATE}.md"
    if link == "entry":
        (repo.root / "diary").mkdir()
        os.symlink(target, repo.root / entry)
    elif link == "entry-proc":  # the process's own environment, secrets and all
        (repo.root / "diary").mkdir()
        os.symlink("/proc/self/environ", repo.root / entry)
    elif link == "template":
        repo.write(entry, "---\ntitle: t\n---\nBody text.\n")
        (repo.root / "templates").mkdir()
        os.symlink(target, repo.root / "templates/thread.j2")
    elif link == "config":
        repo.write(entry, "---\ntitle: t\n---\nBody text.\n")
        os.symlink(target, repo.root / "config.yaml")
    elif link == "folder":
        (target.parent / f"{DATE}.md").write_text(f"---\ntitle: t\n---\n{SECRET}\n")
        os.symlink(target.parent, repo.root / "diary")
    repo.commit("hostile")
    env = emulator.env(AGENT_DIARY_TEST_SECRET=SECRET)
    for command in (["publish", "--date", DATE], ["preview", "--date", DATE]):
        result = repo.run(*command, env=env)
        assert result.code == 2, (command, result.stderr)
        assert "symbolic link" in result.stderr
        assert SECRET not in result.stdout + result.stderr
        for secret in emulator.secrets():
            assert secret not in result.stdout + result.stderr
    assert emulator.requests() == 0 and emulator.posts() == []


def test_publish_posts_the_committed_template_not_the_working_copy(
        ready: DiaryRepo, emulator: EmulatorHandle) -> None:
    ready.write("templates/thread.j2", "{{ entry.body }}\n")
    ready.commit("template")
    ready.write("templates/thread.j2", "UNCOMMITTED {{ entry.body }}\n")
    preview = ready.run("preview", "--date", DATE, "--format", "json")
    assert preview.code == 0 and "UNCOMMITTED" in preview.stdout  # preview: the work tree
    result = publish(ready, emulator)
    assert result.code == 0, result.stderr
    assert not any("UNCOMMITTED" in post["text"] for post in emulator.posts())
    assert len(emulator.posts()) == N


def test_publish_reads_the_committed_config(ready: DiaryRepo, emulator: EmulatorHandle) -> None:
    # An uncommitted config.yaml that would post to somewhere else is not used.
    ready.write("config.yaml", "thread:\n  numbering: true\n")
    result = publish(ready, emulator)
    assert result.code == 0, result.stderr
    assert not any(post["text"].endswith(f"1/{N}") for post in emulator.posts())


# --- the journal ----------------------------------------------------------------------

def test_a_torn_journal_line_hides_nothing_written_after_it(ready: DiaryRepo,
                                                            no_dedup: EmulatorHandle) -> None:
    emulator = no_dedup
    # Run 1 is killed after posts 1 and 2 (account, start, 2 x (sending, sent) = 6 writes)
    # and leaves a torn line, as a crash in the middle of a write does.
    crashed = publish(ready, emulator, AGENT_DIARY_FAILPOINT="journal:6")
    assert crashed.code == -signal.SIGKILL and len(emulator.posts()) == 2
    with journal_file(ready).open("a", encoding="utf-8") as handle:
        handle.write('{"event": "sending", "k": 2, "at": "2026-')
    # Run 2 is killed right after it created post 3 (sending, sent = 2 writes).
    crashed = publish(ready, emulator, AGENT_DIARY_FAILPOINT="journal:2")
    assert crashed.code == -signal.SIGKILL and len(emulator.posts()) == 3
    result = publish(ready, emulator)
    assert result.code == 0, result.stderr
    assert_posted_once(ready, emulator)
    lines = journal_file(ready).read_bytes().split(b"\n")
    assert lines[-1] == b"" and all(json.loads(line) for line in lines[:-1])


# --- unknown outcomes -------------------------------------------------------------------

def test_a_create_that_lands_after_the_timeout_is_not_sent_again(
        ready: DiaryRepo, no_dedup: EmulatorHandle) -> None:
    emulator = no_dedup
    # X performs post 2 half a second after the request came, when the client has long
    # given up (timeout 0.2 s). It is on X only afterwards: sending again would double it.
    emulator.fault(skip=1, delay=0.5)
    result = publish(ready, emulator, AGENT_DIARY_HTTP_TIMEOUT="0.2",
                     AGENT_DIARY_SETTLE_SECONDS="3")
    assert result.code == 0, result.stderr
    assert "waiting" in result.stderr and "post 2/4 was already on X" in result.stderr
    assert_posted_once(ready, emulator)
    assert emulator.count("POST /2/tweets") == N


def test_an_unanswered_create_is_looked_for_only_after_the_timeline_caught_up(
        ready: DiaryRepo, no_dedup: EmulatorHandle) -> None:
    emulator = no_dedup
    emulator.world.timeline_lag = 1.0  # a new post shows in reads one second later
    emulator.fault(skip=2, after="drop")  # post 3 is created, its answer lost
    result = publish(ready, emulator, AGENT_DIARY_SETTLE_SECONDS="2")
    assert result.code == 0, result.stderr
    assert_posted_once(ready, emulator)
    assert emulator.count("POST /2/tweets") == N


def test_a_stop_while_settling_is_exit_5_and_the_rerun_finds_the_post(
        ready: DiaryRepo, no_dedup: EmulatorHandle) -> None:
    emulator = no_dedup
    emulator.fault(skip=1, after="drop")
    process = _start(ready, emulator, AGENT_DIARY_SETTLE_SECONDS="60")
    _wait_for(lambda: journal_file(ready).exists()
              and '"unknown"' in journal_file(ready).read_text(encoding="utf-8"))
    process.send_signal(signal.SIGKILL)
    process.wait()
    result = publish(ready, emulator, AGENT_DIARY_SETTLE_SECONDS="0")
    assert result.code == 0, result.stderr
    assert_posted_once(ready, emulator)


# --- one state per clone, whatever the worktrees ----------------------------------------

def test_linked_worktrees_share_one_lock_and_journal(ready: DiaryRepo,
                                                     no_dedup: EmulatorHandle) -> None:
    emulator = no_dedup
    other = ready.root.parent / "worktree"
    git(ready.root, "worktree", "add", "-q", "-b", "other", str(other))
    emulator.fault(after="hold", hold=3)  # the first publisher is busy on post 1
    first = _start(ready, emulator)
    _wait_for(lambda: len(emulator.posts()) == 1)
    second = _start(DiaryRepo(other), emulator)
    outputs = [p.communicate(timeout=60) for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    assert "waiting for another publisher" in outputs[1][1]
    assert "already posted" in outputs[1][0]
    assert_posted_once(ready, emulator)
    assert not (ready.root / ".git" / "worktrees" / "worktree" / "agent-diary").exists()


# --- a lost journal (a CI runner, a fresh clone) ----------------------------------------

@pytest.mark.parametrize(("writes", "posted"), [(6, 2), (2 * N + 3, N)])
def test_a_lost_journal_adopts_what_is_on_x(ready: DiaryRepo, no_dedup: EmulatorHandle,
                                            writes: int, posted: int) -> None:
    emulator = no_dedup
    crashed = publish(ready, emulator, AGENT_DIARY_FAILPOINT=f"journal:{writes}")
    assert crashed.code == -signal.SIGKILL and len(emulator.posts()) == posted
    shutil.rmtree(ready.root / ".git" / "agent-diary")  # the cache was not restored
    result = publish(ready, emulator)
    assert result.code == 0, result.stderr
    assert f"{posted} of its {N} posts are on X already" in result.stderr
    assert_posted_once(ready, emulator)
    assert emulator.count("POST /2/tweets") == N


def test_a_fresh_clone_adopts_a_thread_posted_from_another_clone(
        tmp_path: Path, no_dedup: EmulatorHandle) -> None:
    emulator = no_dedup
    first = make_repo(tmp_path / "first")
    first.write(f"diary/{DATE}.md", thread_entry(N))
    first.commit("entry")
    assert publish(first, emulator, AGENT_DIARY_FAILPOINT=f"journal:{2 * N + 3}").code \
        == -signal.SIGKILL
    git(tmp_path, "clone", "-q", str(first.root), "second")
    second = DiaryRepo(tmp_path / "second")
    git(second.root, "config", "user.name", "CI")
    git(second.root, "config", "user.email", "ci@example.invalid")
    result = publish(second, emulator)
    assert result.code == 0, result.stderr
    assert_posted_once(second, emulator)


# --- edits between and during attempts --------------------------------------------------

def test_an_edit_after_a_failed_attempt_that_posted_nothing_is_posted(
        ready: DiaryRepo, emulator: EmulatorHandle) -> None:
    emulator.fault(preset="credits")
    assert publish(ready, emulator).code == 4 and emulator.posts() == []
    ready.write(f"diary/{DATE}.md", thread_entry(N).replace("Post number 1", "Post one"))
    ready.commit("edit")
    result = publish(ready, emulator)
    assert result.code == 0, result.stderr
    assert "none of it is on X" in result.stderr
    assert_posted_once(ready, emulator)
    assert "Post one" in emulator.posts()[0]["text"]


def test_posts_not_yet_sent_may_change_after_a_partial_post(
        ready: DiaryRepo, emulator: EmulatorHandle) -> None:
    emulator.fault(preset="credits", skip=2)
    assert publish(ready, emulator).code == 4 and len(emulator.posts()) == 2
    ready.write(f"diary/{DATE}.md", thread_entry(N).replace("Post number 3", "Post three"))
    ready.commit("edit")
    result = publish(ready, emulator)
    assert result.code == 0, result.stderr
    assert "changed after 2 of 4 posts: posting the rest" in result.stderr
    assert_posted_once(ready, emulator)
    texts = [p["text"] for p in sorted(emulator.posts(), key=lambda p: int(p["id"]))]
    assert texts[2].startswith("Post three") and texts[1].startswith("Post number 2")


def test_accept_edit_keeps_what_is_on_x_and_posts_the_rest(
        ready: DiaryRepo, emulator: EmulatorHandle) -> None:
    emulator.fault(preset="credits", skip=1)
    assert publish(ready, emulator).code == 4
    edited = thread_entry(N).replace("Post number 1", "Post one").replace("number 4", "four")
    ready.write(f"diary/{DATE}.md", edited)
    ready.commit("edit")
    assert publish(ready, emulator).code == 2
    result = ready.run("publish", "--date", DATE, "--accept-edit", env=emulator.env())
    assert result.code == 0, result.stderr
    texts = [p["text"] for p in sorted(emulator.posts(), key=lambda p: int(p["id"]))]
    assert "Post number 1" in texts[0] and texts[3].startswith("Post four")
    assert_posted_once(ready, emulator)


@pytest.mark.parametrize("changes_posts", [True, False])
def test_a_commit_during_posting_never_gets_the_old_texts_ids_silently(
        ready: DiaryRepo, emulator: EmulatorHandle, changes_posts: bool) -> None:
    emulator.fault(skip=1, after="hold", hold=2)  # post 2 takes a while
    process = _start(ready, emulator)
    _wait_for(lambda: len(emulator.posts()) == 2)
    text = thread_entry(N)
    edited = text.replace("Post number 3", "Post three") if changes_posts else \
        text.replace("title: Thread\n", "title: Thread   # a comment\n")
    ready.write(f"diary/{DATE}.md", edited)
    ready.commit("edit while posting")
    _, err = process.communicate(timeout=60)
    assert len(emulator.posts()) == N  # the thread as it was committed when posting began
    if not changes_posts:  # the same thread: its IDs go into the new text
        assert process.returncode == 0, err
        assert_posted_once(ready, emulator)
        assert "# a comment" in (ready.root / f"diary/{DATE}.md").read_text()
        return
    assert process.returncode == 2, err
    assert "changed by a commit while its thread was being posted" in err
    assert "--accept-edit" in err and "git checkout" in err
    assert "tweet_ids" not in front_matter(ready)
    result = ready.run("publish", "--date", DATE, "--accept-edit", env=emulator.env())
    assert result.code == 0, result.stderr
    assert_posted_once(ready, emulator)


# --- media before post 1, git on big diaries, X's text ----------------------------------

def test_a_refused_upload_never_leaves_half_a_thread(repo: DiaryRepo,
                                                     emulator: EmulatorHandle) -> None:
    repo.write("diary/media/late.png", png(7))
    body = thread_entry(N).replace("Post number 3 ", "Post number 3 ![a late image]"
                                                    "(media/late.png) ")
    repo.write(f"diary/{DATE}.md", body)
    repo.commit()
    emulator.fault(path="/2/media/upload", preset="credits")
    result = publish(repo, emulator)
    assert result.code == 4, result.stderr
    assert emulator.posts() == []  # nothing posted: the image was uploaded first
    result = publish(repo, emulator)
    assert result.code == 0, result.stderr
    assert_posted_once(repo, emulator)


def test_a_flat_diary_of_hundreds_of_entries_records_its_ids(repo: DiaryRepo,
                                                             emulator: EmulatorHandle) -> None:
    start = dt.date(2025, 10, 1)
    for day in range(420):
        date = start + dt.timedelta(days=day)
        repo.write(f"diary/{date}.md", f"---\ntitle: d{day}\n---\nEntry number {day}.\n")
    # A one-post entry: what hit GitPython's "read of closed file" before (issue 9).
    repo.write(f"diary/{DATE}.md", "---\ntitle: today\n---\nOne post today.\n")
    repo.commit()
    result = publish(repo, emulator)
    assert result.code == 0, result.stderr
    assert_posted_once(repo, emulator, 1)


def test_text_from_x_is_compared_with_every_entity_unescaped() -> None:
    sent = 'She said "it\'s done" & left <quietly> https://example.com/a'
    from_x = ("She said &quot;it&#39;s done&quot; &amp; left &lt;quietly&gt; "
              "https://t.co/abc123")
    assert comparable(from_x, from_x=True) == comparable(sent, from_x=False)


# --- found in review: matching, forks, images, --accept-edit, the settle knob -----------

def _ordered(emulator: EmulatorHandle) -> list[dict]:
    return sorted(emulator.posts(), key=lambda p: int(p["id"]))


def test_another_days_post_with_another_link_is_not_adopted(repo: DiaryRepo,
                                                             no_dedup: EmulatorHandle) -> None:
    emulator = no_dedup
    for day in ("2026-11-27", DATE):  # the same words, each day's own link
        repo.write(f"diary/{day}.md", f"---\ntitle: Notes\n---\nRead https://example.com/{day}"
                                      f"\n\n---\n\nAnd that was {day}.\n")
    repo.commit()
    assert repo.run("publish", "--date", "2026-11-27", env=emulator.env()).code == 0
    result = publish(repo, emulator)
    assert result.code == 0, result.stderr
    assert "already" not in result.stderr
    today = _ordered(emulator)[2:]
    assert len(today) == 2 and today[0]["reply_to"] is None
    assert front_matter(repo)["tweet_ids"] == [p["id"] for p in today]


def test_a_lost_journal_and_an_edited_posted_post_never_fork_the_thread(
        ready: DiaryRepo, no_dedup: EmulatorHandle) -> None:
    emulator = no_dedup
    assert publish(ready, emulator, AGENT_DIARY_FAILPOINT="journal:6").code == -signal.SIGKILL
    shutil.rmtree(ready.root / ".git" / "agent-diary")
    ready.write(f"diary/{DATE}.md", thread_entry(N).replace("Post number 2", "Post two"))
    ready.commit("edit")
    result = publish(ready, emulator)
    assert result.code == 2, result.stderr
    second = _ordered(emulator)[1]["id"]
    assert f"{emulator.url}/#post-{second}" in result.stderr
    assert "fork" in result.stderr and len(emulator.posts()) == 2


@pytest.mark.parametrize("change", ["image", "alt"])
def test_a_changed_image_or_alt_text_is_uploaded_again(repo: DiaryRepo,
                                                       emulator: EmulatorHandle,
                                                       change: str) -> None:
    import hashlib

    repo.write("diary/media/a.png", png(1))
    repo.write(f"diary/{DATE}.md", "---\ntitle: t\n---\nLook ![old words](media/a.png) here.\n")
    repo.commit()
    emulator.fault(preset="credits")  # the upload happened, post 1 did not
    assert publish(repo, emulator).code == 4
    if change == "image":
        repo.write("diary/media/a.png", png(2))
    else:
        repo.write(f"diary/{DATE}.md", "---\ntitle: t\n---\nLook ![new words](media/a.png) "
                                       "here.\n")
    repo.commit("change")
    result = publish(repo, emulator)
    assert result.code == 0, result.stderr
    media = emulator.world.snapshot()["media"][emulator.posts()[0]["media_ids"][0]]
    assert media["sha256"] == hashlib.sha256(png(2 if change == "image" else 1)).hexdigest()
    assert media["alt"] == ("old words" if change == "image" else "new words")


def test_accept_edit_is_remembered_and_the_hint_names_the_posted_commit(
        ready: DiaryRepo, emulator: EmulatorHandle) -> None:
    posted_commit = git(ready.root, "rev-parse", "HEAD").strip()
    emulator.fault(preset="credits", skip=1)
    assert publish(ready, emulator).code == 4
    ready.write(f"diary/{DATE}.md", thread_entry(N).replace("Post number 1", "Post one"))
    ready.commit("edit")
    refused = publish(ready, emulator)
    assert refused.code == 2 and f"git checkout {posted_commit[:12]} --" in refused.stderr
    emulator.fault(preset="credits", skip=1)  # the accepted run stops after post 2
    accepted = ready.run("publish", "--date", DATE, "--accept-edit", env=emulator.env())
    assert accepted.code == 4 and len(emulator.posts()) == 2
    result = publish(ready, emulator)  # a plain rerun (the service) finishes it
    assert result.code == 0, result.stderr
    assert_posted_once(ready, emulator)


def test_a_short_settle_window_only_against_a_local_emulator(ready: DiaryRepo,
                                                            emulator: EmulatorHandle) -> None:
    result = publish(ready, emulator, AGENT_DIARY_X_API_URL="https://api.x.invalid",
                     AGENT_DIARY_SETTLE_SECONDS="1")
    assert result.code == 2 and "AGENT_DIARY_SETTLE_SECONDS" in result.stderr
    assert emulator.requests() == 0


@pytest.mark.parametrize("text", [
    "\ufeffA body with a byte order mark and no front matter.\n",
    "---\n{title: x}  # a comment with a brace }\n---\nBody.\n",
])
def test_ids_that_could_not_be_written_are_found_out_before_posting(
        repo: DiaryRepo, emulator: EmulatorHandle, text: str) -> None:
    repo.write(f"diary/{DATE}.md", text)
    repo.commit()
    result = publish(repo, emulator)
    if text.startswith("\ufeff"):  # now written, BOM first, as it was
        assert result.code == 0, result.stderr
        written = (repo.root / f"diary/{DATE}.md").read_text(encoding="utf-8")
        assert written.startswith("\ufeff---\ntweet_ids: [") and written.endswith(text[1:])
        return
    assert result.code == 2 and "front matter" in result.stderr, result.stderr
    assert emulator.requests() == 0


def test_a_future_date_with_a_lost_journal_is_still_adopted(repo: DiaryRepo,
                                                            no_dedup: EmulatorHandle) -> None:
    emulator = no_dedup
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).date().isoformat()
    repo.write(f"diary/{tomorrow}.md", thread_entry(2))
    repo.commit()
    env = emulator.env(AGENT_DIARY_FAILPOINT="journal:7")  # after complete, not recorded
    assert repo.run("publish", "--date", tomorrow, env=env).code == -signal.SIGKILL
    shutil.rmtree(repo.root / ".git" / "agent-diary")
    result = repo.run("publish", "--date", tomorrow, env=emulator.env())
    assert result.code == 0, result.stderr
    assert len(emulator.posts()) == 2


def test_ids_taken_away_by_a_reset_are_written_again(ready: DiaryRepo,
                                                     emulator: EmulatorHandle) -> None:
    assert publish(ready, emulator).code == 0
    ids = front_matter(ready)["tweet_ids"]
    git(ready.root, "reset", "-q", "--hard", "HEAD~1")
    assert "tweet_ids" not in front_matter(ready)
    result = publish(ready, emulator)
    assert result.code == 0 and "already posted" in result.stdout, result.stderr
    assert front_matter(ready)["tweet_ids"] == ids and len(emulator.posts()) == N


def test_a_journal_with_lost_or_odd_records_looks_before_it_sends(
        ready: DiaryRepo, no_dedup: EmulatorHandle) -> None:
    emulator = no_dedup
    crashed = publish(ready, emulator, AGENT_DIARY_FAILPOINT="journal:8")  # 3 posts sent
    assert crashed.code == -signal.SIGKILL and len(emulator.posts()) == 3
    lines = journal_file(ready).read_text(encoding="utf-8").splitlines(keepends=True)
    post_2 = [i for i, line in enumerate(lines) if '"k": 1' in line]
    for i in post_2:  # the records of post 2 lost to a bad block
        lines[i] = "\0" * (len(lines[i]) - 1) + "\n"
    lines.append('{"event": "sent", "k": 0}\n{"event": "start", "posts": 3}\n')
    journal_file(ready).write_text("".join(lines), encoding="utf-8")
    status = ready.run("status", "--days", "366")
    assert status.code == 0, status.stderr
    result = publish(ready, emulator)
    assert result.code == 0, result.stderr
    assert_posted_once(ready, emulator)


def test_a_post_shared_with_a_later_days_entry_is_refused(repo: DiaryRepo,
                                                          emulator: EmulatorHandle) -> None:
    # The 29th is posted first; the 28th, made ready later, starts with the same post:
    # X would refuse it, and it must never be taken for the 28th's own post 1.
    repo.write("diary/2026-11-29.md", "---\ntitle: Same\n---\nThe same start.\n\n---\n\n29.\n")
    repo.write(f"diary/{DATE}.md", "---\ntitle: Same\n---\nThe same start.\n\n---\n\n28.\n")
    repo.commit()
    assert repo.run("publish", "--date", "2026-11-29", env=emulator.env()).code == 2
    result = publish(repo, emulator)
    assert result.code == 2 and "post 1 is identical to post 1 of 2026-11-29" in result.stderr
    assert emulator.requests() == 0


def test_an_entry_on_the_first_day_of_the_calendar_is_previewed(repo: DiaryRepo) -> None:
    repo.entry("0001-01-03", "Very early.\n")
    result = repo.run("preview", "--date", "0001-01-03")
    assert result.code == 0, result.stderr


def test_a_link_to_a_post_points_where_it_went() -> None:
    from agent_diary.publish.record import post_url

    assert post_url("me", "12", "https://api.x.com") == "https://x.com/me/status/12"
    assert post_url("", "12", "https://api.twitter.com/") == "https://x.com/i/status/12"
    assert post_url("me", "12", "http://127.0.0.1:8765/") == "http://127.0.0.1:8765/#post-12"
