"""Follow-up visits (回访) for the service desk: who may list and record,
bad input naming the field with nothing written, an unsatisfied owner's
ticket reopened, the deterministic sample, the contact limit, and overdue
tasks told to the supervisors once."""
import pytest

from conftest import expect_error, expect_ok, wait_for, wait_for_runs
from rating_support import (SEED, fnv_sampled, followup_of, rating, resolved_ticket, service_member, start_gateways,
                            stop_gateways)
from repairs_support import act, events, file_ticket, ticket_body, ticket_row, world

JOB = "satisfaction-sweeper"


@pytest.fixture(scope="module")
def gws(stack):
    """sample10: seed SEED, 10 %, no contact limit; sample100: every closed
    ticket sampled, the contact limit of 30 days. Both sweep fast."""
    g = start_gateways(stack, {"followup_sample_seed": SEED, "followup_sample_percent": 10,
                               "owner_contact_min_days": 0}, ["gw-fu-10"])
    g += start_gateways(stack, {"followup_sample_percent": 100}, ["gw-fu-100"])
    yield g
    stop_gateways(stack, g)


def poor_task(api, db, factory, w=None):
    w = w or world(factory, db)
    tid = resolved_ticket(api, w)
    expect_ok(act(api, w.owner_a, tid, "rating", rating(2, 4, 4, comment="太慢")))
    return w, tid, followup_of(db, tid)


def result(api, who, fid, body, base=None):
    return api.post(f"/api/v1/service/followups/{fid}/result", token=who.token, json=body, base=base)


def test_list_by_role(api, db, factory):
    w = world(factory, db)
    desk = service_member(factory, db, w.project_id)
    w, tid, f = poor_task(api, db, factory, w)
    other_desk = service_member(factory, db, factory.project())
    admin_id, admin_token = factory.user(roles=[("admin", 0)])
    for who in (desk, w.supervisor):
        items = expect_ok(api.get(f"/api/v1/service/followups?project={w.project_id}", token=who.token))
        assert [x["id"] for x in items] == [f["id"]]
        assert items[0]["ticket_no"] and items[0]["assignee"]["id"] == desk.id and items[0]["reason"] == "poor_rating"
        assert "*" in items[0]["owner"]["phone"]
    mine = expect_ok(api.get("/api/v1/service/followups?mine=true&status=open", token=desk.token))
    assert f["id"] in [x["id"] for x in mine]
    items = expect_ok(api.get(f"/api/v1/service/followups?project={w.project_id}", token=admin_token))
    assert [x["id"] for x in items] == [f["id"]]
    items = expect_ok(api.get(f"/api/v1/admin/followups?project={w.project_id}", token=w.supervisor.token))
    assert [x["id"] for x in items] == [f["id"]]
    # Refused: another project's desk, the engineer, the owner; the desk on the supervisors' route.
    expect_error(api.get(f"/api/v1/service/followups?project={w.project_id}", token=other_desk.token), 403,
                 "FORBIDDEN", "project")
    assert f["id"] not in [x["id"] for x in expect_ok(api.get("/api/v1/service/followups", token=other_desk.token))]
    expect_error(api.get("/api/v1/service/followups", token=w.engineers[0].token), 403, "FORBIDDEN")
    expect_error(api.get("/api/v1/service/followups", token=w.owner_a.token), 403, "FORBIDDEN")
    expect_error(api.get("/api/v1/admin/followups", token=desk.token), 403, "FORBIDDEN")
    expect_error(api.get("/api/v1/service/followups?status=maybe", token=desk.token), 400, "INVALID_FIELD", "status")


BAD = [
    ({}, "MISSING_FIELD", "contact"),
    ({"contact": "email"}, "INVALID_FIELD", "contact"),
    ({"contact": "reached"}, "MISSING_FIELD", "satisfied"),
    ({"contact": "no_answer", "satisfied": True}, "INVALID_FIELD", "satisfied"),
    ({"contact": "reached", "satisfied": "yes"}, "INVALID_FIELD", "satisfied"),
    ({"contact": "refused", "note": "长" * 501}, "INVALID_FIELD", "note"),
    ({"contact": "reached", "satisfied": True, "unsatisfied_action": "reopen"}, "INVALID_FIELD",
     "unsatisfied_action"),
    ({"contact": "reached", "satisfied": False, "unsatisfied_action": "complaint"}, "MISSING_FIELD", "category"),
]


