"""A local X-API-compatible HTTP server: for tests, `--sandbox`, and anyone without an
X account. It verifies OAuth 1.0a signatures, answers like X (see state.py),
can inject faults, and shows what was posted as a timeline page at `/`.

Control endpoints (no auth, loopback only): `GET /_emulator/state`, `POST
/_emulator/faults` (a Fault as JSON, or a list), `DELETE /_emulator/faults`,
`GET /_emulator/pin?oauth_token=…` (the PIN a person would read off the authorize page).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import email.parser
import email.policy
import hashlib
import hmac
import html
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from ..errors import InputError
from ..text.twittertext import url_spans
from ..wording import plural
from .faults import Fault, take_fault
from .state import Account, ApiError, World

_CLOCK_SKEW = 300  # seconds of timestamp difference X tolerates in OAuth 1.0a


class _Handler(BaseHTTPRequestHandler):
    server_version = "agent-diary-emulator/1"
    world: World  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read stderr
        pass

    def date_time_string(self, timestamp: float | None = None) -> str:
        if timestamp is None and self.world.date_header is not None:
            return self.world.date_header
        return super().date_time_string(time.time() + self.world.clock_offset
                                        if timestamp is None else timestamp)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # --- plumbing ----------------------------------------------------------------------

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None,
              content_type: str | None = None) -> None:
        if isinstance(body, dict | list):
            payload, kind = json.dumps(body).encode(), "application/json; charset=utf-8"
        else:
            payload, kind = str(body or "").encode(), "text/html; charset=utf-8"
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type or kind)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client is gone (killed in a crash test): nothing to answer

    def _drop(self) -> None:
        """Close the connection without answering: the client cannot know the outcome."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _verify_oauth(self, method: str, path: str, query: str, body: bytes) -> dict[str, str]:
        """The request's verified OAuth parameters, or ApiError 401 like X's."""
        from oauthlib.oauth1.rfc5849 import signature, utils

        header = self.headers.get("Authorization", "")
        unauthorized = ApiError(401, {"title": "Unauthorized", "type": "about:blank",
                                      "status": 401, "detail": "Unauthorized"})
        if not header.startswith("OAuth "):
            raise unauthorized
        params = {k: utils.unescape(v) for k, v in utils.parse_authorization_header(header)}
        account = self.world.account
        token = params.get("oauth_token", "")
        if params.get("oauth_consumer_key") != account.consumer_key:
            raise unauthorized
        server_now = time.time() + self.world.clock_offset
        if abs(server_now - int(params.get("oauth_timestamp", "0") or 0)) > _CLOCK_SKEW:
            raise ApiError(401, {"errors": [{"code": 135, "message": "Timestamp out of bounds."}]})
        with self.world.lock:
            token_secret = self.world.tokens.get(token) or \
                self.world.request_tokens.get(token, {}).get("secret")
            nonce = f"{token}:{params.get('oauth_nonce')}"
            replayed = nonce in self.world.seen_nonces
            self.world.seen_nonces.add(nonce)
        if path.startswith("/oauth/request_token"):
            token_secret = ""
        if token_secret is None or replayed:
            raise unauthorized
        form = body.decode() if "x-www-form-urlencoded" in \
            (self.headers.get("Content-Type") or "") else None
        collected = signature.collect_parameters(uri_query=query, body=form,
                                                 headers={"Authorization": header})
        base = signature.signature_base_string(
            method, signature.base_string_uri(f"http://{self.headers['Host']}{path}"),
            signature.normalize_parameters(collected))
        key = f"{utils.escape(account.consumer_secret)}&{utils.escape(token_secret)}"
        expected = base64.b64encode(
            hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()).decode()
        if not hmac.compare_digest(expected, params.get("oauth_signature", "")):
            raise unauthorized
        return params

    def _handle(self, method: str) -> None:
        try:
            self._handle_request(method)
        except Exception as exc:  # an emulator bug must not look like a dropped connection
            self._send(500, {"title": "Emulator Error", "detail": repr(exc)})

    def _handle_request(self, method: str) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, parts.query
        if path.startswith("/_emulator/"):
            self._control(method, path, dict(parse_qsl(query)))
            return
        if method == "GET" and path in ("/", "/timeline"):
            self._send(200, timeline_page(self.world))
            return
        body = self._body()
        self.world.count(f"{method} {path}")
        fault = take_fault(self.world, method, path)
        if fault and fault.delay:
            time.sleep(fault.delay)
        canned = fault.response(time.time()) if fault else None
        if canned:
            self._send(*canned)
            return
        try:
            status, answer, headers = self._route(method, path, query, body)
        except ApiError as exc:
            self._send(exc.status, exc.body, exc.headers)
            return
        if fault and fault.after == "drop":
            self._drop()
            return
        if fault and fault.after == "hold":
            time.sleep(fault.hold)
        form = isinstance(answer, str) and path.startswith("/oauth/")
        self._send(status, answer, headers,
                   "application/x-www-form-urlencoded" if form else None)

    def _route(self, method: str, path: str, query: str,
               body: bytes) -> tuple[int, Any, dict[str, str]]:
        world, now = self.world, time.time()
        if path == "/oauth/authorize" and method == "GET":
            token = dict(parse_qsl(query)).get("oauth_token", "")
            pin = world.request_tokens.get(token, {}).get("pin")
            page = f"<p>PIN: <code>{pin}</code></p>" if pin else "<p>Unknown request token</p>"
            return 200, f"<html><body><h1>Authorize app</h1>{page}</body></html>", {}
        oauth = self._verify_oauth(method, path, query, body)
        if path == "/oauth/request_token" and method == "POST":
            return 200, urlencode(world.request_token()), {}
        if path == "/oauth/access_token" and method == "POST":
            verifier = oauth.get("oauth_verifier") or \
                dict(parse_qsl(body.decode() or query)).get("oauth_verifier", "")
            return 200, urlencode(world.access_token(oauth.get("oauth_token", ""), verifier)), {}
        if path == "/2/users/me" and method == "GET":
            account = world.account
            return 200, {"data": {"id": account.id, "name": account.name,
                                  "username": account.username}}, {}
        segments = path.strip("/").split("/")
        if path == "/2/tweets" and method == "POST":
            return 201, world.create_post(json.loads(body or b"{}"), now), {}
        if segments[:2] == ["2", "tweets"] and len(segments) == 3:
            if method == "DELETE":
                return 200, world.delete_post(segments[2]), {}
            post = next((p for p in world.snapshot()["posts"]
                         if p["id"] == segments[2] and not p.get("deleted")), None)
            if post is None:
                raise ApiError(404, {"title": "Not Found Error", "type": "about:blank",
                                     "detail": f"Could not find tweet with id: [{segments[2]}]."})
            fields = set(dict(parse_qsl(query)).get("tweet.fields", "").split(","))
            return 200, {"data": world.public(post, fields)}, {}
        if segments[:2] == ["2", "users"] and len(segments) == 4 and segments[3] == "tweets":
            return 200, world.timeline(segments[2], dict(parse_qsl(query))), {}
        if path == "/2/media/upload" and method == "POST":
            return 200, world.add_media(self._multipart(body)["media"], now), {}
        if path == "/2/media/upload" and method == "GET":
            return 200, world.upload_status(dict(parse_qsl(query)).get("media_id", "")), {}
        if path == "/2/media/upload/initialize" and method == "POST":
            return 200, world.initialize_upload(json.loads(body or b"{}")), {}
        if segments[:3] == ["2", "media", "upload"] and len(segments) == 5 and method == "POST":
            if segments[4] == "append":
                parts = self._multipart(body)
                index = int(parts.get("segment_index", b"0") or 0)
                return 200, world.append_upload(segments[3], index, parts["media"]), {}
            if segments[4] == "finalize":
                return 200, world.finalize_upload(segments[3], now), {}
        if path == "/2/media/metadata" and method == "POST":
            data = json.loads(body or b"{}")
            alt = ((data.get("metadata") or {}).get("alt_text") or {}).get("text", "")
            return 200, world.set_alt(str(data.get("id")), alt), {}
        raise ApiError(404, {"title": "Not Found", "detail": f"no route {method} {path}"})

    def _multipart(self, body: bytes) -> dict[str, bytes]:
        """The parts of a multipart/form-data body by name; 'media' must be there."""
        head = f"Content-Type: {self.headers.get('Content-Type', '')}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.default).parsebytes(head + body)
        parts = {str(part.get_param("name", header="content-disposition")):
                 part.get_payload(decode=True) or b"" for part in message.iter_parts()}
        if "media" not in parts:
            raise ApiError(400, {"title": "Invalid Request",
                                 "detail": "multipart 'media' missing"})
        return parts

    def _control(self, method: str, path: str, query: dict[str, str]) -> None:
        world = self.world
        if path == "/_emulator/state" and method == "GET":
            self._send(200, world.snapshot())
        elif path == "/_emulator/faults" and method == "POST":
            data = json.loads(self._body() or b"[]")
            with world.lock:
                world.faults.extend(Fault(**item) for item in
                                    (data if isinstance(data, list) else [data]))
            self._send(200, {"faults": len(world.faults)})
        elif path == "/_emulator/faults" and method == "DELETE":
            with world.lock:
                world.faults.clear()
            self._send(200, {"faults": 0})
        elif path == "/_emulator/expire_media" and method == "POST":
            world.expire_media()
            self._send(200, {"expired": True})
        elif path == "/_emulator/pin" and method == "GET":
            pin = world.request_tokens.get(query.get("oauth_token", ""), {}).get("pin")
            self._send(200 if pin else 404, {"pin": pin})
        else:
            self._send(404, {"detail": "unknown control endpoint"})


