"""The emulator's world: the account, its posts and media, the PIN flow, and the faults
queued for it (injecting them: faults.py).

Kept apart from the HTTP layer (server.py) so its rules read in one place: what X
accepts, what it refuses, and what the text it returns looks like.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import json
import os
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..text.media import sniff
from ..text.twittertext import MAX_WEIGHTED_LENGTH, url_spans, weighted_length
from .faults import PRESETS, Fault

FIRST_ID = 1_861_000_000_000_000_000
MEDIA_LIFETIME = 86_400

@dataclass
class Account:
    id: str = "1000"
    username: str = "agentdiary"
    name: str = "Agent Diary (emulator)"
    consumer_key: str = "emulator-consumer-key"
    consumer_secret: str = "emulator-consumer-secret"
    access_token: str = "1000-emulator-access-token"
    access_token_secret: str = "emulator-access-token-secret"


class ApiError(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def _now_iso(now: float) -> str:
    return dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def x_text(text: str, media: bool = False) -> str:
    """The text X returns: URLs become t.co links, & < > become entities, and a post with
    media ends with one more t.co link, to the media."""
    return x_text_and_urls(text, media)[0]


def x_text_and_urls(text: str, media: bool = False) -> tuple[str, list[dict[str, Any]]]:
    """`x_text`, and its `entities.urls` as X gives them: each t.co link's place in the
    returned text and the URL it stands for (`expanded_url`)."""
    out, urls, last, at = [], [], 0, 0

    def link(slug: str, expanded: str) -> None:
        nonlocal at
        short = f"https://t.co/{slug}"
        urls.append({"start": at, "end": at + len(short), "url": short,
                     "expanded_url": expanded, "display_url": expanded.split("://")[-1]})
        out.append(short)
        at += len(short)

    def plain(part: str) -> None:
        nonlocal at
        escaped = html.escape(part, quote=False)
        out.append(escaped)
        at += len(escaped)

    for start, end in url_spans(text):
        plain(text[last:start])
        written = text[start:end]
        link(hashlib.sha1(written.encode()).hexdigest()[:10],
             written if "://" in written else f"http://{written}")
        last = end
    plain(text[last:])
    if media:
        plain(" ")
        slug = hashlib.sha1(text.encode()).hexdigest()[10:20]
        link(slug, f"https://x.com/i/status/photo/{slug}")
    return "".join(out), urls


class World:
    """Everything the emulator knows; every method holds the lock."""

    def __init__(self, account: Account | None = None, state_path: Path | None = None) -> None:
        self.account = account or Account()
        self.state_path = state_path
        self.lock = threading.RLock()
        self.posts: list[dict[str, Any]] = []
        self.media: dict[str, dict[str, Any]] = {}
        self.faults: list[Fault] = []
        self.request_tokens: dict[str, dict[str, str]] = {}
        self.tokens = {self.account.access_token: self.account.access_token_secret}
        self.counts: dict[str, int] = {}
        self.seen_nonces: set[str] = set()
        self.clock_offset = 0.0  # seconds the emulator's clock is ahead (doctor's tests)
        self.chunked: dict[str, dict[str, Any]] = {}
        self.next_id = FIRST_ID
        # X's duplicate check is not something to rely on (it misses repeats): tests turn
        # it off to see that exactly-once holds without it.
        self.reject_duplicates = True
        # Seconds before a new post shows in timeline reads (X's timelines lag).
        self.timeline_lag = 0.0
        if state_path and state_path.exists():
            data = json.loads(state_path.read_text(encoding="utf-8"))
            self.posts, self.media = data.get("posts", []), data.get("media", {})
            saved = data.get("account") or {}
            self.account.username = saved.get("username", self.account.username)
            self.account.name = saved.get("name", self.account.name)
            self.next_id = int(data.get("next_id", FIRST_ID))
        # GIF processing as X does it: this many STATUS answers say `in_progress` before
        # the final state ("succeeded", or "failed" to test the refusal); X's
        # `check_after_secs` is the delay it asks for (tests set 0 to stay fast).
        self.gif_processing_checks = 0
        self.gif_processing_result = "succeeded"
        self.gif_check_after_secs = 1.0
        # The Date header as sent instead of the real one (doctor's tests: no zone, garbage).
        self.date_header: str | None = None

    def save(self) -> None:
        if self.state_path is None:
            return
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.state_path.with_suffix(".tmp")
        account = {"username": self.account.username, "name": self.account.name}
        temp.write_text(json.dumps({"account": account, "posts": self.posts,
                                    "media": self.media, "next_id": self.next_id}, indent=1),
                        encoding="utf-8")
        os.replace(temp, self.state_path)

    def count(self, key: str) -> None:
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1

    def _new_id(self) -> str:
        self.next_id += 4096 + secrets.randbelow(4096)
        return str(self.next_id)

    def create_post(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        text = body.get("text")
        if not isinstance(text, str) or not text:
            raise ApiError(400, {"title": "Invalid Request", "detail": "text is required"})
        if weighted_length(text) > MAX_WEIGHTED_LENGTH:
            raise ApiError(*PRESETS["too_long"])
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        media_ids = (body.get("media") or {}).get("media_ids") or []
        with self.lock:
            live = [p for p in self.posts if not p.get("deleted")]
            if self.reject_duplicates and any(p["text"] == text for p in live):
                raise ApiError(*PRESETS["duplicate"])
            parent = next((p for p in live if p["id"] == reply_to), None) if reply_to else None
            if reply_to and parent is None:
                raise ApiError(400, {"title": "Invalid Request",
                                     "detail": f"in_reply_to_tweet_id {reply_to} not found"})
            if parent is not None and parent["author_id"] != self.account.id:
                raise ApiError(*PRESETS["reply_not_allowed"])
            for media_id in media_ids:
                item = self.media.get(media_id)
                if item is None or now > item["expires_at"] or \
                        item.get("processing") == "pending":
                    raise ApiError(400, {"title": "Invalid Request",
                                         "detail": f"media id {media_id} is invalid or expired"})
            post_id = self._new_id()
            post = {"id": post_id, "text": text, "author_id": self.account.id,
                    "created_at": _now_iso(now), "created": time.time(), "reply_to": reply_to,
                    "conversation_id": parent["conversation_id"] if parent else post_id,
                    "media_ids": list(media_ids)}
            self.posts.append(post)
            self.save()
        return {"data": {"id": post_id, "text": x_text(text, len(media_ids) > 0),
                         "edit_history_tweet_ids": [post_id]}}

    def delete_post(self, post_id: str) -> dict[str, Any]:
        with self.lock:
            post = next((p for p in self.posts if p["id"] == post_id), None)
            if post is not None:
                post["deleted"] = True
                self.save()
        return {"data": {"deleted": post is not None}}

    def public(self, post: dict[str, Any], fields: set[str]) -> dict[str, Any]:
        text, urls = x_text_and_urls(post["text"], bool(post["media_ids"]))
        item: dict[str, Any] = {"id": post["id"], "text": text,
                                "edit_history_tweet_ids": [post["id"]]}
        if "entities" in fields and urls:
            item["entities"] = {"urls": urls}
        if "created_at" in fields:
            item["created_at"] = post["created_at"]
        if "conversation_id" in fields:
            item["conversation_id"] = post["conversation_id"]
        if post["reply_to"] and "in_reply_to_user_id" in fields:
            item["in_reply_to_user_id"] = self.account.id
        if post["reply_to"] and "referenced_tweets" in fields:
            item["referenced_tweets"] = [{"type": "replied_to", "id": post["reply_to"]}]
        return item

    def timeline(self, user_id: str, query: dict[str, str]) -> dict[str, Any]:
        max_results = int(query.get("max_results", "10"))
        if not 5 <= max_results <= 100:
            raise ApiError(400, {"title": "Invalid Request",
                                 "detail": "max_results must be between 5 and 100"})
        fields = set(query.get("tweet.fields", "").split(","))
        with self.lock:
            posts = [p for p in self.posts if p["author_id"] == user_id and not p.get("deleted")
                     and p.get("created", 0.0) + self.timeline_lag <= time.time()]
        if "since_id" in query:
            posts = [p for p in posts if int(p["id"]) > int(query["since_id"])]
        if "start_time" in query:
            start = query["start_time"].replace("Z", "+00:00")
            since = dt.datetime.fromisoformat(start).timestamp()
            posts = [p for p in posts if dt.datetime.fromisoformat(
                p["created_at"].replace("Z", "+00:00")).timestamp() >= since]
        posts.sort(key=lambda p: int(p["id"]), reverse=True)
        offset = int(query.get("pagination_token", "0") or 0)
        page = posts[offset:offset + max_results]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta.update(newest_id=page[0]["id"], oldest_id=page[-1]["id"])
        if offset + max_results < len(posts):
            meta["next_token"] = str(offset + max_results)
        body: dict[str, Any] = {"meta": meta}
        if page:
            body["data"] = [self.public(p, fields) for p in page]
        return body

    def add_media(self, content: bytes, now: float) -> dict[str, Any]:
        kind = sniff(content[:16])
        if kind is None or kind == "gif":
            raise ApiError(400, {"title": "Invalid Request", "detail": "media type not "
                                 "supported by this endpoint (still images only)"})
        with self.lock:
            media_id = self._new_id()
            self.media[media_id] = {"id": media_id, "size": len(content), "kind": kind,
                                    "sha256": hashlib.sha256(content).hexdigest(),
                                    "data": base64.b64encode(content).decode(),
                                    "expires_at": now + MEDIA_LIFETIME, "alt": None}
            self.save()
        return {"data": {"id": media_id, "media_key": f"3_{media_id}", "size": len(content),
                         "expires_after_secs": MEDIA_LIFETIME}}

    # The chunked flow (GIFs): initialize, append segments, finalize, then STATUS.

    def initialize_upload(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("media_category") not in ("tweet_gif", "tweet_video", "tweet_image"):
            raise ApiError(400, {"title": "Invalid Request",
                                 "detail": "media_category is required"})
        with self.lock:
            media_id = self._new_id()
            self.chunked[media_id] = {"total": int(body.get("total_bytes", 0)),
                                      "type": body.get("media_type"), "segments": {}}
        return {"data": {"id": media_id, "media_key": f"16_{media_id}",
                         "expires_after_secs": MEDIA_LIFETIME}}

    def append_upload(self, media_id: str, index: int, chunk: bytes) -> dict[str, Any]:
        with self.lock:
            if media_id not in self.chunked:
                raise ApiError(400, {"title": "Invalid Request", "detail": "unknown media id"})
            self.chunked[media_id]["segments"][index] = chunk
        return {}

    def finalize_upload(self, media_id: str, now: float) -> dict[str, Any]:
        with self.lock:
            pending = self.chunked.pop(media_id, None)
            if pending is None:
                raise ApiError(400, {"title": "Invalid Request", "detail": "unknown media id"})
            content = b"".join(pending["segments"][i] for i in sorted(pending["segments"]))
            if len(content) != pending["total"]:
                raise ApiError(400, {"title": "Invalid Request",
                                     "detail": f"got {len(content)} of {pending['total']} bytes"})
            self.media[media_id] = {"id": media_id, "size": len(content), "kind": "gif",
                                    "sha256": hashlib.sha256(content).hexdigest(),
                                    "data": base64.b64encode(content).decode(),
                                    "expires_at": now + MEDIA_LIFETIME, "alt": None,
                                    "processing": "pending",
                                    "checks": self.gif_processing_checks,
                                    "checks_left": self.gif_processing_checks}
            self.save()
        return {"data": {"id": media_id, "expires_after_secs": MEDIA_LIFETIME,
                         "processing_info": {"state": "pending",
                                             "check_after_secs": self.gif_check_after_secs}}}

    def upload_status(self, media_id: str) -> dict[str, Any]:
        with self.lock:
            item = self.media.get(media_id)
            if item is None:
                raise ApiError(400, {"title": "Invalid Request", "detail": "unknown media id"})
            left = item.get("checks_left", 0)
            if item.get("processing") in ("pending", "in_progress") and left > 0:
                item["checks_left"] = left - 1
                item["processing"] = "in_progress"
                done = item["checks"] - left + 1
                return {"data": {"id": media_id, "processing_info": {
                    "state": "in_progress", "check_after_secs": self.gif_check_after_secs,
                    "progress_percent": 100 * done // (item["checks"] + 1)}}}
            if item.get("processing") in ("pending", "in_progress"):
                item["processing"] = self.gif_processing_result
            info: dict[str, Any] = {"state": item.get("processing", "succeeded")}
            if info["state"] == "failed":
                info.update(progress_percent=0, error={
                    "code": 1, "name": "InvalidMedia", "message": "Unsupported video format"})
            else:
                info["progress_percent"] = 100
        return {"data": {"id": media_id, "processing_info": info}}

    def expire_media(self) -> None:
        with self.lock:
            for item in self.media.values():
                item["expires_at"] = 0

    def set_alt(self, media_id: str, alt: str) -> dict[str, Any]:
        with self.lock:
            if media_id not in self.media:
                raise ApiError(400, {"title": "Invalid Request",
                                     "detail": f"media id {media_id} not found"})
            self.media[media_id]["alt"] = alt
            self.save()
        return {"data": {"id": media_id, "associated_metadata": True}}

    # --- PIN flow ----------------------------------------------------------------------

    def request_token(self) -> dict[str, str]:
        token = "req-" + secrets.token_hex(8)
        with self.lock:
            self.request_tokens[token] = {"secret": secrets.token_hex(12),
                                          "pin": f"{secrets.randbelow(10**7):07d}"}
        return {"oauth_token": token, "oauth_token_secret": self.request_tokens[token]["secret"],
                "oauth_callback_confirmed": "true"}

    def access_token(self, token: str, verifier: str) -> dict[str, str]:
        with self.lock:
            pending = self.request_tokens.get(token)
            if pending is None or not secrets.compare_digest(pending["pin"], verifier):
                raise ApiError(401, {"errors": [{"code": 32,
                                                 "message": "Could not authenticate you."}]})
            del self.request_tokens[token]
            access, secret = f"{self.account.id}-{secrets.token_hex(10)}", secrets.token_hex(16)
            self.tokens[access] = secret
        return {"oauth_token": access, "oauth_token_secret": secret,
                "user_id": self.account.id, "screen_name": self.account.username}

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            media = {k: {f: x for f, x in v.items() if f != "data"}
                     for k, v in self.media.items()}
            return {"account": {"id": self.account.id, "username": self.account.username},
                    "posts": [dict(p) for p in self.posts], "counts": dict(self.counts),
                    "media": media,
                    "faults": [asdict(f) for f in self.faults], "time": time.time()}