@pytest.mark.parametrize("body,code,field", BAD)
def test_bad_result_names_the_field_and_writes_nothing(api, db, factory, body, code, field):
    w = world(factory, db)
    desk = service_member(factory, db, w.project_id)
    w, tid, f = poor_task(api, db, factory, w)
    expect_error(result(api, desk, f["id"], body), 400, code, field)
    after = followup_of(db, tid)
    assert (after["status"], after["attempts"], after["contact"]) == ("open", 0, None)
    assert db.scalar("SELECT COUNT(*) FROM followup_attempts WHERE followup_id = %s", (f["id"],)) == 0
    assert ticket_row(db, tid)["state"] == "closed"


def test_result_by_role(api, db, factory):
    w = world(factory, db)
    w, tid, f = poor_task(api, db, factory, w)
    other_desk = service_member(factory, db, factory.project())
    other_sup = factory.user(roles=[("supervisor", factory.project())])
    body = {"contact": "no_answer"}
    expect_error(result(api, other_desk, f["id"], body), 404, "NOT_FOUND")
    expect_error(api.post(f"/api/v1/service/followups/{f['id']}/result", token=other_sup[1], json=body), 404,
                 "NOT_FOUND")
    expect_error(result(api, w.engineers[0], f["id"], body), 403, "FORBIDDEN")
    expect_error(result(api, w.owner_a, f["id"], body), 403, "FORBIDDEN")
    assert followup_of(db, tid)["attempts"] == 0
    # The task was in the pool (no service member): the supervisor takes it.
    assert f["assignee_user_id"] is None
    d = expect_ok(result(api, w.supervisor, f["id"], body))
    assert d["status"] == "open" and d["attempts"] == 1 and d["assignee"]["id"] == w.supervisor.id


def test_no_answer_then_reached_and_satisfied(api, db, factory):
    w = world(factory, db)
    desk = service_member(factory, db, w.project_id)
    w, tid, f = poor_task(api, db, factory, w)
    d = expect_ok(result(api, desk, f["id"], {"contact": "no_answer"}))
    assert d["status"] == "open" and d["attempts"] == 1 and d["result"]["contact"] == "no_answer"
    assert events(db, tid, "followup.done") == []
    d = expect_ok(result(api, desk, f["id"], {"contact": "reached", "satisfied": True, "note": "业主表示满意"}))
    assert d["status"] == "done" and d["attempts"] == 2 and d["result"]["satisfied"] in (True, 1)
    assert d["reopened"] is False and ticket_row(db, tid)["state"] == "closed"
    row = followup_of(db, tid)
    assert (row["status"], row["done_by"], row["satisfied"], row["note"]) == ("done", desk.id, 1, "业主表示满意")
    assert len(events(db, tid, "followup.done", w.owner_a.id)) == 1
    audit = db.one("SELECT * FROM audit_log WHERE action = 'followup.result' AND target_id = %s ORDER BY id DESC"
                   " LIMIT 1", (f["id"],))
    assert audit["actor_user_id"] == desk.id
    expect_error(result(api, desk, f["id"], {"contact": "refused"}), 409, "CONFLICT")


