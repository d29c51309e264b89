"""Load and validate `config.yaml` and the environment into typed settings, once.

Every key is declared in `SCHEMA` with its default and a validator; an unknown key, a
wrong type or a bad value is an `InputError` that names the key and shows a valid value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from .errors import InputError
from .text.safeyaml import as_written

DEFAULT_API_URL = "https://api.x.com"
API_URL_ENV = "AGENT_DIARY_X_API_URL"


class Schedule(NamedTuple):
    time: str
    poll_seconds: int
    catch_up_days: int
    max_posts_per_day: int


class ThreadSettings(NamedTuple):
    template: str
    numbering: bool
    max_posts: int
    repo_url: str | None


class XSettings(NamedTuple):
    api_url: str
    profile: str


class GitSettings(NamedTuple):
    commit: bool
    push: bool
    pull: bool
    author: str | None


class Pricing(NamedTuple):
    post: float
    post_with_url: float
    media_metadata: float
    delete: float
    read: float


class Budget(NamedTuple):
    monthly_usd: float | None
    max_posts_per_thread: int | None


class Config(NamedTuple):
    timezone: str
    schedule: Schedule
    thread: ThreadSettings
    x: XSettings
    git: GitSettings
    pricing: Pricing
    budget: Budget
    source: str  # where the settings came from, for messages

    def as_template_context(self) -> dict[str, Any]:
        """The config as plain data for templates (no secrets live here)."""
        return {name: value._asdict() if hasattr(value, "_asdict") else value
                for name, value in self._asdict().items() if name != "source"}


Validator = Callable[[str, Any], Any]


def _check(ok: bool, key: str, value: Any, valid: str) -> None:
    if not ok:
        raise InputError(f"config key '{key}': {as_written(value)} is not valid; expected "
                         f"{valid}")


def _bool(key: str, value: Any) -> bool:
    _check(isinstance(value, bool), key, value, "true or false")
    return value


def _int_range(low: int, high: int) -> Validator:
    def check(key: str, value: Any) -> int:
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        _check(ok, key, value, f"a whole number from {low} to {high}")
        return value

    return check


def _price(key: str, value: Any) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
    _check(ok, key, value, "a price in US dollars, e.g. 0.015")
    return float(value)


def _text(pattern: str, example: str) -> Validator:
    def check(key: str, value: Any) -> str:
        _check(isinstance(value, str) and re.fullmatch(pattern, value) is not None,
               key, value, example)
        return value

    return check


def _optional(inner: Validator) -> Validator:
    def check(key: str, value: Any) -> Any:
        return None if value is None else inner(key, value)

    return check


def _base_60(number: int) -> tuple[str, str] | None:
    """(as written, as it should be quoted) of a time YAML 1.1 read as a base-60 number
    (unquoted 18:00 is 18 * 60 + 0 = 1080), or None if no time reads as `number`."""
    if 60 <= number < 24 * 60:  # H:MM (YAML's base 60 needs a first digit 1-9)
        hours, minutes = divmod(number, 60)
        return f"{hours}:{minutes:02d}", f"{hours:02d}:{minutes:02d}"
    if 3600 <= number < 24 * 3600:  # H:MM:SS
        hours, rest = divmod(number, 3600)
        clock = f"{rest // 60:02d}:{rest % 60:02d}"
        return f"{hours}:{clock}", f"{hours:02d}:{clock}"
    return None


def parse_hhmm(key: str, value: Any) -> str:
    """`HH:MM` (or `HH:MM:SS`), 24-hour. YAML 1.1 reads an unquoted 18:30 as 1110."""
    name = key.rsplit(".", 1)[-1]
    read = _base_60(value) if isinstance(value, int) and not isinstance(value, bool) else None
    if read is not None:
        raise InputError(
            f"key '{key}': unquoted, {read[0]} is read by YAML as the number {value} (base "
            f'60); quote it: {name}: "{read[1]}"')
    match = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)(:[0-5]\d)?", value) \
        if isinstance(value, str) else None
    if match is None:
        raise InputError(f"key '{key}': {as_written(value)} is not valid; expected a time "
                         f'"HH:MM" (24-hour) in quotes, e.g. {name}: "18:30"')
    return value


def _timezone(key: str, value: Any) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    _check(isinstance(value, str) and value != "", key, value, 'an IANA zone, e.g. "Europe/Berlin"')
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            f"config key '{key}': {as_written(value)} is not a known time zone; "
            'expected an IANA zone name, e.g. "Europe/Berlin" or "UTC"'
        ) from None
    return value


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600}


def _duration(key: str, value: Any) -> int:
    """Seconds from `300`, `"30s"`, `"5m"` or `"1h"`; at least 10 seconds."""
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    else:
        match = re.fullmatch(r"(\d+)\s*([smh])", value) if isinstance(value, str) else None
        _check(match is not None, key, value, 'a duration such as "30s", "5m" or "1h"')
        assert match is not None
        seconds = int(match[1]) * _DURATION_UNITS[match[2]]
    _check(1 <= seconds <= 86400, key, value, 'a duration from "1s" to "24h"')
    return seconds


def _url(key: str, value: Any) -> str:
    _check(isinstance(value, str) and re.match(r"https?://[^\s/]+", value) is not None,
           key, value, 'an http(s) URL, e.g. "https://api.x.com"')
    return value.rstrip("/")


def _url_problem(value: str) -> str | None:
    """Why `value` is not a usable http(s) base URL (None: it is)."""
    from urllib.parse import urlsplit

    if not re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", value):
        return (f"it has no scheme; write it in full, e.g. \"http://{value}\" for a local "
                f"emulator or \"https://{value}\"")
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https"):
        return 'expected an http(s) URL, e.g. "https://api.x.com"'
    if re.search(r"\s", value):
        return "it contains white space"
    if "@" in parts.netloc:
        return ("it holds a user name or password (user:password@host); credentials never "
                "go in the URL (the OAuth 1.0a keys are sent as headers): remove them")
    if not parts.hostname:
        return 'it has no host, e.g. "https://api.x.com"'
    try:
        parts.port  # noqa: B018 - the property raises on a bad port
    except ValueError:
        return "its port is not a number from 0 to 65535"
    return None


def _shown(value: str) -> str:
    """The URL for a message, with any user name or password left out."""
    return re.sub(r"(://)[^/@]*@", r"\1…@", value)


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    """Whether `url` points at this machine (a local emulator)."""
    from urllib.parse import urlsplit

    return _is_loopback(urlsplit(url).hostname or "")


def _credentials_url(key: str, value: Any) -> str:
    """A committed URL that receives the credentials: https, or http to this machine only,
    so a commit cannot send the keys in clear text to any host it names."""
    from urllib.parse import urlsplit

    _check(isinstance(value, str), key, value, 'an https URL, e.g. "https://api.x.com"')
    problem = _url_problem(value)
    if problem is None and urlsplit(value).scheme.lower() == "http" \
            and not _is_loopback(urlsplit(value).hostname or ""):
        problem = ("plain http would send the credentials unencrypted; use https://, or "
                   "http:// only to a loopback address (127.0.0.1, ::1, localhost). To "
                   f"point this machine elsewhere, set {API_URL_ENV} instead")
    if problem is not None:
        raise InputError(f"config key '{key}': {_shown(value)!r} is not valid: {problem}")
    return value.rstrip("/")


def environment_api_url(environ: Mapping[str, str]) -> str:
    """The base URL as the config would have it without a config: the environment's
    (checked like any), else the default."""
    value = environ.get(API_URL_ENV)
    return _operator_url(f"{API_URL_ENV} (x.api_url)", value) if value else DEFAULT_API_URL


def _operator_url(key: str, value: Any) -> str:
    """The operator's own choice (the environment): any http(s) URL, still well formed."""
    if not isinstance(value, str):
        raise InputError(f"{key}: {as_written(value)} is not valid: expected an http(s) URL")
    problem = _url_problem(value)
    if problem is not None:
        raise InputError(f"{key}: {_shown(value)!r} is not valid: {problem}")
    return value.rstrip("/")


