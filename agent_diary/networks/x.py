"""The X API client: tweepy's Client with OAuth 1.0a user context, routed to the configured
base URL, and every failure turned into a typed error that says what fixes it.

tweepy 4.17 hard-codes https://api.twitter.com and sends no timeout. Its session is
replaced by one that rewrites the host *before* the request is prepared, so OAuth 1.0a
signs the URL actually requested, and that gives every request a timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ..auth import Credentials
from ..config import is_loopback_url
from ..errors import AccountError, AgentDiaryError, ExitCode, InputError, TemporaryError
from ..text.media import MediaFile

TWEEPY_HOST = "https://api.twitter.com"
TIMELINE_FIELDS = ["created_at", "conversation_id", "in_reply_to_user_id", "referenced_tweets",
                   "entities"]
MAX_RATE_LIMIT_WAIT = 60  # seconds; longer waits stop with exit 5 instead
UPLOAD_CHUNK = 4 * 1024 * 1024  # bytes per append (X takes up to 5 MB)
# X asks to poll a GIF's STATUS, `check_after_secs` apart, until it succeeds or fails;
# past this many seconds of asked-for waiting it is a temporary failure, not bad input.
MAX_PROCESSING_WAIT = 600.0
MIN_PROCESSING_CHECK = 1.0  # seconds each check counts for, so "0 s" cannot poll forever
T = TypeVar("T")


class RateLimited(TemporaryError):
    def __init__(self, message: str, reset_at: float | None) -> None:
        super().__init__(message)
        self.reset_at = reset_at


class UnknownOutcome(TemporaryError):
    """A create whose request may or may not have reached X: reconcile, never resend."""


class MediaExpired(TemporaryError):
    """X no longer knows an uploaded media id (uploads last about 24 hours)."""


class DuplicateContent(AgentDiaryError):
    """X's 403 for a post identical to a recent one: the post may already exist."""

    exit_code = ExitCode.TEMPORARY


@dataclass(frozen=True)
class Account:
    id: str
    username: str


@dataclass(frozen=True)
class TimelinePost:
    id: str
    text: str
    created_at: str | None
    reply_to: str | None  # the id of the post it replies to
    # What each t.co link of the text stands for, in order (entities.urls); None when X
    # sent no entities.
    urls: tuple[str, ...] | None = None


def _expanded_urls(item: dict[str, Any]) -> tuple[str, ...] | None:
    entities = item.get("entities")
    urls = entities.get("urls") if isinstance(entities, dict) else None
    if not isinstance(urls, list):
        return None
    found = [u for u in urls if isinstance(u, dict) and isinstance(u.get("expanded_url"), str)]
    return tuple(u["expanded_url"] for u in sorted(found, key=lambda u: u.get("start") or 0))


