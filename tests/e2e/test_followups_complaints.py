"""Follow-up visits (回访) of complaints, and a complaint filed from a
repair's follow-up: a poor rating on accepting a resolution always opens
one; closed complaints and suggestions fall in the seeded sample, praise
never; an unsatisfied owner gets the complaint reopened for a new round;
an unsatisfied repair owner who would rather complain gets a complaint
filed for them by the desk member, in the result's transaction."""
import pytest

from complaints_support import cworld, events, new_complaint, owner_act, row, staff, timeline
from conftest import expect_error, expect_ok
from rating_support import SEED, fnv_sampled, rating, resolved_ticket, service_member, start_gateways, stop_gateways
from repairs_support import act, ticket_row


@pytest.fixture(scope="module")
def sample_all(stack):
    """Every closed subject sampled, no contact limit."""
    g = start_gateways(stack, {"followup_sample_percent": 100, "owner_contact_min_days": 0}, ["gw-fuc-100"])
    yield g[0]
    stop_gateways(stack, g)


@pytest.fixture(scope="module")
def sample_seeded(stack):
    g = start_gateways(stack, {"followup_sample_seed": SEED, "followup_sample_percent": 10,
                               "owner_contact_min_days": 0}, ["gw-fuc-10"])
    yield g[0]
    stop_gateways(stack, g)


def complaint_task(db, cid):
    return db.one("SELECT * FROM followups WHERE kind = 'complaint' AND subject_id = %s ORDER BY round DESC LIMIT 1",
                  (cid,))


def resolved_complaint(api, cw, **kw):
    k = new_complaint(api, cw, **kw)
    expect_ok(staff(api, cw.w.supervisor, k["id"], "resolve", {"resolution": "已与楼上业主协商，晚九点后停止施工"}))
    return k["id"]


def result(api, who, fid, body):
    return api.post(f"/api/v1/service/followups/{fid}/result", token=who.token, json=body)


def test_poor_rating_on_accepting_opens_a_follow_up(api, db, factory):
    cw = cworld(factory, db)
    cid = resolved_complaint(api, cw)
    expect_ok(owner_act(api, cw.w.owner_a, cid, "accept", {"rating": 2, "comment": "还是吵"}))
    f = complaint_task(db, cid)
    assert (f["reason"], f["score"], f["round"], f["project_id"], f["owner_user_id"], f["assignee_user_id"],
            f["status"]) == ("poor_rating", 2, 0, cw.w.project_id, cw.w.owner_a.id, cw.service.id, "open")
    items = expect_ok(api.get(f"/api/v1/service/followups?project={cw.w.project_id}&kind=complaint",
                              token=cw.service.token))
    assert [(x["id"], x["kind"], x["subject_id"]) for x in items] == [(f["id"], "complaint", cid)]


def test_sample_of_closed_complaints_is_seeded_and_skips_praise(api, db, factory, sample_seeded, sample_all):
    cw = cworld(factory, db)
    base = sample_seeded.url
    cids = []
    while len(cids) < 20 or not any(fnv_sampled(SEED, "complaint", c, 10) for c in cids):
        cids.append(resolved_complaint(api, cw))
    for cid in cids:
        r = api.post(f"/api/v1/complaints/{cid}/accept", token=cw.w.owner_a.token, json={"rating": 5}, base=base)
        expect_ok(r)
    expected = {c for c in cids if fnv_sampled(SEED, "complaint", c, 10)}
    got = {r["subject_id"] for r in db.query(
        "SELECT subject_id FROM followups WHERE kind = 'complaint' AND reason = 'sample' AND subject_id IN (%s)"
        % ",".join(["%s"] * len(cids)), cids)}
    assert got == expected and 0 < len(got) < len(cids)
    # Praise closed by staff is never followed up, even when everything is sampled.
    praise = new_complaint(api, cw, type="praise", content="保安师傅很负责")
    r = api.post(f"/api/v1/admin/complaints/{praise['id']}/close", token=cw.service.token,
                 json={"reason": "已转达表扬"}, base=sample_all.url)
    expect_ok(r)
    assert complaint_task(db, praise["id"]) is None
    # A complaint closed by staff is.
    cid = resolved_complaint(api, cw)
    r = api.post(f"/api/v1/admin/complaints/{cid}/close", token=cw.w.supervisor.token, json={"reason": "已处理"},
                 base=sample_all.url)
    expect_ok(r)
    assert complaint_task(db, cid)["reason"] == "sample"