# key -> (default, validator). The order is the order `init` writes them in.
SCHEMA: dict[str, tuple[Any, Validator]] = {
    "timezone": ("UTC", _timezone),
    "schedule.time": ("18:00", parse_hhmm),
    "schedule.poll": ("5m", _duration),
    "schedule.catch_up_days": (0, _int_range(0, 365)),
    "schedule.max_posts_per_day": (1, _int_range(1, 100)),
    "thread.template": ("thread", _text(r"[A-Za-z0-9_-]+", 'a template name, e.g. "thread"')),
    "thread.numbering": (False, _bool),
    "thread.max_posts": (25, _int_range(1, 100)),
    "thread.repo_url": (None, _optional(_url)),
    "x.api_url": (DEFAULT_API_URL, _credentials_url),
    "x.profile": ("default", _text(r"[A-Za-z0-9_.-]+", 'a profile name, e.g. "default"')),
    "git.commit": (True, _bool),
    "git.push": (False, _bool),
    "git.pull": (False, _bool),
    "git.author": (None, _optional(_text(r"[^<>\n]+ <[^<>\s]+>", '"Name <email@example.com>"'))),
    "pricing.post": (0.015, _price),
    "pricing.post_with_url": (0.20, _price),
    "pricing.media_metadata": (0.005, _price),
    "pricing.delete": (0.01, _price),
    "pricing.read": (0.001, _price),
    "budget.monthly_usd": (None, _optional(_price)),
    "budget.max_posts_per_thread": (None, _optional(_int_range(1, 100))),
}
_SECTIONS = {key.split(".")[0] for key in SCHEMA if "." in key}
_TOP_LEVEL = list(dict.fromkeys(key.split(".")[0] for key in SCHEMA))
# Key names no setting has but credentials do, at any depth: x.consumer_key,
# bluesky.app_password, github_token, openai_api_key…
_SECRET_NAME = re.compile(r"secret|token|passw|api_?key|consumer_key|private_key",
                          re.IGNORECASE)


