"""A real Label Studio server for the connector's tests: its own virtual environment, started once per session.

``label-studio`` pins Django and friends that clash with Prefect's, so it never enters qc's
``.venv``: :func:`labelstudio_venv` builds ``~/.cache/qc-test/labelstudio-venv`` once
(``$QC_TEST_LABELSTUDIO_VENV`` overrides; a marker file says the pinned version is installed,
a lock file lets parallel workers wait for one build) and later sessions reuse it. When it
cannot be built (no network, no disk), every test that needs the server is skipped with the
reason.

The ``labelstudio`` fixture starts ``label-studio start`` on 127.0.0.1 on a free port with a
fresh data folder (its SQLite database, migrated at first start), local-files serving from a
document root, and an owner account; it signs in as the owner through the login page and
creates a personal access token (``POST /api/token/``: Label Studio 1.23 gives new
organisations personal access tokens, not legacy ones), and stops the server's process group
at the end of the session. ``annotate``, ``skip`` and friends play the annotators through
Label Studio's own API.
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

__all__ = ["LABELSTUDIO_VERSION", "TIMINGS", "LabelStudioServer", "labelstudio", "labelstudio_venv"]

LABELSTUDIO_VERSION = "1.23.2"
INSTALL_TIMEOUT = 1800.0
START_TIMEOUT = 600.0
OWNER = ("lead@example.com", "qc-test-password-1")
TIMINGS: dict[str, float] = {}
"""Seconds this session spent installing the venv (0: reused) and starting the server (the suite prints them)."""


@dataclass(frozen=True)
class LabelStudioServer:
    """A running Label Studio: its URL, an owner's personal access token, the document root it serves."""

    url: str
    token: str
    document_root: Path
    data_dir: Path
    timings: dict[str, float]


def _venv_path() -> Path:
    default = Path.home() / ".cache" / "qc-test" / "labelstudio-venv"
    return Path(os.environ.get("QC_TEST_LABELSTUDIO_VENV", default))


def labelstudio_venv() -> tuple[Path, float]:
    """The ``label-studio`` executable of the test venv and the seconds spent installing it now (0: reused).

    Skips the calling test with the reason when the venv cannot be built.
    """
    venv = _venv_path()
    marker = venv / f".qc-installed-{LABELSTUDIO_VERSION}"
    executable = venv / "bin" / "label-studio"
    if marker.is_file() and executable.is_file():
        return executable, 0.0
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker may be building it: wait, then reuse
        if marker.is_file() and executable.is_file():
            return executable, 0.0
        start = time.perf_counter()
        log = venv.parent / f"{venv.name}.install.log"
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        steps = [[sys.executable, "-m", "venv", str(venv)], [*pip, f"label-studio=={LABELSTUDIO_VERSION}"]]
        for step in steps:
            with open(log, "a") as out:
                try:
                    done = subprocess.run(step, stdout=out, stderr=subprocess.STDOUT, timeout=INSTALL_TIMEOUT)
                except subprocess.TimeoutExpired:
                    pytest.skip(f"installing label-studio=={LABELSTUDIO_VERSION} took over {INSTALL_TIMEOUT:.0f} s")
            if done.returncode != 0:
                tail = " | ".join(log.read_text(errors="replace").strip().splitlines()[-3:])
                pytest.skip(f"cannot build the Label Studio venv at {venv} (no network?): {tail}")
        marker.write_text(f"{time.perf_counter() - start:.0f} s\n")
        return executable, time.perf_counter() - start


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
            raise RuntimeError(f"label-studio exited with {process.returncode}:\n{tail}")
        try:
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError(f"label-studio did not answer at {url} within {START_TIMEOUT:.0f} s; see {log}")


def personal_access_token(url: str, email: str, password: str) -> str:
    """Sign in through the login page (session and CSRF cookies) and create a personal access token."""
    with httpx.Client(base_url=url, timeout=60, follow_redirects=False) as web:
        page = web.get("/user/login/")
        csrf = web.cookies.get("csrftoken") or _form_csrf(page.text)
        form = {"email": email, "password": password, "csrfmiddlewaretoken": csrf}
        signed_in = web.post("/user/login/", data=form, headers={"Referer": f"{url}/user/login/"})
        if signed_in.status_code not in (302, 303):
            raise RuntimeError(f"signing in to Label Studio failed: HTTP {signed_in.status_code}")
        headers = {"X-CSRFToken": web.cookies.get("csrftoken") or csrf, "Referer": f"{url}/"}
        created = web.post("/api/token/", headers=headers, json={})
        if created.status_code >= 400:
            raise RuntimeError(f"creating a personal access token failed: HTTP {created.status_code} {created.text}")
        return str(created.json()["token"])


def _form_csrf(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    return found.group(1) if found else ""


@pytest.fixture(scope="session")
def labelstudio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabelStudioServer]:
    """A Label Studio server for the session (module docstring).

    ``$QC_TEST_LABELSTUDIO_URL`` (with ``..._TOKEN`` and ``..._DOCUMENT_ROOT``) uses a server that runs already.
    """
    if os.environ.get("QC_TEST_LABELSTUDIO_URL"):
        given = {k: os.environ[f"QC_TEST_LABELSTUDIO_{k.upper()}"] for k in ("url", "token", "document_root")}
        root = Path(given["document_root"])
        yield LabelStudioServer(given["url"], given["token"], root, root, {"install_s": 0.0, "start_s": 0.0})
        return
    executable, installed = labelstudio_venv()
    data = tmp_path_factory.mktemp("labelstudio-data")
    root = tmp_path_factory.mktemp("labelstudio-files")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("QC_", "PREFECT_", "DJANGO_", "VIRTUAL_ENV", "PYTHON"))
    }
    env |= {
        "LABEL_STUDIO_BASE_DATA_DIR": str(data),
        "LOCAL_FILES_SERVING_ENABLED": "true",
        "LOCAL_FILES_DOCUMENT_ROOT": str(root),
        "LABEL_STUDIO_USERNAME": OWNER[0],
        "LABEL_STUDIO_PASSWORD": OWNER[1],
        "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
        "COLLECT_ANALYTICS": "false",
    }
    log = data / "server.log"
    command = [str(executable), "start", "--no-browser", "--internal-host", "127.0.0.1", "--port", str(port)]
    command += ["--data-dir", str(data)]
    start = time.perf_counter()
    with open(log, "wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_up(url, process, log)
        started = time.perf_counter() - start
        token = personal_access_token(url, *OWNER)
        timings = {"install_s": installed, "start_s": started}
        TIMINGS.update(timings)
        yield LabelStudioServer(url, token, root, data, timings)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def annotation(client: Any, task_id: int, result: list[dict[str, Any]], *, lead_time: float) -> dict[str, Any]:
    """An annotator's completed annotation of a task, through Label Studio's API."""
    body = {"result": result, "lead_time": lead_time, "was_cancelled": False}
    return dict(client.call("POST", f"/api/tasks/{task_id}/annotations/", json=body))