# The timeline page: a thread as people know it from X, in one file with no outside
# assets (it is opened from disk after `publish --sandbox`). Post text is untrusted:
# everything but the links twitter-text finds is escaped.
_PAGE_CSS = """
body{margin:0;background:#f7f9f9;color:#0f1419;font:15px/1.4 system-ui,-apple-system,
 "Segoe UI",Roboto,Helvetica,Arial,sans-serif}
main{max-width:600px;margin:0 auto;min-height:100vh;background:#fff;
 border:solid #eff3f4;border-width:0 1px}
a{color:#1d9bf0;text-decoration:none}a:hover{text-decoration:underline}
.profile{display:flex;gap:12px;align-items:center;padding:16px;border-bottom:1px solid #eff3f4}
.profile h1{margin:0;font-size:20px}.note{margin:0;padding:12px 16px;color:#536471;
 border-bottom:1px solid #eff3f4}
.thread{padding:12px 16px 0;border-bottom:1px solid #eff3f4}
.post{display:grid;grid-template-columns:40px minmax(0,1fr);column-gap:12px}
.gutter{display:flex;flex-direction:column;align-items:center}
.avatar{display:grid;place-items:center;flex:none;width:40px;height:40px;border-radius:50%;
 background:#1d9bf0;color:#fff;font-weight:700;font-size:18px}
.profile .avatar{width:56px;height:56px;font-size:26px}
.reply-line{flex:1;width:2px;margin-top:4px;background:#cfd9de}
.content{padding-bottom:12px}.meta{display:flex;gap:4px;color:#536471;white-space:nowrap}
.who{overflow:hidden;text-overflow:ellipsis}.meta time{flex:none}
.name{color:#0f1419;font-weight:700}
.text{margin:2px 0 0;white-space:pre-wrap;overflow-wrap:anywhere}
.media{display:grid;gap:2px;margin-top:12px;border:1px solid #cfd9de;border-radius:16px;
 overflow:hidden}.media.many{grid-template-columns:1fr 1fr}
figure{margin:0}img{display:block;width:100%;max-height:510px;object-fit:cover;background:#f7f9f9}
figcaption{padding:6px 10px;color:#536471;font-size:13px}
.alt{margin-right:4px;padding:0 4px;border-radius:4px;background:#0f1419;color:#fff;
 font-size:11px;font-weight:700}
"""


