"""OAuth 1.0a credentials: from the environment, or from the credentials file.

The file lives outside any repository (`~/.config/agent-diary/credentials.yaml`, or under
`$XDG_CONFIG_HOME`), mode 0600, one mapping per profile. A file inside a git work tree,
or readable by group or others, is refused before its contents are read.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import AccountError, AgentDiaryError, InputError

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
    """The four OAuth 1.0a strings: all four from X_* variables, else the file's profile."""
    environ = os.environ if environ is None else environ
    from_env = {key: environ.get(name, "") for key, name in ENV_KEYS.items()}
    if all(from_env.values()):
        return Credentials(**from_env, source="environment")
    if any(from_env.values()):
        missing = ", ".join(ENV_KEYS[k] for k, v in from_env.items() if not v)
        raise AccountError(f"X credentials are partly set in the environment: {missing} "
                           "missing; set all four X_* variables, or none to use the "
                           "credentials file")
    path = path or credentials_path(environ)
    if not path.exists():
        raise AccountError(
            "no X credentials: set X_CONSUMER_KEY, X_CONSUMER_SECRET, X_ACCESS_TOKEN and "
            f"X_ACCESS_TOKEN_SECRET, or write {path} with 'agent-diary auth'; to try "
            "everything without an account, use --sandbox")
    check_credentials_file(path)
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError):
        raise InputError(f"{path} is not valid YAML; rewrite it with 'agent-diary auth'") \
            from None
    entry = data.get(profile) if isinstance(data, dict) else None
    if not isinstance(entry, dict):
        raise AccountError(f"{path} has no profile '{profile}'; run 'agent-diary auth "
                           f"--profile {profile}' or set x.profile")
    missing = [key for key in ENV_KEYS if not isinstance(entry.get(key), str) or not entry[key]]
    if missing:
        raise AccountError(f"{path}, profile '{profile}': missing {', '.join(missing)}; "
                           "run 'agent-diary auth' again")
    return Credentials(**{key: entry[key] for key in ENV_KEYS}, source=f"{path} ({profile})")


# --- the PIN flow and writing the file ------------------------------------------------

@dataclass(frozen=True)
class PendingAuthorization:
    """A request token waiting for the PIN a person reads off the authorize page."""

    authorize_url: str
    token: str = field(repr=False)
    token_secret: str = field(repr=False)


def _oauth_error(action: str, exc: Exception) -> AccountError:
    text = str(exc)
    status = "401" if "401" in text else "an error"
    return AccountError(f"X answered {status} while {action}; check that X_CONSUMER_KEY and "
                        "X_CONSUMER_SECRET are the app's API Key and Secret (not its OAuth "
                        "2.0 Client ID), and that the PIN was typed as shown")


def start_authorization(base_url: str, consumer_key: str,
                        consumer_secret: str) -> PendingAuthorization:
    """Step 1: a request token (callback `oob`) and the URL where the PIN is shown."""
    from requests_oauthlib import OAuth1Session

    session = OAuth1Session(consumer_key, client_secret=consumer_secret, callback_uri="oob")
    try:
        token = session.fetch_request_token(f"{base_url}/oauth/request_token", timeout=30)
    except Exception as exc:  # requests_oauthlib raises several kinds; all mean "refused"
        raise _oauth_error("asking for a request token", exc) from None
    return PendingAuthorization(session.authorization_url(f"{base_url}/oauth/authorize"),
                                token["oauth_token"], token["oauth_token_secret"])


def finish_authorization(base_url: str, consumer_key: str, consumer_secret: str,
                         pending: PendingAuthorization, pin: str) -> Credentials:
    """Step 2: exchange the PIN for the account's access token pair (they do not expire)."""
    from requests_oauthlib import OAuth1Session

    session = OAuth1Session(consumer_key, client_secret=consumer_secret,
                            resource_owner_key=pending.token,
                            resource_owner_secret=pending.token_secret, verifier=pin.strip())
    try:
        tokens = session.fetch_access_token(f"{base_url}/oauth/access_token", timeout=30)
    except Exception as exc:
        raise _oauth_error("exchanging the PIN for an access token", exc) from None
    return Credentials(consumer_key, consumer_secret, tokens["oauth_token"],
                       tokens["oauth_token_secret"], source="auth")


def read_profiles(path: Path) -> dict[str, dict[str, str]]:
    """Every profile in the credentials file (checked for safety before it is read)."""
    if not path.exists():
        return {}
    check_credentials_file(path)
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError):
        raise InputError(f"{path} is not valid YAML; move it aside and run "
                         "'agent-diary auth' again") from None
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
