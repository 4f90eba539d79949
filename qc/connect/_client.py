"""A small client of Label Studio's HTTP API (httpx): the calls the connector makes, and nothing more.

Tokens: a personal access token (a JWT refresh token, what Label Studio 1.23 gives new
organisations) is exchanged at ``POST /api/token/refresh`` for a short-lived access token
sent as ``Authorization: Bearer``; any other text is a legacy token sent as
``Authorization: Token``. An access token that expires mid-way (401) is refreshed once.

Every failure is a :class:`~qc.errors.RemoteError` naming the server's URL, the request and
the HTTP status, never the token.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import httpx

from qc.errors import RemoteError

__all__ = ["LabelStudio", "is_personal_token"]

_JWT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
_HINTS = {
    401: "the token was refused: copy a personal access token (or a legacy token) from Label Studio's "
    "Account & Settings page and set $QC_LABELSTUDIO_TOKEN",
    403: "the token's user may not do this: use a token of the organisation's owner or an administrator",
    404: "no such page: check the URL (the address of Label Studio, e.g. http://127.0.0.1:8080)",
}


def is_personal_token(token: str) -> bool:
    """Whether ``token`` is a personal access token (a JWT), which is refreshed for an access token.

    >>> is_personal_token("eyJh.eyJ0.c2ln"), is_personal_token("0123456789abcdef")
    (True, False)
    """
    return bool(_JWT.match(token))


class LabelStudio:
    """A Label Studio server at ``url``, used with ``token`` (see the module docstring)."""

    def __init__(self, url: str, token: str, *, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self._http = httpx.Client(base_url=self.url, timeout=timeout, follow_redirects=False)
        self._auth: str | None = None

    def __enter__(self) -> LabelStudio:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- the calls ---------------------------------------------------------------------------------------

    def whoami(self) -> dict[str, Any]:
        """The token's user (checks the URL and the token)."""
        return dict(self._json("GET", "/api/current-user/whoami"))

    def create_project(self, *, title: str, label_config: str, description: str = "") -> int:
        """A new project; returns its id."""
        body = {"title": title[:50], "label_config": label_config, "description": description}
        return int(self._json("POST", "/api/projects/", json=body)["id"])

    def add_local_storage(self, project_id: int, *, path: str, title: str) -> int:
        """A local-files import storage of the project over ``path`` (so Label Studio serves its images)."""
        body = {"project": project_id, "path": path, "title": title, "use_blob_urls": True}
        return int(self._json("POST", "/api/storages/localfiles/", json=body)["id"])

    def import_tasks(self, project_id: int, tasks: Sequence[dict[str, Any]]) -> int:
        """Import tasks (with ``data`` and optional ``predictions``); returns how many Label Studio created."""
        answer = self._json("POST", f"/api/projects/{project_id}/import", json=list(tasks))
        return int(answer.get("task_count", 0))

    def export_tasks(self, project_id: int) -> list[dict[str, Any]]:
        """Every task of the project with its annotations (skipped ones: ``was_cancelled``) and predictions."""
        params = {"exportType": "JSON", "download_all_tasks": "true"}
        answer = self._json("GET", f"/api/projects/{project_id}/export", params=params)
        if not isinstance(answer, list):
            raise RemoteError(
                f"Label Studio at {self.url} answered the export of project {project_id} with no task list",
                url=self.url,
            )
        return [t for t in answer if isinstance(t, dict)]

    def call(self, method: str, path: str, **options: Any) -> Any:
        """Any authenticated call: its JSON answer (``None`` when empty), a :class:`RemoteError` when refused."""
        response = self._send(method, path, **options)
        if response.status_code >= 400:
            raise self._refused(method, path, response)
        return response.json() if response.content else None

    def fetch(self, path: str) -> httpx.Response:
        """An authenticated GET answered as is (the caller reads status and body: an image, a page)."""
        return self._send("GET", path)

    # --- plumbing ----------------------------------------------------------------------------------------

    def _json(self, method: str, path: str, **options: Any) -> Any:
        response = self._send(method, path, **options)
        if response.status_code >= 400:
            raise self._refused(method, path, response)
        try:
            return response.json()
        except ValueError:
            raise RemoteError(
                f"Label Studio at {self.url} answered {method} {path} with HTTP {response.status_code} but no JSON; "
                "check the URL points at Label Studio",
                url=self.url,
                status=response.status_code,
            ) from None

    def _send(self, method: str, path: str, **options: Any) -> httpx.Response:
        response = self._request(method, path, self._authorization(), **options)
        if response.status_code == 401 and is_personal_token(self._token):
            self._auth = None  # the access token expired: refresh once
            response = self._request(method, path, self._authorization(), **options)
        return response

    def _request(self, method: str, path: str, authorization: str, **options: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, headers={"Authorization": authorization}, **options)
        except httpx.HTTPError as exc:
            raise RemoteError(
                f"cannot reach Label Studio at {self.url} ({type(exc).__name__}: {exc}); check the URL and that "
                "the server runs",
                url=self.url,
            ) from exc

    def _authorization(self) -> str:
        if not is_personal_token(self._token):
            return f"Token {self._token}"
        if self._auth is None:
            try:
                response = self._http.post("/api/token/refresh/", json={"refresh": self._token})
            except httpx.HTTPError as exc:
                raise RemoteError(
                    f"cannot reach Label Studio at {self.url} ({type(exc).__name__}); check the URL and that the "
                    "server runs",
                    url=self.url,
                ) from exc
            if response.status_code >= 400:
                raise self._refused("POST", "/api/token/refresh/", response)
            self._auth = f"Bearer {response.json()['access']}"
        return self._auth

    def _refused(self, method: str, path: str, response: httpx.Response) -> RemoteError:
        status = response.status_code
        detail = _detail(response)
        hint = _HINTS.get(status, "see Label Studio's log")
        return RemoteError(
            f"Label Studio at {self.url} refused {method} {path}: HTTP {status}{detail}; {hint}",
            url=self.url,
            status=status,
        )


def _detail(response: httpx.Response) -> str:
    """Label Studio's own words about a refusal (``detail`` or the validation errors), short."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        text = body.get("detail") or body.get("validation_errors") or body.get("message") or ""
        text = str(text)
        return f" ({text[:300]})" if text else ""
    return ""