def _linked(text: str) -> str:
    """The text escaped, with the URLs twitter-text finds as links (http(s) only)."""
    parts, last = [], 0
    for start, end in url_spans(text):
        written = text[start:end]
        href = written if "://" in written else f"http://{written}"
        if not href.lower().startswith(("http://", "https://")):
            continue
        parts.append(html.escape(text[last:start]))
        shown = written.split("://", 1)[-1]
        shown = shown if len(shown) <= 32 else shown[:31] + "…"
        parts.append(f'<a href="{html.escape(href)}" rel="noopener noreferrer nofollow">'
                     f"{html.escape(shown)}</a>")
        last = end
    return "".join(parts) + html.escape(text[last:])


def _when(created_at: str) -> str:
    """`2026-11-28T20:05:00.000Z` as `28 Nov 2026, 20:05 UTC`, in a <time>."""
    try:
        moment = dt.datetime.fromisoformat(created_at.replace("Z", "+00:00"))
        shown = f"{moment.day} {moment:%b %Y, %H:%M} UTC"
    except ValueError:
        shown = created_at
    return f'<time datetime="{html.escape(created_at)}">{html.escape(shown)}</time>'


def _figure(item: dict[str, Any]) -> str:
    alt = item.get("alt") or ""
    caption = f'<figcaption><b class="alt">ALT</b>{html.escape(alt)}</figcaption>' if alt else ""
    source = f"data:image/{item.get('kind')};base64,{item.get('data')}"
    return f'<figure><img src="{html.escape(source)}" alt="{html.escape(alt)}">{caption}</figure>'


