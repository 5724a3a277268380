"""The business calendar's admin routes (GET/PUT /api/v1/admin/calendar/{year}):
roles, bad input naming the entry with nothing written, the audit row, and a
change reaching the business clocks of another gateway process without a
restart."""
import datetime as dt
import json
import os

import pytest

from conftest import expect_error, expect_ok, gateway_metric, wait_for
from media_support import stop_gateway
from repairs_support import act, new_ticket, ticket_row, world

CST = dt.timezone(dt.timedelta(hours=8))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def utc(y, mo, d, h):
    return dt.datetime(y, mo, d, h, tzinfo=CST).astimezone(dt.timezone.utc).replace(tzinfo=None)


@pytest.fixture
def admin(factory):
    _, token = factory.user(roles=[("admin", 0)])
    return token


def version(db):
    return db.scalar("SELECT version FROM sla_calendar_version WHERE id = 1")


def test_the_shipped_years_are_seeded(api, admin):
    with open(os.path.join(ROOT, "config/holidays-cn.json"), encoding="utf-8") as f:
        shipped = {y["year"]: y for y in json.load(f)["years"]}
    for year in (2025, 2026):
        d = expect_ok(api.get(f"/api/v1/admin/calendar/{year}", token=admin))
        assert d["stored"] is True and d["year"] == year
        assert d["holidays"] == shipped[year]["holidays"] and d["workdays"] == shipped[year]["workdays"]
        assert d["source"] == shipped[year]["source"]
    d = expect_ok(api.get("/api/v1/admin/calendar/2190", token=admin))
    assert d["stored"] is False and d["holidays"] == [] and d["workdays"] == [] and d["source"] is None
    expect_error(api.get("/api/v1/admin/calendar/1999", token=admin), 400, "INVALID_FIELD", "year")
    expect_error(api.get("/api/v1/admin/calendar/20x6", token=admin), 400, "INVALID_FIELD", "year")


def test_only_admins_read_or_change_the_calendar(api, db, factory, admin):
    pid = factory.project()
    others = [factory.user(roles=[(role, pid)])[1] for role in ("supervisor", "engineer", "agent")]
    _, _, _, _ = factory.owner_user(pid)
    owner = factory.owner_user(pid)[1]
    body = {"holidays": [], "workdays": []}
    before = version(db)
    for token in others + [owner]:
        expect_error(api.get("/api/v1/admin/calendar/2032", token=token), 403, "FORBIDDEN")
        expect_error(api.put("/api/v1/admin/calendar/2032", token=token, json=body), 403, "FORBIDDEN")
    expect_error(api.get("/api/v1/admin/calendar/2032"), 401, "UNAUTHENTICATED")
    assert db.scalar("SELECT COUNT(*) FROM sla_calendar_years WHERE year = 2032") == 0 and version(db) == before


@pytest.mark.parametrize("body,field,code", [
    ({"holidays": ["2033-01-01", "2033-13-01"], "workdays": []}, "holidays[1]", "INVALID_FIELD"),
    ({"holidays": ["2032-12-31"], "workdays": []}, "holidays[0]", "INVALID_FIELD"),        # another year
    ({"holidays": ["2033-01-03", "2033-01-02"], "workdays": []}, "holidays[1]", "INVALID_FIELD"),  # order
    ({"holidays": [], "workdays": ["2033-01-03"]}, "workdays[0]", "INVALID_FIELD"),        # a Monday: a working day anyway
    ({"holidays": ["2033-01-08"], "workdays": ["2033-01-08"]}, "workdays[0]", "INVALID_FIELD"),  # both
    ({"holidays": [20330101], "workdays": []}, "holidays[0]", "INVALID_FIELD"),
    ({"holidays": []}, "workdays", "MISSING_FIELD"),
    ({"holidays": "2033-01-01", "workdays": []}, "holidays", "INVALID_FIELD"),
    ({"holidays": [], "workdays": [], "hours": ["09:00", "18:00"]}, "hours", "INVALID_FIELD"),
    ({"holidays": [], "workdays": [], "source": ""}, "source", "INVALID_FIELD"),
])
def test_bad_input_names_the_entry_and_writes_nothing(api, db, admin, body, field, code):
    before = version(db)
    audits = db.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'sla_calendar.update'")
    expect_error(api.put("/api/v1/admin/calendar/2033", token=admin, json=body), 400, code, field)
    assert db.scalar("SELECT COUNT(*) FROM sla_calendar_years WHERE year = 2033") == 0
    assert version(db) == before
    assert db.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'sla_calendar.update'") == audits


@pytest.fixture(scope="module")
def fast_sweeper(stack):
    gw = stack.start_gateway({"sla_sweep_interval_ms": 200}, name="calendar-sweeper")
    yield gw
    stop_gateway(stack, gw)


def test_a_change_reaches_running_business_clocks_in_every_process(api, db, factory, admin, fast_sweeper):
    # A business clock that starts on Thursday 2 January 2031 10:00 with one
    # working day: due Friday 10:00 while 2031 has no holidays.
    w = world(factory, db, engineers=2, accept_s=86400, arrive_s=2 * 86400, resolve_s=3 * 86400)
    db.exec("UPDATE repair_categories SET business_hours = 1 WHERE id = %s", (w.category_id,))
    tid = new_ticket(api, w)["id"]
    db.exec("UPDATE sla_clocks SET started_at = %s WHERE kind = 'repair' AND subject_id = %s",
            (utc(2031, 1, 2, 10), tid))
    other = next(e for e in w.engineers if e.id != ticket_row(db, tid)["engineer_id"])
    expect_ok(act(api, w.supervisor, tid, "assign", {"engineer_id": other.id}))
    assert ticket_row(db, tid)["accept_due_at"] == utc(2031, 1, 3, 10)

    before = version(db)
    d = expect_ok(api.put("/api/v1/admin/calendar/2031", token=admin,
                          json={"source": "test", "holidays": ["2031-01-03"], "workdays": []}))
    assert d["stored"] is True and d["holidays"] == ["2031-01-03"] and d["version"] == before + 1
    assert expect_ok(api.get("/api/v1/admin/calendar/2031", token=admin))["holidays"] == ["2031-01-03"]
    audit = db.one("SELECT * FROM audit_log WHERE action = 'sla_calendar.update' AND target_id = 2031"
                   " ORDER BY id DESC LIMIT 1")
    detail = json.loads(audit["detail"])
    assert detail["after"]["holidays"] == ["2031-01-03"] and detail["before"]["stored"] is False
    # The other process reloads the calendar and recomputes the clock:
    # Friday is a holiday now, so one working day ends on Monday 10:00.
    wait_for(lambda: gateway_metric(fast_sweeper, "gateway_sla_calendar_version") >= before + 1,
             what="the other process's reload")
    assert f"calendar version {before + 1} loaded" in open(fast_sweeper.log, encoding="utf-8").read()
    wait_for(lambda: ticket_row(db, tid)["accept_due_at"] == utc(2031, 1, 6, 10), what="the clock recomputed")

    # Replaced again with no holidays: back to Friday.
    expect_ok(api.put("/api/v1/admin/calendar/2031", token=admin, json={"holidays": [], "workdays": []}))
    wait_for(lambda: ticket_row(db, tid)["accept_due_at"] == utc(2031, 1, 3, 10), what="the clock recomputed again")
    assert version(db) == before + 2