def test_unsatisfied_owner_gets_the_ticket_reopened(api, db, factory):
    w = world(factory, db)
    desk = service_member(factory, db, w.project_id)
    w, tid, f = poor_task(api, db, factory, w)
    d = expect_ok(result(api, desk, f["id"], {"contact": "reached", "satisfied": False, "note": "还在漏"}))
    assert d["reopened"] is True and d["status"] == "done"
    row = ticket_row(db, tid)
    assert (row["state"], row["rework_count"], row["engineer_id"]) == ("dispatched", 1, w.engineers[0].id)
    reopen = [x for x in db.query("SELECT * FROM repair_timeline WHERE ticket_id = %s ORDER BY id", (tid,))][-1]
    assert (reopen["action"], reopen["from_state"], reopen["actor_role"]) == ("reopen", "closed", "service")
    told = events(db, tid, "repair.assigned", w.engineers[0].id)
    assert len(told) == 2 and '"rework_count": 1' in told[-1]["payload"].replace('":1', '": 1')
    assert len(events(db, tid, "followup.done", w.owner_a.id)) == 1
    # A new round: the owner rates again.
    for step, body in (("accept", None), ("start", None), ("resolve", {"note": "重新处理"})):
        expect_ok(act(api, w.engineers[0], tid, step, body))
    expect_ok(act(api, w.owner_a, tid, "rating", rating()))
    assert db.scalar("SELECT COUNT(*) FROM repair_ratings WHERE ticket_id = %s", (tid,)) == 2


def test_sample_is_deterministic_under_a_fixed_seed(api, db, factory, gws):
    w = world(factory, db)
    base = gws[0].url
    tids = []
    while len(tids) < 30 or not any(fnv_sampled(SEED, "repair", t, 10) for t in tids):
        tids.append(resolved_ticket(api, w))
    for tid in tids:
        expect_ok(api.post(f"/api/v1/repairs/{tid}/rating", token=w.owner_a.token, json=rating(), base=base))
    expected = {t for t in tids if fnv_sampled(SEED, "repair", t, 10)}
    got = {r["subject_id"] for r in db.query(
        "SELECT subject_id FROM followups WHERE kind = 'repair' AND reason = 'sample' AND subject_id IN (%s)"
        % ",".join(["%s"] * len(tids)), tids)}
    assert got == expected and 0 < len(got) < len(tids)


def test_contact_limit_skips_a_sampled_owner(api, db, factory, gws):
    w = world(factory, db)
    base = gws[1].url  # every closed ticket sampled
    db.exec("INSERT INTO owner_contacts (user_id, project_id, kind, ref_id) VALUES (%s, %s, 'survey', %s)",
            (w.owner_a.id, w.project_id, 999000 + w.project_id))
    t_asked = resolved_ticket(api, w)
    t_free = resolved_ticket(api, w, owner=w.owner_b)
    expect_ok(api.post(f"/api/v1/repairs/{t_asked}/rating", token=w.owner_a.token, json=rating(), base=base))
    expect_ok(api.post(f"/api/v1/repairs/{t_free}/rating", token=w.owner_b.token, json=rating(), base=base))
    assert followup_of(db, t_asked) is None
    f = followup_of(db, t_free)
    assert f["reason"] == "sample"
    assert db.scalar("SELECT COUNT(*) FROM owner_contacts WHERE user_id = %s AND kind = 'followup'"
                     " AND ref_id = %s", (w.owner_b.id, f["id"])) == 1
    # A poor rating is never skipped for the limit.
    t_poor = resolved_ticket(api, w)
    expect_ok(api.post(f"/api/v1/repairs/{t_poor}/rating", token=w.owner_a.token, json=rating(1, 1, 1), base=base))
    assert followup_of(db, t_poor)["reason"] == "poor_rating"


def test_overdue_follow_up_is_told_to_the_supervisors_once(api, db, factory, gws):
    w, tid, f = poor_task(api, db, factory)
    db.exec("UPDATE followups SET due_at = NOW(3) - INTERVAL 1 MINUTE WHERE id = %s", (f["id"],))
    wait_for(lambda: len(events(db, tid, "followup.overdue")) == 2, what="followup.overdue to both supervisors")
    wait_for_runs(gws, JOB)
    told = events(db, tid, "followup.overdue")
    assert sorted(e["user_id"] for e in told) == sorted([w.supervisor.id, w.manager.id])
    assert followup_of(db, tid)["overdue_notified_at"] is not None
    items = expect_ok(api.get(f"/api/v1/service/followups?project={w.project_id}&overdue=true",
                              token=w.supervisor.token))
    assert [x["id"] for x in items] == [f["id"]] and items[0]["overdue"] in (True, 1)