def _avatar(account: Account) -> str:
    """X shows a picture; here a round badge with the name's initial."""
    initial = (account.name or account.username)[:1].upper()
    return f'<div class="avatar" aria-hidden="true">{html.escape(initial)}</div>'


def _post(post: dict[str, Any], account: Account, media: dict[str, dict[str, Any]],
          more: bool) -> str:
    """One post as an <article>; `more`: the thread goes on, so draw the reply line."""
    items = [media[m] for m in post["media_ids"] if (media.get(m) or {}).get("data")]
    gallery = (f'<div class="media{" many" if len(items) > 1 else ""}">'
               + "".join(map(_figure, items)) + "</div>") if items else ""
    name = account.name or account.username
    return (f'<article class="post" id="post-{html.escape(post["id"])}"><div class="gutter">'
            f"{_avatar(account)}"
            + ('<div class="reply-line"></div>' if more else "") + '</div><div class="content">'
            f'<div class="meta"><span class="who"><span class="name">{html.escape(name)}</span> '
            f'<span class="handle">@{html.escape(account.username)}</span></span>·'
            f'{_when(post["created_at"])}</div>'
            f'<p class="text">{_linked(post["text"])}</p>{gallery}</div></article>')


def timeline_page(world: World) -> str:
    """Every thread the account posted, newest first, as X would show them."""
    posts = [p for p in world.snapshot()["posts"] if not p.get("deleted")]
    with world.lock:
        media = {k: dict(v) for k, v in world.media.items()}
    threads: dict[str, list[dict[str, Any]]] = {}
    for post in sorted(posts, key=lambda p: int(p["id"])):
        threads.setdefault(post["conversation_id"], []).append(post)
    account = world.account
    blocks = "".join(
        '<section class="thread">' + "".join(
            _post(p, account, media, i < len(thread) - 1) for i, p in enumerate(thread))
        + "</section>"
        for thread in (threads[c] for c in sorted(threads, key=int, reverse=True)))
    name, handle = html.escape(account.name or account.username), html.escape(account.username)
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width,initial-scale=1"><title>@{handle} · agent-diary '
            f"emulator</title><style>{_PAGE_CSS}</style></head><body><main>"
            f'<header class="profile">{_avatar(account)}<div><h1>{name}</h1><div>@{handle}'
            "</div></div></header>"
            f'<p class="note">{plural(len(posts), "post")} in {plural(len(threads), "thread")}'
            " — not real: posted to the agent-diary emulator.</p>"
            + (blocks or '<p class="note">Nothing posted yet.</p>') + "</main></body></html>")


class Emulator:
    """The server in a background thread: `with Emulator() as emu: emu.url`."""

    def __init__(self, account: Account | None = None, state_path: Path | None = None) -> None:
        self.world = World(account, state_path)
        self._server: ThreadingHTTPServer | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        handler = type("Handler", (_Handler,), {"world": self.world})
        try:
            self._server = ThreadingHTTPServer((host, port), handler)
        except OSError as exc:  # taken (often: another emulator), or a privileged port
            raise InputError(f"the emulator cannot listen on {host}:{port}: "
                             f"{exc.strerror or exc}; choose another port with --port, or "
                             "--port 0 for any free one") from None
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.url

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
