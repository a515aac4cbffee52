"""A deployment configured by its environment passes Django's own deployment checks."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    # The test run's own switches (DJANGO_ALLOW_ASYNC_UNSAFE for the browser tests) are not a
    # deployment's.
    unset = ("DEBUG", "HTTPS", "SECURE_COOKIES", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE")
    clean = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run(  # noqa: S603 (a fixed command of this project)
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "DATABASE_URL": f"spatialite:///{tmp_path / 'deploy.sqlite3'}", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_passes_with_debug_off_and_secret_key_and_hosts_from_the_environment(
    tmp_path,
):
    env = {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "ideas.example.org",
    }

    done = manage("check", "--deploy", "--fail-level", "WARNING", env=env, tmp_path=tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


HTTPS_ONLY = ("SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT")


def https_settings(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    code = (
        "from django.conf import settings; "
        f"print(*[getattr(settings, name) for name in {HTTPS_ONLY + ('SECURE_HSTS_SECONDS',)}])"
    )
    done = manage("shell", "--no-imports", "-c", code, env=env, tmp_path=tmp_path)
    values = done.stdout.strip().splitlines()[-1].split()
    return dict(zip((*HTTPS_ONLY, "SECURE_HSTS_SECONDS"), values, strict=True))


def test_a_deployment_is_https_only_and_make_run_on_localhost_is_not(tmp_path):
    deployed = https_settings({"DEBUG": "false", "ALLOWED_HOSTS": "ideas.example.org"}, tmp_path)
    # `make run` sets no ALLOWED_HOSTS: plain HTTP on 127.0.0.1 keeps working.
    local = https_settings({"DEBUG": "false"}, tmp_path)

    assert deployed == dict.fromkeys(HTTPS_ONLY, "True") | {"SECURE_HSTS_SECONDS": "31536000"}
    assert local == dict.fromkeys(HTTPS_ONLY, "False") | {"SECURE_HSTS_SECONDS": "0"}


def test_the_file_email_backend_writes_where_email_file_path_says(tmp_path):
    code = (
        "from django.conf import settings; print(settings.EMAIL_BACKEND, settings.EMAIL_FILE_PATH)"
    )
    env = {"EMAIL_BACKEND": "file", "EMAIL_FILE_PATH": str(tmp_path / "outbox")}

    done = manage("shell", "--no-imports", "-c", code, env=env, tmp_path=tmp_path)

    backend, path = done.stdout.strip().splitlines()[-1].split()
    assert backend == "django.core.mail.backends.filebased.EmailBackend"
    assert path == str(tmp_path / "outbox")
