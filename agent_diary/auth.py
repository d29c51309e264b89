"""OAuth 1.0a credentials: from the environment, or from the credentials file.

The file lives outside any repository (`~/.config/agent-diary/credentials.yaml`, or under
`$XDG_CONFIG_HOME`), mode 0600, one mapping per profile. A file inside a git work tree,
or readable by group or others, is refused before its contents are read.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import AccountError, InputError

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
