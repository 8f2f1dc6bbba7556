"""A small Flask service that creates jobs and triggers runs on the portal.

It talks to the portal's REST API only (README, "REST API"), with an API key
(`manage.py createapikey USERNAME --name reports`), sent as ``X-API-Key``:

- ``POST /reports`` ``{"name": ..., "script": ..., "args": [...]}`` creates a
  job with a manual schedule (``POST /api/jobs``) and answers its id;
- ``POST /reports/<id>/run`` ``{"parameters": {...}}`` queues a run
  (``POST /api/jobs/<id>/run``) and answers the run's id;
- ``GET /runs/<id>`` answers the run's status (``GET /api/logs/<id>``).

The portal's error answers (400 with field errors, 403, 404) are passed on
as they are. Run it: ``PORTAL_URL=... PORTAL_API_KEY=... flask --app
examples.flask_client.app run``.
"""

from __future__ import annotations

import os
from typing import Any

import requests
from flask import Flask, Response, jsonify, request

TIMEOUT_SECONDS = 10


class Portal:
    """The portal's REST API, as this service uses it."""

    def __init__(self, url: str, api_key: str) -> None:
        """Keep the portal's address and the key every request sends."""
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["X-API-Key"] = api_key

    def call(self, method: str, path: str, body: Any = None) -> requests.Response:
        """Send one request to the API; return the portal's answer."""
        return self.session.request(
            method, f"{self.url}/api/{path}", json=body, timeout=TIMEOUT_SECONDS
        )


def _pass_on(answer: requests.Response) -> Response:
    """Answer with the portal's status and JSON body."""
    return Response(
        answer.content, status=answer.status_code, content_type="application/json"
    )


def create_app(portal_url: str, api_key: str) -> Flask:
    """Return the service, calling the portal at `portal_url` with `api_key`."""
    app = Flask(__name__)
    portal = Portal(portal_url, api_key)

    @app.post("/reports")
    def report_create() -> Response | tuple[Response, int]:
        wanted = request.get_json(force=True, silent=True) or {}
        document = {
            "name": wanted.get("name"),
            "script": wanted.get("script"),
            "args": wanted.get("args", []),
            "schedules": [{"type": "manual"}],
        }
        answer = portal.call("POST", "jobs", document)
        if answer.status_code != 201:
            return _pass_on(answer)
        return jsonify(job=answer.json()["id"]), 201

    @app.post("/reports/<int:job_id>/run")
    def report_run(job_id: int) -> Response | tuple[Response, int]:
        wanted = request.get_json(force=True, silent=True) or {}
        body = {"parameters": wanted.get("parameters", {})}
        answer = portal.call("POST", f"jobs/{job_id}/run", body)
        if answer.status_code != 202:
            return _pass_on(answer)
        return jsonify(run=answer.json()["id"]), 202

    @app.get("/runs/<int:run_id>")
    def run_status(run_id: int) -> Response:
        answer = portal.call("GET", f"logs/{run_id}")
        if answer.status_code != 200:
            return _pass_on(answer)
        return jsonify(status=answer.json()["status"])

    return app


if __name__ == "__main__":  # pragma: no cover - a manual run
    create_app(os.environ["PORTAL_URL"], os.environ["PORTAL_API_KEY"]).run(port=8002)
