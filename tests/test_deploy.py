"""deploy/ checked with the real tools: ``nginx -t`` on the site (self-signed certificate),
``systemd-analyze verify`` on the unit (paths moved to a temporary folder), and the compose
file against the Compose Specification's JSON schema. Locally a missing tool skips its
test; under CI=true it fails (``scripts/system-deps.sh`` installs them)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from bot.yamlfile import load_yaml
from tests.conftest import REPO

DEPLOY = REPO / "deploy"
APP_BODY_LIMIT_BYTES = 1024**2
"""aiohttp's default ``client_max_size``, which bot/web/app.py keeps."""


def tool(name: str) -> str:
    """The path of ``name``; skips locally, fails under CI when it is missing."""
    found = shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/sbin") / name) if p.is_file()), None
    )
    if found is None:
        message = f"{name} is not installed (scripts/system-deps.sh installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


def test_the_nginx_site_passes_nginx_t(tmp_path: Path) -> None:
    nginx, openssl = tool("nginx"), tool("openssl")
    cert, key = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    made = run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=bot.example.com", "-keyout", str(key), "-out", str(cert)]
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    site = (DEPLOY / "nginx" / "bot.conf").read_text(encoding="utf-8")
    site = site.replace("/etc/letsencrypt/live/bot.example.com/", f"{tmp_path}/")
    (tmp_path / "bot.conf").write_text(site, encoding="utf-8")
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\n"
        f"error_log {tmp_path}/error.log;\n"
        "events {}\n"
        "http {\n"
        f"    access_log {tmp_path}/access.log;\n"
        f"    client_body_temp_path {tmp_path}/body;\n"
        f"    proxy_temp_path {tmp_path}/proxy;\n"
        f"    fastcgi_temp_path {tmp_path}/fastcgi;\n"
        f"    uwsgi_temp_path {tmp_path}/uwsgi;\n"
        f"    scgi_temp_path {tmp_path}/scgi;\n"
        f"    include {tmp_path}/bot.conf;\n"
        "}\n",
        encoding="utf-8",
    )
    checked = run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")])
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr and "test is successful" in checked.stderr


def test_the_nginx_site_forwards_what_the_app_needs() -> None:
    site = (DEPLOY / "nginx" / "bot.conf").read_text(encoding="utf-8")
    size = re.search(r"client_max_body_size\s+(\d+)([km]?);", site)
    assert size is not None
    factor = {"": 1, "k": 1024, "m": 1024**2}[size.group(2)]
    assert int(size.group(1)) * factor == APP_BODY_LIMIT_BYTES
    for header in ("X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Host"):
        assert f"proxy_set_header {header} " in site
    assert "PUBLIC_BASE_URL" in site
    upstreams = re.findall(r"server 127\.0\.0\.1:(\d+)", site)
    assert len(upstreams) >= 2


def test_the_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = tool("systemd-analyze")
    root = tmp_path / "opt" / "bot"
    (root / ".venv" / "bin").mkdir(parents=True)
    program = root / ".venv" / "bin" / "bot"
    program.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    program.chmod(0o755)
    (root / "config.yaml").write_text("{}\n", encoding="utf-8")
    env_file = tmp_path / "bot.env"
    env_file.write_text("WHATSAPP_ACCESS_TOKEN=x\n", encoding="utf-8")
    unit = (DEPLOY / "bot@.service").read_text(encoding="utf-8")
    unit = unit.replace("/opt/bot", str(root)).replace("/etc/bot/bot.env", str(env_file))
    # User=bot need not exist on the test machine: systemd-analyze would warn, not fail.
    (tmp_path / "bot@.service").write_text(unit, encoding="utf-8")
    instance = tmp_path / "bot@8081.service"
    instance.symlink_to(tmp_path / "bot@.service")
    verified = run([analyze, "verify", "--man=no", str(instance)])
    problems = [
        line
        for line in (verified.stdout + verified.stderr).splitlines()
        if "bot@" in line and "Unknown user" not in line  # the test machine has no user bot
    ]
    assert verified.returncode == 0 and problems == [], verified.stdout + verified.stderr


SCHEMA = Path(sys.prefix) / "share" / "compose-spec.json"
"""The Compose Specification's JSON schema, put in the venv by ``make test``
(``scripts/compose-schema.sh``: from the docker-compose 1.29.2 wheel on PyPI, not vendored)."""


def compose_schema() -> dict[str, Any]:
    """The Compose Specification's schema; skips locally, fails under CI when it is missing."""
    if not SCHEMA.is_file():
        message = f"{SCHEMA} is missing: run `make test` (or scripts/compose-schema.sh {SCHEMA})"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    loaded = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert loaded["title"] == "Compose Specification"
    return dict(loaded)


def compose_file() -> dict[str, Any]:
    """deploy/compose.yaml as plain JSON values (YAML merge keys resolved)."""
    loaded = json.loads(json.dumps(load_yaml(DEPLOY / "compose.yaml")))
    assert isinstance(loaded, dict)
    return loaded


def test_compose_file_validates_against_the_compose_schema() -> None:
    compose = compose_file()
    jsonschema.Draft7Validator(compose_schema()).validate(compose)
    services = compose["services"]
    workers = [s for s in services.values() if "build" in s]
    assert len(workers) == 2 and "redis" in services
    for worker in workers:
        assert "/readyz" in " ".join(worker["healthcheck"]["test"])
        assert worker["environment"]["DATABASE_URL"].startswith("redis://redis:")
        assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
    assert (DEPLOY / compose["services"]["worker1"]["build"]["dockerfile"]).name == "Dockerfile"
    assert (REPO / "deploy" / "Dockerfile").is_file()


def test_a_compose_file_with_a_mistake_is_refused() -> None:
    compose = compose_file()
    compose["services"]["worker1"]["healthcheck"]["intervall"] = "10s"
    schema = compose_schema()
    with pytest.raises(jsonschema.ValidationError, match="intervall"):
        jsonschema.Draft7Validator(schema).validate(compose)
