"""OAuth 1.0a credentials, key by key: an X_* variable that is set wins, the credentials
file's profile fills in the rest.

The file lives outside any repository (`~/.config/agent-diary/credentials.yaml`, or under
`$XDG_CONFIG_HOME`), mode 0600, one mapping per profile. A file inside a git work tree,
or readable by group or others, is refused before its contents are read.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import AccountError, AgentDiaryError, InputError, TemporaryError

ENV_KEYS = {
    "consumer_key": "X_CONSUMER_KEY",
    "consumer_secret": "X_CONSUMER_SECRET",
    "access_token": "X_ACCESS_TOKEN",
    "access_token_secret": "X_ACCESS_TOKEN_SECRET",
}


@dataclass(frozen=True)
class Credentials:
    consumer_key: str = field(repr=False)
    consumer_secret: str = field(repr=False)
    access_token: str = field(repr=False)
    access_token_secret: str = field(repr=False)
    source: str = "environment"

    def secrets(self) -> tuple[str, ...]:
        """Every value that must never appear in output (for redaction)."""
        return (self.consumer_key, self.consumer_secret, self.access_token,
                self.access_token_secret)


def credentials_path(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CONFIG_HOME") or str(Path(environ.get("HOME", "~")) / ".config")
    return Path(base).expanduser() / "agent-diary" / "credentials.yaml"


def _inside_git_work_tree(path: Path) -> Path | None:
    for folder in path.resolve().parents:
        if (folder / ".git").exists():
            return folder
    return None


def check_credentials_file(path: Path) -> None:
    """Refuse an unsafe credentials file, saying how to fix it, before reading it."""
    tree = _inside_git_work_tree(path)
    if tree is not None:
        raise AccountError(f"{path} is inside the git work tree {tree}, where it could be "
                           "committed; move it to ~/.config/agent-diary/credentials.yaml")
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise AccountError(f"{path} can be read by other users (mode {stat.filemode(mode)}); "
                           f"run: chmod 600 {path}")


def load_credentials(profile: str = "default", environ: Mapping[str, str] | None = None,
                     path: Path | None = None) -> Credentials:
    """The four OAuth 1.0a strings, key by key: a set X_* variable wins, the file's profile
    fills in the rest, so `export X_CONSUMER_KEY=… X_CONSUMER_SECRET=…`, `auth`, `publish`
    works in one shell. With all four variables set the file is not read at all."""
    environ = os.environ if environ is None else environ
    values = {key: environ.get(name, "") for key, name in ENV_KEYS.items()}
    if all(values.values()):
        return Credentials(**values, source="environment")
    from_env = any(values.values())
    path = path or credentials_path(environ)
    if not path.exists():
        if not from_env:
            raise AccountError(
                "no X credentials: set X_CONSUMER_KEY, X_CONSUMER_SECRET, X_ACCESS_TOKEN and "
                f"X_ACCESS_TOKEN_SECRET, or write {path} with 'agent-diary auth'; to try "
                "everything without an account, use --sandbox")
        raise _incomplete(values, f"there is no credentials file {path} to fill them in")
    check_credentials_file(path)
    data = _read_file(path)
    entry = data.get(profile) if isinstance(data, dict) else None
    if not isinstance(entry, dict):
        raise _incomplete(values, f"{path} has no profile '{profile}'; run 'agent-diary "
                                  f"auth --profile {profile}' or set x.profile")
    for key, value in entry.items():
        if key in values and not values[key] and isinstance(value, str):
            values[key] = value
    if not all(values.values()):
        raise _incomplete(values, f"{path} (profile '{profile}') has no "
                                  f"{', '.join(k for k, v in values.items() if not v)}; run "
                                  "'agent-diary auth' again")
    return Credentials(**values, source=f"{'environment + ' if from_env else ''}{path} "
                                        f"({profile})")


def _incomplete(values: dict[str, str], where: str) -> AccountError:
    """Keys in neither place: name each variable, and why the file did not fill it in."""
    missing = [ENV_KEYS[key] for key, value in values.items() if not value]
    return AccountError(f"X credentials incomplete: {', '.join(missing)} missing, and {where}")


def _read_file(path: Path) -> Any:
    """The credentials file's YAML, after `check_credentials_file`."""
    from .text import safeyaml

    advice = "move it aside and run 'agent-diary auth' again"
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text; {advice}") from None
    try:
        return safeyaml.load(text, str(path))
    except safeyaml.YAMLInputError as exc:
        # Only the line: YAML's own description may quote part of a secret.
        where = f" (line {exc.line})" if exc.line is not None else ""
        raise InputError(f"{path} is not valid YAML{where}; {advice}") from None


# --- the PIN flow and writing the file ------------------------------------------------

@dataclass(frozen=True)
class PendingAuthorization:
    """A request token waiting for the PIN a person reads off the authorize page."""

    authorize_url: str
    token: str = field(repr=False)
    token_secret: str = field(repr=False)


