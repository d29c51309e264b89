"""The emulator behaves like X where the publisher depends on it."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from requests_oauthlib import OAuth1

from agent_diary.auth import Credentials
from agent_diary.emulator.state import x_text
from agent_diary.errors import AccountError
from agent_diary.networks.x import XClient

from .helpers import DiaryRepo, EmulatorHandle


def client(emulator: EmulatorHandle, **override: str) -> XClient:
    a = emulator.account
    values = {"consumer_key": a.consumer_key, "consumer_secret": a.consumer_secret,
              "access_token": a.access_token, "access_token_secret": a.access_token_secret,
              **override}
    return XClient(Credentials(**values), emulator.url, retry_delays=())


@pytest.mark.parametrize("wrong", ["consumer_key", "consumer_secret", "access_token",
                                   "access_token_secret"])
def test_every_credential_is_checked(emulator: EmulatorHandle, wrong: str) -> None:
    with pytest.raises(AccountError, match="401"):
        client(emulator, **{wrong: "not-the-right-value"}).me()
    assert client(emulator).me().username == "agentdiary"


def test_replayed_nonce_and_skewed_clock_are_refused(emulator: EmulatorHandle) -> None:
    a = emulator.account
    auth = OAuth1(a.consumer_key, a.consumer_secret, a.access_token, a.access_token_secret)
    prepared = requests.Request("GET", emulator.url + "/2/users/me", auth=auth).prepare()
    with requests.Session() as session:
        assert session.send(prepared).status_code == 200
        assert session.send(prepared).status_code == 401  # the same nonce again
    stale = OAuth1(a.consumer_key, a.consumer_secret, a.access_token, a.access_token_secret,
                   timestamp=str(int(time.time()) - 3600))
    answer = requests.get(emulator.url + "/2/users/me", auth=stale)
    assert answer.status_code == 401 and answer.json()["errors"][0]["code"] == 135


def test_posts_come_back_as_x_returns_them(emulator: EmulatorHandle) -> None:
    x = client(emulator)
    first = x.create_post("A & B <c> https://example.com/page")
    reply = x.create_post("second", reply_to=first)
    timeline = x.recent_posts(x.me().id)
    assert [p.id for p in timeline] == [reply, first]
    assert timeline[1].text.startswith("A &amp; B &lt;c&gt; https://t.co/")
    assert timeline[0].reply_to == first
    assert x_text("see x.com") == "see https://t.co/" + x_text("see x.com")[-10:]


def test_limits_like_x(emulator: EmulatorHandle) -> None:
    from agent_diary.errors import InputError
    from agent_diary.networks.x import DuplicateContent

    x = client(emulator)
    x.create_post("once")
    with pytest.raises(DuplicateContent):
        x.create_post("once")
    with pytest.raises(InputError, match="too long"):
        x.create_post("x" * 281)
    assert len(emulator.posts()) == 1


def test_state_persists_and_the_timeline_page_shows_threads(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    first = EmulatorHandle(state)
    x = client(first)
    root = x.create_post("Thread start <b>")
    x.create_post("Thread end", reply_to=root)
    first.stop()
    second = EmulatorHandle(state)
    page = requests.get(second.url + "/").text
    assert "Thread start &lt;b&gt;" in page and "Thread end" in page
    assert "2 posts in 1 thread" in page
    second.stop()


class _Node:
    """An element of a parsed page: enough of a DOM to check structure, not looks."""

    def __init__(self, tag: str, attrs: dict[str, str | None]) -> None:
        self.tag, self.attrs, self.children, self.text = tag, attrs, [], ""

    def all(self, tag: str = "", cls: str = "") -> list[_Node]:
        found = []
        for child in self.children:
            if (not tag or child.tag == tag) and \
                    (not cls or cls in (child.attrs.get("class") or "").split()):
                found.append(child)
            found.extend(child.all(tag, cls))
        return found


def parse_page(page: str) -> _Node:
    from html.parser import HTMLParser

    void = {"img", "meta", "br", "hr", "link", "input"}
    root, stack = _Node("", {}), []

    class Builder(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            node = _Node(tag, dict(attrs))
            (stack[-1] if stack else root).children.append(node)
            if tag not in void:
                stack.append(node)

        def handle_endtag(self, tag: str) -> None:
            assert stack and stack[-1].tag == tag, f"</{tag}> closes <{stack[-1].tag}>"
            stack.pop()

        def handle_data(self, data: str) -> None:
            for node in stack:
                node.text += data

    Builder(convert_charrefs=True).feed(page)
    assert not stack, f"unclosed: {[n.tag for n in stack]}"
    return root


def test_the_timeline_page_looks_like_threads_on_x() -> None:
    from agent_diary.emulator.server import timeline_page
    from agent_diary.emulator.state import Account, World

    world = World(Account(username="diarist", name="ada Lovelace"))
    at = dt.datetime(2026, 11, 28, 20, 5, tzinfo=dt.UTC).timestamp()
    hostile = "Start <script>alert(1)</script> & <b>x</b>: https://example.com/a?b=1&c=2 " \
              "or x.com, not javascript:alert(1)"
    root = world.create_post({"text": hostile}, at)["data"]["id"]
    image = world.add_media(b"\x89PNG\r\n\x1a\n" + b"0" * 40, at)["data"]["id"]
    world.set_alt(image, 'A "chart" <of> days')
    reply = world.create_post({"text": "Second\nline", "reply": {"in_reply_to_tweet_id": root},
                               "media": {"media_ids": [image]}}, at + 60)["data"]["id"]
    gone = world.create_post({"text": "Deleted tail", "reply": {"in_reply_to_tweet_id": reply}},
                             at + 120)["data"]["id"]
    world.delete_post(gone)
    newer = world.create_post({"text": "A newer thread"}, at + 3600)["data"]["id"]

    page = timeline_page(world)
    assert "<script>" not in page and "<b>x</b>" not in page and "Deleted tail" not in page
    articles = parse_page(page).all("article")
    assert [a.attrs["id"] for a in articles] == [f"post-{newer}", f"post-{root}", f"post-{reply}"]
    for article in articles:
        assert [n.text for n in article.all(cls="avatar")] == ["A"]
        assert [n.text for n in article.all(cls="name")] == ["ada Lovelace"]
        assert [n.text for n in article.all(cls="handle")] == ["@diarist"]
    first, second = articles[1], articles[2]
    (when,) = first.all("time")
    assert when.attrs["datetime"] == "2026-11-28T20:05:00.000Z"
    assert when.text == "28 Nov 2026, 20:05 UTC"
    (text,) = first.all(cls="text")
    assert text.text == hostile.replace("https://", "")  # links shown as X shows them
    links = {a.attrs["href"]: a for a in first.all("a")}
    assert set(links) == {"https://example.com/a?b=1&c=2", "http://x.com"}
    assert all("noopener" in (a.attrs.get("rel") or "").split() for a in links.values())
    assert links["http://x.com"].text == "x.com"
    (img,) = second.all("img")
    assert img.attrs["alt"] == 'A "chart" <of> days'
    assert (img.attrs["src"] or "").startswith("data:image/png;base64,iVBORw0KGgo")
    assert [n.text for n in second.all(cls="alt")] == ["ALT"]
    assert 'A "chart" <of> days' in second.all("figcaption")[0].text
    assert second.all(cls="text")[0].text == "Second\nline"
    # The line from an avatar down to the next post's: only between posts of a thread.
    assert [len(a.all(cls="reply-line")) for a in articles] == [0, 1, 0]


def test_an_empty_timeline_page_and_a_name_that_needs_escaping() -> None:
    from agent_diary.emulator.server import timeline_page
    from agent_diary.emulator.state import Account, World

    page = parse_page(timeline_page(World(Account(name="<co> & x"))))
    assert page.all("h1")[0].text == "<co> & x"
    assert [n.text for n in page.all(cls="avatar")] == ["<"]
    assert not page.all("article") and "Nothing posted yet." in page.all("main")[0].text


def test_the_emulator_command_serves_until_terminated(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "agent_diary", "emulator", "--port", "0", "--state",
         str(tmp_path / "s.json")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ})
    assert process.stdout is not None
    exports = dict(process.stdout.readline().strip().removeprefix("export ").split("=", 1)
                   for _ in range(5))
    url = exports["AGENT_DIARY_X_API_URL"]
    x = XClient(Credentials(exports["X_CONSUMER_KEY"], exports["X_CONSUMER_SECRET"],
                            exports["X_ACCESS_TOKEN"], exports["X_ACCESS_TOKEN_SECRET"]), url)
    assert x.me().id == "1000"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def test_pin_flow_single_post_and_media_endpoints(emulator: EmulatorHandle) -> None:
    from requests_oauthlib import OAuth1Session
    from requests_oauthlib.oauth1_session import TokenRequestDenied

    a = emulator.account
    flow = OAuth1Session(a.consumer_key, client_secret=a.consumer_secret, callback_uri="oob")
    request_token = flow.fetch_request_token(emulator.url + "/oauth/request_token")
    authorize = flow.authorization_url(emulator.url + "/oauth/authorize")
    pin = requests.get(emulator.url + "/_emulator/pin",
                       params={"oauth_token": request_token["oauth_token"]}).json()["pin"]
    assert pin in requests.get(authorize).text
    wrong = OAuth1Session(a.consumer_key, client_secret=a.consumer_secret,
                          resource_owner_key=request_token["oauth_token"],
                          resource_owner_secret=request_token["oauth_token_secret"],
                          verifier="0000000" if pin != "0000000" else "1111111")
    with pytest.raises(TokenRequestDenied, match="code 401"):
        wrong.fetch_access_token(emulator.url + "/oauth/access_token")
    flow = OAuth1Session(a.consumer_key, client_secret=a.consumer_secret, callback_uri="oob")
    request_token = flow.fetch_request_token(emulator.url + "/oauth/request_token")
    pin = requests.get(emulator.url + "/_emulator/pin",
                       params={"oauth_token": request_token["oauth_token"]}).json()["pin"]
    flow = OAuth1Session(a.consumer_key, client_secret=a.consumer_secret,
                         resource_owner_key=request_token["oauth_token"],
                         resource_owner_secret=request_token["oauth_token_secret"],
                         verifier=pin)
    tokens = flow.fetch_access_token(emulator.url + "/oauth/access_token")
    assert tokens["user_id"] == "1000" and tokens["screen_name"] == "agentdiary"
    x = client(emulator, access_token=tokens["oauth_token"],
               access_token_secret=tokens["oauth_token_secret"])
    assert x.me().id == "1000"

    auth = OAuth1(a.consumer_key, a.consumer_secret, a.access_token, a.access_token_secret)
    uploaded = requests.post(emulator.url + "/2/media/upload", auth=auth,
                             files={"media": ("a.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100)},
                             data={"media_category": "tweet_image"}).json()["data"]
    assert uploaded["media_key"] == f"3_{uploaded['id']}" and uploaded["size"] == 108
    alt = requests.post(emulator.url + "/2/media/metadata", auth=auth,
                        json={"id": uploaded["id"], "metadata": {"alt_text": {"text": "A"}}})
    assert alt.status_code == 200
    post = requests.post(emulator.url + "/2/tweets", auth=auth,
                         json={"text": "with an image",
                               "media": {"media_ids": [uploaded["id"]]}}).json()["data"]
    single = requests.get(emulator.url + f"/2/tweets/{post['id']}", auth=auth).json()
    assert re.fullmatch(r"with an image https://t\.co/\w+", single["data"]["text"])
    assert emulator.world.snapshot()["media"][uploaded["id"]]["alt"] == "A"
    assert requests.get(emulator.url + "/2/tweets/1", auth=auth).status_code == 404


# --- the Date header: doctor's clock check on a header it cannot compare --------------

@pytest.mark.parametrize("header", [
    "Sat, 28 Nov 2026 20:00:00",        # no zone at all
    "Sat, 28 Nov 2026 20:00:00 -0000",  # RFC 5322: "no information about the zone"
    "Sat, 28 Nov 2026 20:00:00 XYZ",    # a zone nobody knows
    "garbage",
    "Sat, 28 Nov 99999999999 20:00:00 GMT",
])
def test_doctor_does_not_compare_clocks_with_an_unusable_date(
        repo: DiaryRepo, emulator: EmulatorHandle, header: str) -> None:
    emulator.world.date_header = header
    assert requests.get(emulator.url + "/2/users/me").headers["Date"] == header
    repo.write(f"diary/{dt.datetime.now(dt.UTC).date()}.md", "A healthy entry.\n")
    repo.commit()
    result = repo.run("doctor", env=emulator.env())
    assert result.code == 0, result.stdout + result.stderr
    clock = next(line for line in result.stdout.splitlines() if " clock: " in line)
    assert clock.startswith("WARN") and header in clock and "not compared" in clock
    assert "Traceback" not in result.stderr


def test_doctor_still_compares_a_date_in_gmt(repo: DiaryRepo,
                                             emulator: EmulatorHandle) -> None:
    emulator.world.date_header = "Sat, 28 Nov 2020 20:00:00 GMT"  # years behind
    result = repo.run("doctor", env=emulator.env())
    clock = next(line for line in result.stdout.splitlines() if " clock: " in line)
    assert clock.startswith("FAIL") and "ahead of X's" in clock and "NTP" in clock


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=60), st.from_regex(
    r"(Sat, )?[0-9]{1,12} (Nov|Feb|Xyz) [0-9]{1,12} [0-9]{1,3}:[0-9]{1,3}(:[0-9]{1,3})?"
    r"( (GMT|UT|UTC|Z|EST|[+-][0-9]{4}|[A-Z]{1,4}))?", fullmatch=True)))
def test_any_date_header_is_an_aware_time_or_none(header: str) -> None:
    from agent_diary.doctor import server_time

    when = server_time(header)
    assert when is None or when.utcoffset() is not None
