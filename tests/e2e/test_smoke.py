"""The set-up itself: health, readiness, the envelope on an unknown route."""


def test_healthz_over_https(api):
    r = api.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["data"] == {"status": "ok"}
    assert body["request_id"] == r.headers["x-request-id"]


def test_readyz_reports_schema_version(api, db):
    r = api.get("/readyz")
    assert r.status_code == 200
    assert r.json()["data"]["schema_version"] == db.scalar("SELECT MAX(version) FROM schema_migrations")