def _secret_keys(value: Any, prefix: str = "") -> list[str]:
    """Dotted names of the keys that look like credentials, anywhere in `value`."""
    if isinstance(value, list):
        return [key for item in value for key in _secret_keys(item, prefix)]
    if not isinstance(value, Mapping):
        return []
    found: list[str] = []
    for name, sub in value.items():
        key = f"{prefix}{name}"
        if isinstance(name, str) and _SECRET_NAME.search(name):
            found.append(key)
        else:
            found.extend(_secret_keys(sub, f"{key}."))
    return found


def _refuse_secrets(raw: Mapping[str, Any], source: str) -> None:
    """A credential in config.yaml is refused before anything can echo its value."""
    found = _secret_keys(raw)
    if found:
        from .auth import ENV_KEYS

        raise InputError(
            f"{source}: config key '{found[0]}' looks like a credential, and secrets never "
            "go in config.yaml: it is committed, so anyone with the repository can read "
            "it. Remove it (if it was ever committed or pushed, revoke it and make a new "
            "one). Credentials go in the environment "
            f"({', '.join(ENV_KEYS.values())}) or in the file 'agent-diary auth' writes, "
            "~/.config/agent-diary/credentials.yaml, outside the repository")


def _unknown_key(key: str) -> str:
    """Why `key` is not a setting: the closest one, and the keys of its section."""
    import difflib

    close = difflib.get_close_matches(key, [*SCHEMA, *_SECTIONS], n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    section = (close[0] if close else key).split(".")[0]
    if section in _SECTIONS:
        names = [k.split(".", 1)[1] for k in SCHEMA if k.startswith(f"{section}.")]
        where = f"{section} keys: {', '.join(names)}"
    else:
        where = f"top-level keys: {', '.join(_TOP_LEVEL)}"
    return f"'{key}'{hint} ({where})"


def _flatten(raw: Mapping[str, Any], source: str) -> dict[str, Any]:
    _refuse_secrets(raw, source)
    flat: dict[str, Any] = {}
    for name, value in raw.items():
        if not isinstance(name, str):
            raise InputError(f"{source}: key {as_written(name)} is not a name")
        if name in _SECTIONS:
            if value is None:
                continue
            if not isinstance(value, Mapping):
                raise InputError(f"config key '{name}' in {source}: expected a mapping of "
                                 f"{', '.join(k for k in SCHEMA if k.startswith(name + '.'))}")
            for sub, subvalue in value.items():
                flat[f"{name}.{sub}"] = subvalue
        elif name not in SCHEMA and isinstance(value, Mapping) and value:
            # A misspelt section (threads:): name its keys, to suggest thread.max_posts.
            flat.update((f"{name}.{sub}", subvalue) for sub, subvalue in value.items())
        else:
            flat[name] = value
    unknown = [key for key in flat if key not in SCHEMA and key != "x.credentials"]
    if len(unknown) == 1:
        raise InputError(f"{source}: unknown config key {_unknown_key(unknown[0])}")
    if unknown:
        listing = "\n".join(f"  - {_unknown_key(key)}" for key in unknown)
        raise InputError(f"{source}: {len(unknown)} unknown config keys:\n{listing}")
    return flat


def config_from_mapping(
    raw: Mapping[str, Any] | None, source: str = "config.yaml",
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Validate a parsed config mapping (pure: the environment is passed in)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise InputError(f"{source}: expected a mapping of settings, got {type(raw).__name__}")
    flat = _flatten(raw, source)
    if "x.credentials" in flat:  # the service issue's name for the contract's x.profile
        alias = flat.pop("x.credentials")
        if "x.profile" in flat and flat["x.profile"] != alias:
            raise InputError(f"{source}: x.profile and x.credentials name different "
                             "profiles; keep one of them")
        flat["x.profile"] = alias
    environ = os.environ if environ is None else environ
    if environ.get(API_URL_ENV):
        flat["x.api_url"] = environ[API_URL_ENV]
    values: dict[str, Any] = {}
    for key, (default, validate) in SCHEMA.items():
        if key == "x.api_url" and environ.get(API_URL_ENV):
            key_label, validate = f"{API_URL_ENV} (x.api_url)", _operator_url
        else:
            key_label = key
        values[key] = validate(key_label, flat.get(key, default))
    return Config(
        timezone=values["timezone"],
        schedule=Schedule(values["schedule.time"], values["schedule.poll"],
                          values["schedule.catch_up_days"], values["schedule.max_posts_per_day"]),
        thread=ThreadSettings(values["thread.template"], values["thread.numbering"],
                              values["thread.max_posts"], values["thread.repo_url"]),
        x=XSettings(values["x.api_url"], values["x.profile"]),
        git=GitSettings(values["git.commit"], values["git.push"], values["git.pull"],
                        values["git.author"]),
        pricing=Pricing(values["pricing.post"], values["pricing.post_with_url"],
                        values["pricing.media_metadata"], values["pricing.delete"],
                        values["pricing.read"]),
        budget=Budget(values["budget.monthly_usd"], values["budget.max_posts_per_thread"]),
        source=source,
    )


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read `config.yaml` (a missing file means all defaults) and the environment."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return config_from_text(None, f"{path} (missing: defaults)", environ)
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    return config_from_text(text, str(path), environ)


def config_from_text(text: str | None, source: str,
                     environ: Mapping[str, str] | None = None) -> Config:
    """Parse and validate the text of a `config.yaml` (None: no file, all defaults)."""
    from .text import safeyaml

    if text is None:
        return config_from_mapping({}, source, environ)
    return config_from_mapping(safeyaml.load(text, source), source, environ)


def default_config_text() -> str:
    """The commented `config.yaml` that `init` writes: every key at its default."""
    return """\
# agent-diary settings. Git-tracked: never put a secret here.
# Credentials come from X_* environment variables or `agent-diary auth`.
timezone: UTC              # IANA zone for dates and schedule.time

schedule:
  time: "18:00"            # when the service posts each day's entry (quote it)
  poll: 5m                 # how often the service looks for new commits
  catch_up_days: 0         # how old an unposted entry the service may still post
  max_posts_per_day: 1     # at most this many threads a day from the service

thread:
  template: thread         # templates/<name>.j2 (a packaged default if absent)
  numbering: false         # append " 1/5" to each post (counted in the length)
  max_posts: 25            # an entry needing more posts is refused
  # repo_url: https://github.com/you/your-diary   # given to templates as entry.url

x:
  api_url: https://api.x.com
  profile: default         # which profile of the credentials file to post as

git:
  commit: true             # commit the tweet IDs into the entry's front matter
  push: false
  pull: false
  # author: "agent-diary <agent-diary@example.com>"

pricing:                   # US$ per request, for the cost estimate (X pay-per-use)
  post: 0.015
  post_with_url: 0.20
  media_metadata: 0.005
  delete: 0.01
  read: 0.001

budget:                    # the spending guard: publish refuses what would exceed it
  # monthly_usd: 5.00       # estimated US$ a calendar month (in timezone)
  # max_posts_per_thread: 10
"""