def test_unsatisfied_owner_gets_the_complaint_reopened(api, db, factory):
    cw = cworld(factory, db)
    cid = resolved_complaint(api, cw)
    expect_ok(owner_act(api, cw.w.owner_a, cid, "accept", {"rating": 1}))
    f = complaint_task(db, cid)
    d = expect_ok(result(api, cw.service, f["id"], {"contact": "reached", "satisfied": False, "note": "晚上还在施工"}))
    assert d["reopened"] is True and d["status"] == "done"
    k = row(db, cid)
    assert (k["state"], k["rejection_count"], k["closed_at"], k["close_reason"], k["resolution"]) == \
        ("in_progress", 1, None, None, None)
    last = timeline(db, cid)[-1]
    assert (last["action"], last["from_state"], last["to_state"], last["actor_user_id"], last["actor_role"]) == \
        ("reopen", "closed", "in_progress", cw.service.id, "service")
    # A new round of clocks, and the supervisors told (no handler).
    assert db.scalar("SELECT COUNT(*) FROM sla_clocks WHERE kind = 'complaint' AND subject_id = %s AND round = 1",
                     (cid,)) == 2
    assert len(events(db, cid, "complaint.rejected", cw.w.supervisor.id)) == 1
    assert len(db.query("SELECT id FROM notification_events WHERE kind = 'followup.done' AND user_id = %s",
                        (cw.w.owner_a.id,))) == 1
    # A complaint's follow-up cannot open another complaint.
    cid2 = resolved_complaint(api, cw)
    expect_ok(owner_act(api, cw.w.owner_a, cid2, "accept", {"rating": 2}))
    f2 = complaint_task(db, cid2)
    before = db.scalar("SELECT COUNT(*) FROM complaints")
    expect_error(result(api, cw.service, f2["id"], {"contact": "reached", "satisfied": False, "note": "不满意",
                                                    "unsatisfied_action": "complaint", "category": "noise"}),
                 400, "INVALID_FIELD", "unsatisfied_action")
    assert db.scalar("SELECT COUNT(*) FROM complaints") == before
    assert complaint_task(db, cid2)["status"] == "open" and row(db, cid2)["state"] == "closed"


def test_unsatisfied_repair_owner_gets_a_complaint_instead(api, db, factory):
    cw = cworld(factory, db)
    w = cw.w
    tid = resolved_ticket(api, w)
    expect_ok(act(api, w.owner_a, tid, "rating", rating(2, 4, 4, comment="太慢")))
    f = db.one("SELECT * FROM followups WHERE kind = 'repair' AND subject_id = %s", (tid,))
    before = db.scalar("SELECT COUNT(*) FROM complaints WHERE user_id = %s", (w.owner_a.id,))
    # Bad input first: nothing written.
    for body, code, field in (
            ({"contact": "reached", "satisfied": False, "unsatisfied_action": "complaint", "note": "太慢"},
             "MISSING_FIELD", "category"),
            ({"contact": "reached", "satisfied": False, "unsatisfied_action": "complaint", "category": "noise"},
             "MISSING_FIELD", "note"),
            ({"contact": "reached", "satisfied": False, "category": "noise"}, "INVALID_FIELD", "category"),
            ({"contact": "reached", "satisfied": False, "unsatisfied_action": "complaint", "category": "nosuch",
              "note": "太慢"}, "INVALID_FIELD", "category")):
        expect_error(result(api, cw.service, f["id"], body), 400, code, field)
        assert db.scalar("SELECT COUNT(*) FROM complaints WHERE user_id = %s", (w.owner_a.id,)) == before
        assert db.one("SELECT status, attempts FROM followups WHERE id = %s", (f["id"],)) == \
            {"status": "open", "attempts": 0}
    d = expect_ok(result(api, cw.service, f["id"], {"contact": "reached", "satisfied": False,
                                                     "unsatisfied_action": "complaint", "category": "property_service",
                                                     "note": "维修太慢，要投诉物业"}))
    assert d["reopened"] is False and d["status"] == "done"
    assert ticket_row(db, tid)["state"] == "closed"  # the ticket is left as it is
    k = db.one("SELECT * FROM complaints WHERE user_id = %s ORDER BY id DESC LIMIT 1", (w.owner_a.id,))
    assert (k["type"], k["content"], k["unit_id"], k["channel"], k["filed_by"], k["state"]) == \
        ("complaint", "维修太慢，要投诉物业", w.unit_a, "hotline", cw.service.id, "submitted")
    assert len(events(db, k["id"], "complaint.filed_for_you", w.owner_a.id)) == 1
    mine = expect_ok(api.get("/api/v1/complaints", token=w.owner_a.token))
    assert k["id"] in [x["id"] for x in mine]
