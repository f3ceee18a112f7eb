import json
from unittest import mock

import pytest
from django.db import OperationalError

pytestmark = pytest.mark.django_db


def test_healthz_ok_without_sign_in(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok", "database": "ok"}


def test_healthz_reports_database_down(client):
    with mock.patch("django.db.backends.utils.CursorWrapper.execute", side_effect=OperationalError("boom at 10.0.0.5")):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert json.loads(response.content) == {"status": "error", "database": "unavailable"}
    assert b"10.0.0.5" not in response.content


def test_healthz_rejects_post(client):
    assert client.post("/healthz").status_code == 405


def test_healthz_never_cached(client):
    assert "no-cache" in client.get("/healthz")["Cache-Control"]