def problem_of(response: Any) -> dict[str, Any]:
    """An error response's problem JSON ({} for an empty or non-JSON body)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _describe(problem: dict[str, Any]) -> str:
    """What X said, from the problem's title and detail and each of its `errors`: v1.1
    items carry `message`, v2 items often only `detail` and `title` (X-API-NOTES.md)."""
    parts = [str(problem[key]) for key in ("title", "detail") if problem.get(key)]
    items = problem.get("errors")
    for item in items if isinstance(items, list) else []:
        said = next((item[key] for key in ("message", "detail", "title") if item.get(key)),
                    None) if isinstance(item, dict) else item
        if said:
            parts.append(str(said))
    # An empty or non-JSON body (an HTML 503 page) reaches here as {}.
    return ": ".join(dict.fromkeys(parts)) or \
        "X gave no reason (the body was empty, not JSON, or had no message)"


def _check_after(info: dict[str, Any]) -> float:
    """The seconds X asks to wait before the next STATUS check (1 if it names none)."""
    try:
        delay = float(info.get("check_after_secs", 1))
    except (TypeError, ValueError):
        return 1.0
    return delay if 0 <= delay < float("inf") else 1.0


def error_codes(problem: dict[str, Any]) -> set[Any]:
    """The v1.1 error codes of a problem (135: the clock is wrong)."""
    items = problem.get("errors")
    return {e.get("code") for e in (items if isinstance(items, list) else [])
            if isinstance(e, dict)}


def map_http_error(status: int, problem: dict[str, Any], headers: Any, action: str,
                   now: float, traps: Sequence[str] = ()) -> AgentDiaryError:
    """The user-facing error for an X API error response (see X-API-NOTES.md). `traps`:
    what is wrong with the credentials used (x_traps.traps_of), named in a 401."""
    said = _describe(problem)
    text = " ".join(str(v) for v in (problem.get("type"), problem.get("title"),
                                     problem.get("reason"), said)).lower()
    codes = error_codes(problem)
    if status == 402:
        return AccountError(
            f"X answered 402 Payment Required while {action}: the developer account's credit "
            "balance is empty. Add credits on the Billing page of the developer console "
            "(console.x.com); changing the API tier or regenerating keys does not fix this.")
    if status == 401:
        if 135 in codes or "timestamp" in text:
            return AccountError(f"X answered 401 while {action}: the timestamp is out of "
                                "bounds, so this machine's clock is wrong; set it (NTP) and rerun")
        if traps:
            return AccountError(f"X answered 401 Unauthorized while {action} ({said}): "
                                f"{'; '.join(traps)}")
        return AccountError(
            f"X answered 401 Unauthorized while {action} ({said}): check the four "
            "credentials (X_CONSUMER_KEY, X_CONSUMER_SECRET = the app's API Key and Secret; "
            "X_ACCESS_TOKEN, X_ACCESS_TOKEN_SECRET = the posting account's tokens)")
    if status == 403:
        if "duplicate content" in text:
            return DuplicateContent(f"X refused a duplicate post while {action}")
        if "oauth1-permissions" in text or "oauth1 app permissions" in text:
            return AccountError(
                f"X answered 403 while {action}: the app is read-only. In the developer "
                "console set the app's permissions to 'Read and write', then re-authorize "
                "(old access tokens keep the old permission): agent-diary auth")
        if "client-not-enrolled" in text or "client-forbidden" in text:
            return AccountError(
                f"X answered 403 while {action}: the app is not enrolled for this API. "
                "Attach it to a project (environment) with API access in the developer console")
        if "not been mentioned or otherwise engaged" in text:
            return AccountError(
                f"X refused a reply while {action}: the post replied to is not this "
                "account's own. Were the credentials changed in the middle of a thread?")
        return AccountError(f"X answered 403 Forbidden while {action}: {said}")
    if status == 429:
        if "usage-capped" in text or "usagecapexceeded" in text:
            period = problem.get("period") or "current"
            return TemporaryError(
                f"X answered 429 while {action}: the app's {period} usage cap is reached; "
                "waiting minutes will not help, it resets with the period (or raise the cap "
                "in the developer console)")
        reset = headers.get("x-rate-limit-reset")
        reset_at = float(reset) if reset and str(reset).isdigit() else None
        when = (f"at {time.strftime('%H:%M:%S UTC', time.gmtime(reset_at))} "
                f"(in {max(0, int(reset_at - now))} s)" if reset_at else "later")
        return RateLimited(f"X rate-limited {action}; rerun {when}", reset_at)
    if status >= 500:
        return TemporaryError(f"X answered {status} while {action} (X is down or overloaded); "
                              "rerun later")
    if status == 400 and "media" in text and ("expired" in text or "invalid" in text):
        return MediaExpired(f"X answered 400 while {action}: {said}")
    return InputError(f"X answered {status} while {action}: {said}")


def _refused(exc: BaseException) -> bool:
    """Whether a requests error comes from a refused TCP connection (urllib3 keeps the
    socket error in `reason`, in `args` and in the exception chain)."""
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        if isinstance(item, ConnectionRefusedError):
            return True
        seen.add(id(item))
        todo.extend([getattr(item, "reason", None), item.__cause__, item.__context__,
                     *item.args])
    return False


def client_options_from(environ: Any) -> dict[str, Any]:
    """Tuning from the environment: AGENT_DIARY_HTTP_TIMEOUT (seconds per request) and
    AGENT_DIARY_RETRY_DELAYS (comma-separated seconds between retries of 5xx/network)."""
    options: dict[str, Any] = {}
    try:
        if environ.get("AGENT_DIARY_HTTP_TIMEOUT"):
            seconds = float(environ["AGENT_DIARY_HTTP_TIMEOUT"])
            options["timeout"] = (seconds, seconds)
        if environ.get("AGENT_DIARY_RETRY_DELAYS"):
            options["retry_delays"] = tuple(
                float(x) for x in environ["AGENT_DIARY_RETRY_DELAYS"].split(","))
    except ValueError:
        raise InputError("AGENT_DIARY_HTTP_TIMEOUT must be seconds and "
                         "AGENT_DIARY_RETRY_DELAYS comma-separated seconds, e.g. 2,6") from None
    return options


class XClient:
    """The few X API calls agent-diary makes, with retries and error mapping."""

    def __init__(self, credentials: Credentials, base_url: str, *,
                 timeout: tuple[float, float] = (10.0, 30.0),
                 retry_delays: tuple[float, ...] = (2.0, 6.0),
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time) -> None:
        import requests
        import tweepy

        base = base_url.rstrip("/")

        class RoutedSession(requests.Session):
            def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
                if url.startswith(TWEEPY_HOST):
                    url = base + url[len(TWEEPY_HOST):]
                kwargs.setdefault("timeout", timeout)
                return super().request(method, url, *args, **kwargs)

        self._client = tweepy.Client(
            consumer_key=credentials.consumer_key, consumer_secret=credentials.consumer_secret,
            access_token=credentials.access_token,
            access_token_secret=credentials.access_token_secret, return_type=dict)
        self._client.session = RoutedSession()
        # For the v2 media endpoints tweepy has no method for: the same session and the
        # same OAuth 1.0a credentials.
        from requests_oauthlib import OAuth1

        self._base = base
        self.base_url = base  # where the requests go (for links to what was posted)
        self._credentials = credentials  # for the traps a 401 names (never shown)
        self._auth = OAuth1(credentials.consumer_key, credentials.consumer_secret,
                            credentials.access_token, credentials.access_token_secret)
        self._retry_delays = retry_delays
        self._sleep = sleep
        self._clock = clock
        self.requests_made = 0

    def _call(self, action: str, request: Callable[[], T], *, create: bool = False) -> T:
        import requests
        import tweepy

        failures = waits = 0
        while True:
            self.requests_made += 1
            try:
                return request()
            except tweepy.HTTPException as exc:
                response = exc.response
                error = map_http_error(response.status_code, problem_of(response),
                                       response.headers, action, self._clock(),
                                       self._traps() if response.status_code == 401 else ())
                if isinstance(error, RateLimited) and error.reset_at is not None and waits < 3:
                    wait = error.reset_at - self._clock() + 1
                    if wait <= MAX_RATE_LIMIT_WAIT:
                        waits += 1
                        self._sleep(max(0.0, wait))
                        continue
                if response.status_code >= 500 and create:
                    raise UnknownOutcome(f"{error.message}; the post may or may not exist") \
                        from None
                if response.status_code < 500 or failures >= len(self._retry_delays):
                    raise error from None
            except (requests.ConnectionError, requests.Timeout) as exc:
                why = "connection refused" if _refused(exc) else type(exc).__name__
                if create:
                    raise UnknownOutcome(f"the connection to {self._base} failed while "
                                         f"{action} ({why}); the post may or may not "
                                         "exist") from None
                if why == "connection refused" and is_loopback_url(self._base):
                    # Nothing listens on this machine: no retry seconds later will change
                    # that (most often the emulator is not running).
                    raise TemporaryError(
                        f"cannot reach X at {self._base} while {action}: connection "
                        "refused, nothing is listening there; start the emulator "
                        "(agent-diary emulator) or fix AGENT_DIARY_X_API_URL / x.api_url, "
                        "then rerun") from None
                if failures >= len(self._retry_delays):
                    raise TemporaryError(f"cannot reach X at {self._base} while {action} "
                                         f"({why}); check the network and rerun") from None
            self._sleep(self._retry_delays[failures])
            failures += 1

    def _traps(self) -> tuple[str, ...]:
        from .x_traps import credential_traps

        return tuple(credential_traps(self._credentials))

    def me(self) -> Account:
        data = self._call("reading the account (GET /2/users/me)",
                          lambda: self._client.get_me(user_auth=True))["data"]
        return Account(id=str(data["id"]), username=str(data.get("username", "")))

    def create_post(self, text: str, reply_to: str | None = None,
                    media_ids: list[str] | None = None) -> str:
        response = self._call(
            "creating a post (POST /2/tweets)",
            lambda: self._client.create_tweet(text=text, in_reply_to_tweet_id=reply_to,
                                              media_ids=media_ids or None, user_auth=True),
            create=True)
        return str(response["data"]["id"])

    def recent_posts(self, user_id: str, *, since_id: str | None = None,
                     start_time: str | None = None, pages: int = 3) -> list[TimelinePost]:
        """The account's own recent posts, replies included (thread posts are replies)."""
        posts: list[TimelinePost] = []
        token: str | None = None
        for _ in range(pages):
            params: dict[str, Any] = {"max_results": 100, "tweet_fields": TIMELINE_FIELDS,
                                      "user_auth": True}
            if since_id:
                params["since_id"] = since_id
            elif start_time:
                params["start_time"] = start_time
            if token:
                params["pagination_token"] = token
            body = self._call("reading the account's recent posts (GET /2/users/:id/tweets)",
                              lambda params=params: self._client.get_users_tweets(user_id,
                                                                                  **params))
            for item in body.get("data") or []:
                replied = [r.get("id") for r in item.get("referenced_tweets") or []
                           if r.get("type") == "replied_to"]
                posts.append(TimelinePost(str(item["id"]), item.get("text", ""),
                                          item.get("created_at"),
                                          str(replied[0]) if replied else None,
                                          _expanded_urls(item)))
            token = (body.get("meta") or {}).get("next_token")
            if not token:
                break
        return posts

    def _api(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """A signed v2 request outside tweepy, failing with tweepy's exceptions so that
        `_call` maps and retries it like every other request."""
        import tweepy

        response = self._client.session.request(method, self._base + path, auth=self._auth,
                                                **kwargs)
        if response.status_code >= 500:
            raise tweepy.TwitterServerError(response)
        if response.status_code == 429:
            raise tweepy.TooManyRequests(response)
        if response.status_code >= 400:
            raise tweepy.HTTPException(response)
        return response.json() if response.content else {}

    def upload(self, data: bytes, file: MediaFile) -> tuple[str, float]:
        """Upload media: (media id, seconds it stays usable). Still images in one request;
        GIFs through the chunked flow, waiting while X processes them."""
        if not file.chunked:
            body = self._call("uploading an image (POST /2/media/upload)", lambda: self._api(
                "POST", "/2/media/upload", files={"media": ("media", data, file.mime)},
                data={"media_category": file.category}))["data"]
            return str(body["id"]), float(body.get("expires_after_secs", 86400))
        action = "uploading a GIF (POST /2/media/upload/…)"
        body = self._call(action, lambda: self._api(
            "POST", "/2/media/upload/initialize",
            json={"media_type": file.mime, "total_bytes": len(data),
                  "media_category": file.category}))["data"]
        media_id = str(body["id"])
        for index, start in enumerate(range(0, len(data), UPLOAD_CHUNK)):
            chunk = data[start:start + UPLOAD_CHUNK]
            self._call(action, lambda chunk=chunk, index=index: self._api(
                "POST", f"/2/media/upload/{media_id}/append",
                files={"media": ("chunk", chunk, "application/octet-stream")},
                data={"segment_index": str(index)}))
        body = self._call(action, lambda: self._api(
            "POST", f"/2/media/upload/{media_id}/finalize"))["data"]
        lifetime = float(body.get("expires_after_secs", 86400))
        info = body.get("processing_info")
        waited = 0.0
        while isinstance(info, dict) and info.get("state") in ("pending", "in_progress"):
            delay = _check_after(info)
            waited += max(delay, MIN_PROCESSING_CHECK)
            if waited > MAX_PROCESSING_WAIT:
                progress = info.get("progress_percent")
                raise TemporaryError(
                    "X is still processing the GIF"
                    f"{f' ({progress}% done)' if progress is not None else ''}, longer than "
                    f"the {MAX_PROCESSING_WAIT:.0f} s agent-diary waits for it; rerun later")
            self._sleep(delay)
            info = self._call(action, lambda: self._api(
                "GET", "/2/media/upload", params={"command": "STATUS", "media_id": media_id}))[
                "data"].get("processing_info")
        if isinstance(info, dict) and info.get("state") != "succeeded":
            error = info.get("error")
            reason = (error.get("message") if isinstance(error, dict) else None) or \
                info.get("state")
            raise InputError(f"X could not process the GIF ({reason}); check the file")
        return media_id, lifetime

    def set_alt_text(self, media_id: str, text: str) -> None:
        self._call("setting alt text (POST /2/media/metadata)", lambda: self._api(
            "POST", "/2/media/metadata",
            json={"id": media_id, "metadata": {"alt_text": {"text": text}}}))

    def delete_post(self, post_id: str) -> None:
        self._call("deleting a post (DELETE /2/tweets/:id)",
                   lambda: self._client.delete_tweet(post_id, user_auth=True))
