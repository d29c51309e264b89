"""auth (the PIN flow), the credentials file, doctor, and the spending guard."""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml

from agent_diary.auth import load_credentials
from agent_diary.errors import AccountError, InputError

from .helpers import DiaryRepo, EmulatorHandle, Result, git, run_cli, thread_entry


def _env_without_credentials(emulator: EmulatorHandle, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("X_")}
    env.update(AGENT_DIARY_X_API_URL=emulator.url, XDG_CONFIG_HOME=str(home))
    return env


def authorize(emulator: EmulatorHandle, cwd: Path, home: Path, *args: str,
              pin: str | None = None) -> Result:
    """The real `agent-diary auth`, the PIN read off the emulator and typed on stdin."""
    env = {**_env_without_credentials(emulator, home),
           "X_CONSUMER_KEY": emulator.account.consumer_key,
           "X_CONSUMER_SECRET": emulator.account.consumer_secret}
    process = subprocess.Popen([sys.executable, "-m", "agent_diary", "auth", *args], cwd=cwd,
                               env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    seen = ""
    while "oauth_token=" not in seen:
        line = process.stderr.readline()
        assert line, "auth ended before printing the authorize URL"
        seen += line
    token = re.search(r"oauth_token=([\w-]+)", seen)[1]
    real_pin = requests.get(emulator.url + "/_emulator/pin",
                            params={"oauth_token": token}).json()["pin"]
    out, err = process.communicate((pin or real_pin) + "\n", timeout=30)
    return Result(process.returncode, out, seen + err)


def no_secrets(emulator: EmulatorHandle, *results: Result) -> None:
    for result in results:
        for secret in emulator.secrets():
            assert secret not in result.stdout + result.stderr


def test_pin_flow_end_to_end(tmp_path: Path, emulator: EmulatorHandle) -> None:
    home = tmp_path / "config-home"
    result = authorize(emulator, tmp_path, home)
    assert result.code == 0, result.stderr
    path = home / "agent-diary" / "credentials.yaml"
    assert f"saved profile 'default' for @agentdiary in {path}" in result.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = yaml.safe_load(path.read_text(encoding="utf-8"))["default"]
    assert saved["username"] == "agentdiary"
    assert saved["access_token"] in emulator.world.tokens  # a token the PIN flow issued
    second = authorize(emulator, tmp_path, home, "--profile", "work")
    assert second.code == 0, second.stderr
    assert set(yaml.safe_load(path.read_text(encoding="utf-8"))) == {"default", "work"}
    status = run_cli("auth", "--status", cwd=tmp_path,
                     env=_env_without_credentials(emulator, home))
    assert status.stdout.splitlines() == ["default: posts as @agentdiary (id 1000)",
                                          "work: posts as @agentdiary (id 1000)"]
    # The saved profile is what publish uses when no X_* variable is set.
    assert load_credentials("work", environ={"XDG_CONFIG_HOME": str(home)}).access_token == \
        yaml.safe_load(path.read_text(encoding="utf-8"))["work"]["access_token"]
    no_secrets(emulator, result, second, status)
    for value in saved.values():
        assert value == "agentdiary" or value not in result.stdout + result.stderr


def test_a_wrong_pin_writes_nothing(tmp_path: Path, emulator: EmulatorHandle) -> None:
    home = tmp_path / "config-home"
    result = authorize(emulator, tmp_path, home, pin="0000000x")
    assert result.code == 4
    assert "PIN" in result.stderr and "Traceback" not in result.stderr
    assert not (home / "agent-diary" / "credentials.yaml").exists()
    no_secrets(emulator, result)


def _write_credentials(path: Path, mode: int = 0o600, **profile: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    values = {"consumer_key": "ck", "consumer_secret": "cs", "access_token": "at",
              "access_token_secret": "ats", **profile}
    path.write_text(yaml.safe_dump({"default": values}), encoding="utf-8")
    path.chmod(mode)


def test_environment_wins_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "agent-diary" / "credentials.yaml"
    _write_credentials(path)
    environ = {"XDG_CONFIG_HOME": str(tmp_path), "X_CONSUMER_KEY": "a",
               "X_CONSUMER_SECRET": "b", "X_ACCESS_TOKEN": "c", "X_ACCESS_TOKEN_SECRET": "d"}
    assert load_credentials(environ=environ).consumer_key == "a"
    assert load_credentials(environ={"XDG_CONFIG_HOME": str(tmp_path)}).consumer_key == "ck"


@pytest.mark.parametrize(("setup", "fragment"), [
    ("readable", "chmod 600"),
    ("in_git", "inside the git work tree"),
    ("missing_key", "has no access_token_secret"),
    ("missing_key", "X_ACCESS_TOKEN_SECRET missing"),
    ("partial_env", "X_ACCESS_TOKEN_SECRET missing"),
    ("partial_env", "there is no credentials file"),
    ("absent", "agent-diary auth"),
    ("no_profile", "no profile 'default'"),
])
def test_unsafe_or_incomplete_credentials_are_refused(tmp_path: Path, setup: str,
                                                      fragment: str) -> None:
    home = tmp_path / "home"
    path = home / "agent-diary" / "credentials.yaml"
    environ: dict[str, str] = {"XDG_CONFIG_HOME": str(home)}
    if setup == "readable":
        _write_credentials(path, mode=0o644)
    elif setup == "in_git":
        git(tmp_path, "init", "-q")
        _write_credentials(path)
    elif setup == "missing_key":
        _write_credentials(path, access_token_secret="")
    elif setup == "partial_env":
        environ.update(X_CONSUMER_KEY="a", X_CONSUMER_SECRET="b", X_ACCESS_TOKEN="c")
    elif setup == "no_profile":
        path.parent.mkdir(parents=True)
        path.write_text("other: {}\n", encoding="utf-8")
        path.chmod(0o600)
    with pytest.raises(AccountError) as info:
        load_credentials(environ=environ)
    assert fragment in info.value.message and info.value.exit_code == 4
    assert "cs" not in info.value.message.split() and "ats" not in info.value.message


def test_credentials_key_by_key(tmp_path: Path) -> None:
    path = tmp_path / "agent-diary" / "credentials.yaml"
    _write_credentials(path)
    environ = {"XDG_CONFIG_HOME": str(tmp_path), "X_CONSUMER_KEY": "a", "X_CONSUMER_SECRET": "b"}
    mixed = load_credentials(environ=environ)
    assert (mixed.consumer_key, mixed.consumer_secret, mixed.access_token,
            mixed.access_token_secret) == ("a", "b", "at", "ats")
    assert mixed.source == f"environment + {path} (default)"
    _write_credentials(path, access_token="")
    with pytest.raises(AccountError) as info:
        load_credentials(environ=environ)
    assert "X_ACCESS_TOKEN missing" in info.value.message
    assert "has no access_token" in info.value.message and "X_CONSUMER" not in info.value.message
    # Unsafe files are refused even when the environment supplies part of the four.
    _write_credentials(path, mode=0o640)
    with pytest.raises(AccountError, match="chmod 600"):
        load_credentials(environ=environ)


def test_all_four_variables_do_not_read_the_file(tmp_path: Path) -> None:
    path = tmp_path / "agent-diary" / "credentials.yaml"
    path.parent.mkdir()
    path.write_text("not: [valid", encoding="utf-8")
    path.chmod(0o644)
    environ = {"XDG_CONFIG_HOME": str(tmp_path), "X_CONSUMER_KEY": "a",
               "X_CONSUMER_SECRET": "b", "X_ACCESS_TOKEN": "c", "X_ACCESS_TOKEN_SECRET": "d"}
    assert load_credentials(environ=environ).source == "environment"


def test_consumer_pair_in_the_environment_then_auth_then_publish(
        repo: DiaryRepo, emulator: EmulatorHandle, tmp_path: Path) -> None:
    """The documented first run: export the app's key pair, authorize, publish."""
    home = tmp_path / "config-home"
    assert authorize(emulator, repo.root, home).code == 0
    repo.write("diary/2026-11-28.md", thread_entry(2))
    repo.commit()
    env = {**_env_without_credentials(emulator, home),
           "X_CONSUMER_KEY": emulator.account.consumer_key,
           "X_CONSUMER_SECRET": emulator.account.consumer_secret}
    result = repo.run("publish", "--date", "2026-11-28", env=env)
    assert result.code == 0, result.stderr
    assert len(emulator.posts()) == 2
    no_secrets(emulator, result)


def test_credentials_file_yaml_limits(tmp_path: Path) -> None:
    path = tmp_path / "agent-diary" / "credentials.yaml"
    path.parent.mkdir()
    path.write_text("default: &d\n  consumer_key: s3cret-key\nwork: *d\n", encoding="utf-8")
    path.chmod(0o600)
    with pytest.raises(InputError) as info:
        load_credentials(environ={"XDG_CONFIG_HOME": str(tmp_path)})
    assert f"{path} is not valid YAML (line 1)" in info.value.message
    assert "s3cret" not in info.value.message
    path.write_text("default:\n  consumer_key: !!int s3cret\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_credentials(environ={"XDG_CONFIG_HOME": str(tmp_path)})
    assert "(line 2)" in info.value.message and "s3cret" not in info.value.message


# --- auth: what went wrong, by what happened -------------------------------------------

def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _auth_without_pin(emulator: EmulatorHandle, cwd: Path, home: Path,
                      **env: str) -> Result:
    """`agent-diary auth` that fails before it asks for a PIN (stdin is empty)."""
    full = {**_env_without_credentials(emulator, home),
            "X_CONSUMER_KEY": emulator.account.consumer_key,
            "X_CONSUMER_SECRET": emulator.account.consumer_secret, **env}
    process = subprocess.run([sys.executable, "-m", "agent_diary", "auth"], cwd=cwd, env=full,
                             input="", capture_output=True, text=True, timeout=120)
    return Result(process.returncode, process.stdout, process.stderr)


def test_auth_when_x_cannot_be_reached(tmp_path: Path, emulator: EmulatorHandle) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    result = _auth_without_pin(emulator, tmp_path, tmp_path / "home",
                               AGENT_DIARY_X_API_URL=url)
    assert result.code == 5, result.stderr
    assert f"could not reach {url}/oauth/request_token" in result.stderr
    assert "X_CONSUMER_KEY" not in result.stderr and "Traceback" not in result.stderr
    emulator.fault(method="POST", path="/oauth/request_token", after="drop")
    dropped = _auth_without_pin(emulator, tmp_path, tmp_path / "home")
    assert dropped.code == 5 and f"{emulator.url}/oauth/request_token" in dropped.stderr


def test_auth_with_a_wrong_consumer_key(tmp_path: Path, emulator: EmulatorHandle) -> None:
    result = _auth_without_pin(emulator, tmp_path, tmp_path / "home",
                               X_CONSUMER_SECRET="not-the-secret")
    assert result.code == 4, result.stderr
    message = result.stderr
    assert "401" in message and "API Key and Secret" in message
    assert "OAuth 2.0 Client ID" in message and "xai-" in message
    assert "PIN" not in message and "not-the-secret" not in message
    client_id = _auth_without_pin(emulator, tmp_path, tmp_path / "home",
                                  X_CONSUMER_KEY=_client_id())
    assert client_id.code == 4 and "is an OAuth 2.0 Client ID" in client_id.stderr


@pytest.mark.parametrize(("fault", "code", "fragment"), [
    ({"preset": "credits"}, 4, "402 Payment Required"),
    ({"preset": "unavailable"}, 5, "503"),
    ({"preset": "rate_limit"}, 5, "rate-limited"),
    ({"preset": "clock"}, 4, "clock is wrong"),
])
def test_auth_maps_other_answers_like_the_api_client(tmp_path: Path, emulator: EmulatorHandle,
                                                     fault: dict, code: int,
                                                     fragment: str) -> None:
    emulator.fault(method="POST", path="/oauth/request_token", **fault)
    result = _auth_without_pin(emulator, tmp_path, tmp_path / "home")
    assert result.code == code, result.stderr
    assert fragment in result.stderr and "asking for a request token" in result.stderr
    assert "PIN" not in result.stderr and "X_CONSUMER_KEY" not in result.stderr


# --- doctor ---------------------------------------------------------------------------

@pytest.fixture
def healthy(repo: DiaryRepo) -> DiaryRepo:
    repo.write(f"diary/{dt.datetime.now(dt.UTC).date()}.md", thread_entry(2))
    repo.commit()
    return repo


def doctor(repo: DiaryRepo, emulator: EmulatorHandle, **env: str) -> Result:
    return repo.run("doctor", env=emulator.env(**env))


def _line(result: Result, name: str) -> str:
    return next(line for line in result.stdout.splitlines() if f" {name}: " in line)


def test_doctor_all_well(healthy: DiaryRepo, emulator: EmulatorHandle) -> None:
    result = doctor(healthy, emulator)
    assert result.code == 0, result.stdout
    assert [line.split()[0] for line in result.stdout.splitlines()] == ["OK"] * 7
    assert "no images" in _line(result, "media")
    assert "posting as @agentdiary" in _line(result, "account")
    no_secrets(emulator, result)


def _client_id() -> str:
    return base64.b64encode(b"V2hhdGV2ZXI6MTpjaQ:1:ci").decode().rstrip("=")


@pytest.mark.parametrize(("name", "env", "fragment", "code"), [
    ("credentials", {"X_CONSUMER_KEY": _client_id()}, "OAuth 2.0 Client ID", 4),
    ("credentials", {"X_ACCESS_TOKEN_SECRET": "xai-abc123"}, "console.x.ai", 4),
    ("credentials", {"X_ACCESS_TOKEN": ""}, "X_ACCESS_TOKEN missing", 4),
    ("account", {"X_CONSUMER_SECRET": "wrong"}, "401", 4),
])
def test_doctor_names_each_credential_trap(healthy: DiaryRepo, emulator: EmulatorHandle,
                                           name: str, env: dict[str, str], fragment: str,
                                           code: int) -> None:
    result = doctor(healthy, emulator, **env)
    assert result.code == code
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failed) == 1 and f" {name}: " in failed[0] and fragment in failed[0]
    no_secrets(emulator, result)


@pytest.mark.parametrize(("key", "fragment"), [
    (_client_id(), "X_CONSUMER_KEY is an OAuth 2.0 Client ID, not the app's API Key"),
    ("xai-0123456789abcdef", "X_CONSUMER_KEY is an xAI (Grok API) key from console.x.ai"),
])
def test_a_401_names_the_credential_trap_wherever_it_appears(
        repo: DiaryRepo, emulator: EmulatorHandle, tmp_path: Path, key: str,
        fragment: str) -> None:
    """Not only doctor: publish and auth say which trap the 401 comes from."""
    repo.write("diary/2026-11-28.md", thread_entry(2))
    repo.commit()
    published = repo.run("publish", "--date", "2026-11-28",
                         env=emulator.env(X_CONSUMER_KEY=key))
    assert published.code == 4 and "401" in published.stderr, published.stderr
    assert fragment in published.stderr
    authorized = _auth_without_pin(emulator, tmp_path, tmp_path / "home", X_CONSUMER_KEY=key)
    assert authorized.code == 4 and fragment in authorized.stderr, authorized.stderr
    assert emulator.posts() == []
    no_secrets(emulator, published, authorized)


def test_a_plain_401_names_no_trap(repo: DiaryRepo, emulator: EmulatorHandle) -> None:
    repo.write("diary/2026-11-28.md", thread_entry(2))
    repo.commit()
    result = repo.run("publish", "--date", "2026-11-28",
                      env=emulator.env(X_CONSUMER_SECRET="wrong"))
    assert result.code == 4 and "401" in result.stderr
    assert "is an OAuth 2.0 Client ID" not in result.stderr and "is an xAI" not in result.stderr


def test_doctor_finds_a_skewed_clock(healthy: DiaryRepo, emulator: EmulatorHandle) -> None:
    emulator.world.clock_offset = 600
    result = doctor(healthy, emulator)
    assert "600 s behind" in _line(result, "clock") or "599 s behind" in _line(result, "clock")
    assert "NTP" in _line(result, "clock")
    assert _line(result, "account").startswith("FAIL") and "clock" in _line(result, "account")
    assert result.code == 4


def test_doctor_git_checks(healthy: DiaryRepo, emulator: EmulatorHandle,
                           tmp_path: Path) -> None:
    isolated = {"HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_CONFIG_GLOBAL": str(tmp_path / "nothing")}
    git(healthy.root, "config", "--unset", "user.name")
    no_identity = doctor(healthy, emulator, **isolated)
    assert no_identity.code == 2 and "git.author" in _line(no_identity, "git")
    healthy.write("config.yaml", 'git:\n  author: "Agent <agent@example.invalid>"\n'
                                 "  push: true\n")
    git(healthy.root, "remote", "add", "origin", str(tmp_path / "no-such-remote.git"))
    unreachable = doctor(healthy, emulator, **isolated)
    assert unreachable.code == 5 and "not reachable" in _line(unreachable, "git")


def test_doctor_fails_git_when_git_cannot_read_the_repository(
        healthy: DiaryRepo, emulator: EmulatorHandle) -> None:
    """git refusing the repository (a damaged index here; "dubious ownership" in a
    container) fails every publish: doctor must say so, not "git: ok"."""
    (healthy.root / ".git" / "index").write_bytes(b"not an index")
    result = doctor(healthy, emulator)
    assert result.code == 2, result.stdout
    line = _line(result, "git")
    assert "index file" in line and str(healthy.root) in line


def test_doctor_checks_todays_template_and_config(healthy: DiaryRepo,
                                                  emulator: EmulatorHandle) -> None:
    today = dt.datetime.now(dt.UTC).date()
    healthy.write(f"diary/{today}.md", thread_entry(1, template="missing"))
    broken = doctor(healthy, emulator)
    assert broken.code == 2 and "missing.j2" in _line(broken, "template")
    healthy.write(f"diary/{today}.md", "Text ![](media/a.png)\n")
    healthy.write("diary/media/a.png", b"\x89PNG\r\n\x1a\n")
    warned = doctor(healthy, emulator)
    assert warned.code == 0 and _line(warned, "media").startswith("WARN")
    assert "no alt text" in _line(warned, "media")
    healthy.write("config.yaml", "thread:\n  numbring: true\n")
    bad = doctor(healthy, emulator)
    assert bad.code == 2 and "numbring" in _line(bad, "config")


def test_doctor_files_media_problems_under_media_one_line_each(healthy: DiaryRepo,
                                                               emulator: EmulatorHandle) -> None:
    today = dt.datetime.now(dt.UTC).date()
    healthy.write(f"diary/{today}.md",
                  "---\nmedia:\n  - path: media/gone.png\n    alt: Gone\n---\n"
                  "A chart ![](media/chart.png) and notes ![the notes](media/notes.txt).\n")
    healthy.write("diary/media/chart.png", b"\x89PNG\r\n\x1a\n")
    healthy.write("diary/media/notes.txt", b"plain words, no image")
    result = doctor(healthy, emulator)
    assert result.code == 2, result.stdout
    assert _line(result, "template").startswith("OK")
    assert "renders to 1 post" in _line(result, "template")
    media = [line for line in result.stdout.splitlines() if " media: " in line]
    assert len(media) == 3, media
    chart, gone, notes = sorted(media, key=lambda line: line.split("'")[1])
    assert chart.startswith("WARN") and "no alt text" in chart and "![" in chart
    assert notes.startswith("FAIL") and "is not a JPEG, PNG, WEBP or GIF" in notes
    assert gone.startswith("FAIL") and "not found" in gone and "relative to" in gone


def test_doctor_counts_the_images_of_each_post(healthy: DiaryRepo,
                                               emulator: EmulatorHandle) -> None:
    today = dt.datetime.now(dt.UTC).date()
    images = " ".join(f"![image {i}](media/{i}.png)" for i in range(5))
    healthy.write(f"diary/{today}.md", f"Five images: {images}\n")
    for i in range(5):
        healthy.write(f"diary/media/{i}.png", b"\x89PNG\r\n\x1a\n")
    result = doctor(healthy, emulator)
    assert result.code == 2
    assert _line(result, "template").startswith("OK")
    assert _line(result, "media").startswith("FAIL")
    assert "post 1 carries 5 images" in _line(result, "media")


def test_doctor_with_an_api_url_without_scheme(healthy: DiaryRepo,
                                               emulator: EmulatorHandle) -> None:
    for cwd in (healthy.root, healthy.root.parent):  # a repository, and none at all
        result = run_cli("doctor", cwd=cwd,
                         env=emulator.env(AGENT_DIARY_X_API_URL="127.0.0.1:18765"))
        assert result.code == 2, result.stdout + result.stderr
        assert "AGENT_DIARY_X_API_URL" in result.stderr and "no scheme" in result.stderr
        assert "internal error" not in result.stderr


def test_doctor_outside_a_repository(tmp_path: Path, emulator: EmulatorHandle) -> None:
    result = run_cli("doctor", cwd=tmp_path, env=emulator.env())
    assert result.code == 2 and "not inside a git repository" in _line(result, "repository")
    assert _line(result, "account").startswith("OK")


# --- the spending guard ---------------------------------------------------------------

def test_a_thread_over_the_monthly_budget_is_refused_before_any_request(
        repo: DiaryRepo, emulator: EmulatorHandle) -> None:
    repo.write("config.yaml", "budget:\n  monthly_usd: 0.50\n")
    repo.write("diary/2026-11-27.md", thread_entry(2))  # two posts with URLs: $0.40
    # Other words: X (and publish) refuse a post identical to one of the days before.
    repo.write("diary/2026-11-28.md",
               thread_entry(2, title="Next").replace("Post number", "Next day's post"))
    repo.commit()
    first = repo.run("publish", "--date", "2026-11-27", env=emulator.env())
    assert first.code == 0, first.stderr
    requests_before = emulator.requests()
    second = repo.run("publish", "--date", "2026-11-28", env=emulator.env())
    assert second.code == 4
    month = dt.datetime.now(dt.UTC).strftime("%Y-%m")
    assert (f"(estimated $0.400) would bring {month}'s estimated spend to $0.800, over "
            "budget.monthly_usd ($0.50; $0.400 spent so far)") in second.stderr
    assert emulator.requests() == requests_before
    status = repo.run("status", "--days", "1")
    assert f"spent in {month} (estimated): $0.400 of $0.50 (budget.monthly_usd)" in status.stdout


def test_max_posts_per_thread(repo: DiaryRepo, emulator: EmulatorHandle) -> None:
    repo.write("config.yaml", "budget:\n  max_posts_per_thread: 3\n")
    repo.write("diary/2026-11-28.md", thread_entry(4))
    repo.commit()
    result = repo.run("publish", "--date", "2026-11-28", env=emulator.env())
    assert result.code == 4 and "4 posts, more than budget.max_posts_per_thread (3)" \
        in result.stderr
    assert emulator.requests() == 0


def test_service_logs_redact_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    from agent_diary.logs import make_logger

    for fmt in ("text", "json"):
        logger, redact = make_logger(fmt)
        redact(["s3cr3t-value", ""])
        logger.info("a message that quotes %s by mistake", "s3cr3t-value")
        err = capsys.readouterr().err
        assert "s3cr3t-value" not in err and "[redacted]" in err
