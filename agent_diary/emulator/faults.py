"""Fault injection, apart from how the emulated X behaves (state.py): what to do to
matching requests (`Fault`), X's realistic error bodies to answer with (`PRESETS`, which
the world also uses for its own refusals), and picking the fault a request meets.

The HTTP layer (server.py) applies the one it gets: a delay, a canned answer, or the
request performed and then the connection dropped or the answer held.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .state import World

PROBLEM = "https://api.x.com/2/problems/"
# Realistic bodies for injected faults (X-API-NOTES.md): name -> (status, body).
PRESETS: dict[str, tuple[int, Any]] = {
    "credits": (402, {"title": "CreditsDepleted", "type": PROBLEM + "credits",
                      "detail": "Your enrolled account [1] does not have any credits to "
                                "fulfill this request."}),
    "unauthorized": (401, {"title": "Unauthorized", "type": "about:blank", "status": 401,
                           "detail": "Unauthorized"}),
    "clock": (401, {"errors": [{"code": 135, "message": "Timestamp out of bounds."}]}),
    "read_only": (403, {"title": "Forbidden", "type": PROBLEM + "oauth1-permissions",
                        "detail": "Your client app is not configured with the appropriate "
                                  "oauth1 app permissions for this endpoint."}),
    "not_enrolled": (403, {"title": "Client Forbidden", "reason": "client-not-enrolled",
                           "type": PROBLEM + "client-forbidden",
                           "detail": "When authenticating requests to the X API v2 endpoints, "
                                     "you must use keys and tokens from an App attached to a "
                                     "Project."}),
    "duplicate": (403, {"detail": "You are not allowed to create a Tweet with duplicate "
                                  "content.", "type": "about:blank", "title": "Forbidden",
                        "status": 403}),
    "reply_not_allowed": (403, {"title": "Forbidden", "status": 403, "type": "about:blank",
                                "detail": "Reply to this conversation is not allowed because "
                                          "you have not been mentioned or otherwise engaged "
                                          "by the author of the post you are replying to."}),
    "rate_limit": (429, {"title": "Too Many Requests", "detail": "Too Many Requests",
                         "type": "about:blank", "status": 429}),
    "usage_cap": (429, {"title": "UsageCapExceeded", "type": PROBLEM + "usage-capped",
                        "detail": "Usage cap exceeded: Monthly product cap",
                        "period": "Monthly", "scope": "Product"}),
    "unavailable": (503, "<html><body><h1>503 Service Temporarily Unavailable</h1>"
                         "</body></html>"),
    "too_long": (400, {"title": "Invalid Request", "type": PROBLEM + "invalid-request",
                       "detail": "One or more parameters to your request was invalid.",
                       "errors": [{"message": "Your Tweet text is too long."}]}),
}


@dataclass
class Fault:
    """What to do to matching requests. `skip` lets that many pass first; `times` is how
    many it then affects (0: all). Either answer with `preset`/`status`+`body` (the request
    has no effect), or perform it and then `after`: "drop" (close without answering) or
    "hold" (wait `hold` seconds before answering). `delay` waits before anything."""

    method: str = "POST"
    path: str = "/2/tweets"
    skip: int = 0
    times: int = 1
    preset: str | None = None
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    after: str | None = None
    hold: float = 0.0
    reset_in: int = 900

    def matches(self, method: str, path: str) -> bool:
        return self.method.upper() == method and re.fullmatch(self.path, path) is not None

    def response(self, now: float) -> tuple[int, Any, dict[str, str]] | None:
        if self.preset is None and self.status is None:
            return None
        status, body = PRESETS[self.preset] if self.preset else (self.status, self.body)
        headers = dict(self.headers)
        if status == 429:
            headers.setdefault("x-rate-limit-limit", "100")
            headers.setdefault("x-rate-limit-remaining", "0")
            headers.setdefault("x-rate-limit-reset", str(int(now) + self.reset_in))
        return int(status), body, headers


def take_fault(world: World, method: str, path: str) -> Fault | None:
    """The fault this request meets, counted off (`skip`, `times`), or None."""
    with world.lock:
        for fault in world.faults:
            if not fault.matches(method, path):
                continue
            if fault.skip > 0:
                fault.skip -= 1
                continue
            if fault.times == 1:
                world.faults.remove(fault)
            elif fault.times > 1:
                fault.times -= 1
            return fault
    return None