def _oauth_error(action: str, url: str, exc: Exception, consumer_key: str,
                 pin_asked: bool) -> AgentDiaryError:
    """What went wrong in a PIN-flow request, by what happened (not by its text)."""
    import requests
    from requests_oauthlib.oauth1_session import TokenRequestDenied

    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return TemporaryError(f"could not reach {url} while {action} ({type(exc).__name__}); "
                              "check the network and the API URL (x.api_url or "
                              "AGENT_DIARY_X_API_URL), then rerun")
    if isinstance(exc, requests.RequestException):
        return TemporaryError(f"no usable answer from {url} while {action} "
                              f"({type(exc).__name__}); rerun later")
    if not isinstance(exc, TokenRequestDenied):  # a 2xx answer that holds no token
        return TemporaryError(f"{url} answered without a token while {action}; is it X's "
                              "API (x.api_url, AGENT_DIARY_X_API_URL)? Rerun later")
    from .networks.x import error_codes, map_http_error, problem_of

    problem = problem_of(exc.response)
    if exc.status_code == 401 and 135 not in error_codes(problem):  # 135: the clock, mapped below
        return AccountError(_unauthorized(action, consumer_key, pin_asked))
    return map_http_error(exc.status_code, problem, exc.response.headers, action, time.time())


def _unauthorized(action: str, consumer_key: str, pin_asked: bool) -> str:
    from .networks.x_traps import traps_of

    traps = traps_of({"X_CONSUMER_KEY": consumer_key})
    trap = f" {'; '.join(traps)}." if traps else ""
    pin = (" Then check that the PIN was typed as shown; each PIN works once, so run "
           "'agent-diary auth' again for a new one.") if pin_asked else ""
    return (f"X answered 401 Unauthorized while {action}.{trap} X_CONSUMER_KEY and "
            "X_CONSUMER_SECRET must be the app's API Key and Secret ('Keys and tokens', "
            "Consumer Keys, at console.x.com), not its OAuth 2.0 Client ID and Secret; keys "
            f"starting with xai- are xAI's, not X's.{pin}")


def start_authorization(base_url: str, consumer_key: str,
                        consumer_secret: str) -> PendingAuthorization:
    """Step 1: a request token (callback `oob`) and the URL where the PIN is shown."""
    import requests
    from requests_oauthlib import OAuth1Session

    session = OAuth1Session(consumer_key, client_secret=consumer_secret, callback_uri="oob")
    url = f"{base_url}/oauth/request_token"
    try:
        token = session.fetch_request_token(url, timeout=30)
    except (requests.RequestException, ValueError) as exc:  # ValueError: requests_oauthlib's
        raise _oauth_error("asking for a request token", url, exc, consumer_key,
                           pin_asked=False) from None
    return PendingAuthorization(session.authorization_url(f"{base_url}/oauth/authorize"),
                                token["oauth_token"], token["oauth_token_secret"])


def finish_authorization(base_url: str, consumer_key: str, consumer_secret: str,
                         pending: PendingAuthorization, pin: str) -> Credentials:
    """Step 2: exchange the PIN for the account's access token pair (they do not expire)."""
    import requests
    from requests_oauthlib import OAuth1Session

    session = OAuth1Session(consumer_key, client_secret=consumer_secret,
                            resource_owner_key=pending.token,
                            resource_owner_secret=pending.token_secret, verifier=pin.strip())
    url = f"{base_url}/oauth/access_token"
    try:
        tokens = session.fetch_access_token(url, timeout=30)
    except (requests.RequestException, ValueError) as exc:
        raise _oauth_error("exchanging the PIN for an access token", url, exc, consumer_key,
                           pin_asked=True) from None
    return Credentials(consumer_key, consumer_secret, tokens["oauth_token"],
                       tokens["oauth_token_secret"], source="auth")


def read_profiles(path: Path) -> dict[str, dict[str, str]]:
    """Every profile in the credentials file (checked for safety before it is read)."""
    if not path.exists():
        return {}
    check_credentials_file(path)
    data = _read_file(path) or {}
    if not isinstance(data, dict):
        raise InputError(f"{path} must map profile names to credentials")
    return data


def profile_accounts(path: Path, who: Callable[[Credentials], Any]) -> list[str]:
    """One line per profile: the account it posts as (`who` asks X), or why it cannot."""
    lines = []
    for name, values in sorted(read_profiles(path).items()):
        try:
            me = who(Credentials(**{key: values[key] for key in ENV_KEYS}))
            lines.append(f"{name}: posts as @{me.username} (id {me.id})")
        except (AgentDiaryError, KeyError, TypeError) as exc:
            reason = exc.message if isinstance(exc, AgentDiaryError) else "incomplete"
            lines.append(f"{name}: not usable: {reason}")
    return lines


def save_profile(path: Path, profile: str, credentials: Credentials, username: str) -> None:
    """Write one profile, keeping the others: mode 0600 from the start, then renamed into
    place, so the file is never readable by others nor half-written."""
    import yaml

    tree = _inside_git_work_tree(path)
    if tree is not None:
        raise AccountError(f"refusing to write credentials to {path}: it is inside the git "
                           f"work tree {tree}; set XDG_CONFIG_HOME to a folder outside it")
    profiles = read_profiles(path)
    profiles[profile] = {"consumer_key": credentials.consumer_key,
                         "consumer_secret": credentials.consumer_secret,
                         "access_token": credentials.access_token,
                         "access_token_secret": credentials.access_token_secret,
                         "username": username}
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("# agent-diary credentials: one profile per key. Keep this file private "
                     "(mode 0600).\n")
        handle.write(yaml.safe_dump(profiles, sort_keys=True))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
