"""Who may do what on complaints: every route against the owner of another
complaint, an engineer and an agent of the project, a service-desk member
and a supervisor of another project, the project's own staff and admins;
and two staff members resolving or closing one complaint at once."""
import threading

from complaints_support import cworld, new_complaint, owner_act, row, staff, timeline
from conftest import expect_error, expect_ok

STAFF_ACTIONS = [
    ("reply", {"text": "您好"}),
    ("note", {"text": "内部"}),
    ("level", {"level": "important"}),
    ("assign", None),  # handler filled in per test
    ("resolve", {"resolution": "已处理"}),
]


def test_reading_one_complaint(api, db, factory):
    cw = cworld(factory, db)
    w = cw.w
    cid = new_complaint(api, cw)["id"]
    for person in (w.owner_a, w.supervisor, cw.service, cw.admin):
        assert expect_ok(api.get(f"/api/v1/complaints/{cid}", token=person.token))["id"] == cid
    for person in (w.owner_b, w.engineers[0], cw.agent, cw.other_service, cw.other_supervisor):
        expect_error(api.get(f"/api/v1/complaints/{cid}", token=person.token), 404, "NOT_FOUND")
    # An engineer who becomes its handler may read it.
    expect_ok(staff(api, w.supervisor, cid, "assign", {"handler_id": w.engineers[0].id}))
    expect_ok(api.get(f"/api/v1/complaints/{cid}", token=w.engineers[0].token))
    assert api.get(f"/api/v1/complaints/{cid}").status_code == 401


def test_staff_actions_refused_to_outsiders(api, db, factory):
    cw = cworld(factory, db)
    w = cw.w
    cid = new_complaint(api, cw)["id"]
    for action, payload in STAFF_ACTIONS:
        payload = payload or {"handler_id": cw.service.id}
        # Roles that hold none of the route's roles: 403 by role.
        expect_error(staff(api, w.owner_b, cid, action, payload), 403, "FORBIDDEN")
        expect_error(staff(api, cw.agent, cid, action, payload), 403, "FORBIDDEN")
        # Staff of another project: as if it did not exist.
        expect_error(staff(api, cw.other_service, cid, action, payload), 404, "NOT_FOUND")
        expect_error(staff(api, cw.other_supervisor, cid, action, payload), 404, "NOT_FOUND")
    # An engineer of the project who is not its handler.
    expect_error(staff(api, w.engineers[0], cid, "reply", {"text": "x"}), 404, "NOT_FOUND")
    # The owner may see it but not act as staff (route roles refuse first).
    expect_error(staff(api, w.owner_a, cid, "reply", {"text": "x"}), 403, "FORBIDDEN")
    r = row(db, cid)
    assert r["state"] == "submitted" and r["level"] == "normal" and r["handler_id"] is None
    assert [t["action"] for t in timeline(db, cid)] == ["submit"]


def test_handler_works_but_does_not_manage(api, db, factory):
    cw = cworld(factory, db)
    w = cw.w
    eng = w.engineers[0]
    cid = new_complaint(api, cw)["id"]
    expect_ok(staff(api, cw.service, cid, "assign", {"handler_id": eng.id}))
    expect_ok(staff(api, eng, cid, "reply", {"text": "我来处理"}))
    expect_ok(staff(api, eng, cid, "note", {"text": "需要协调"}))
    expect_error(staff(api, eng, cid, "level", {"level": "major"}), 403, "FORBIDDEN")
    expect_error(staff(api, eng, cid, "assign", {"handler_id": cw.service.id}), 403, "FORBIDDEN")
    expect_ok(staff(api, eng, cid, "resolve", {"resolution": "已协调"}))
    expect_error(staff(api, eng, cid, "close", {}), 403, "FORBIDDEN")
    assert row(db, cid)["level"] == "normal"


def test_owner_answers_only_their_own(api, db, factory):
    cw = cworld(factory, db)
    w = cw.w
    cid = new_complaint(api, cw)["id"]
    expect_ok(staff(api, w.supervisor, cid, "resolve", {"resolution": "已处理"}))
    expect_error(owner_act(api, w.owner_b, cid, "accept"), 404, "NOT_FOUND")
    expect_error(owner_act(api, w.owner_b, cid, "reject", {"reason": "不行"}), 404, "NOT_FOUND")
    expect_error(owner_act(api, w.supervisor, cid, "accept"), 403, "FORBIDDEN")
    expect_error(owner_act(api, cw.other_service, cid, "accept"), 404, "NOT_FOUND")
    assert row(db, cid)["state"] == "resolved"


def test_staff_list_scope_and_filters(api, db, factory):
    cw = cworld(factory, db)
    w = cw.w
    a = new_complaint(api, cw)["id"]
    b = new_complaint(api, cw, owner=w.owner_b, type="suggestion", category="property_service")["id"]
    expect_ok(staff(api, w.supervisor, a, "level", {"level": "major"}))
    path = f"/api/v1/admin/complaints?project={w.project_id}"
    for person in (w.supervisor, cw.service, cw.admin):
        assert [x["id"] for x in expect_ok(api.get(path, token=person.token))] == [b, a]
    assert [x["id"] for x in expect_ok(api.get(path + "&level=major", token=cw.service.token))] == [a]
    assert [x["id"] for x in expect_ok(api.get(path + "&type=suggestion", token=cw.service.token))] == [b]
    assert [x["id"] for x in expect_ok(api.get(path + "&category=noise", token=cw.service.token))] == [a]
    assert [x["id"] for x in expect_ok(api.get(path + f"&building={w.building_id}&state=submitted",
                                               token=cw.service.token))] == [b, a]
    assert expect_ok(api.get(path + "&overdue=true", token=cw.service.token)) == []
    expect_error(api.get(path + "&level=urgent", token=cw.service.token), 400, "INVALID_FIELD", "level")
    expect_error(api.get(path, token=cw.other_service.token), 403, "FORBIDDEN", "project")
    expect_error(api.get(path, token=cw.other_supervisor.token), 403, "FORBIDDEN", "project")
    expect_error(api.get(path, token=cw.agent.token), 403, "FORBIDDEN")
    expect_error(api.get(path, token=w.owner_a.token), 403, "FORBIDDEN")
    # An engineer sees only what is assigned to them.
    eng = w.engineers[0]
    assert expect_ok(api.get("/api/v1/admin/complaints", token=eng.token)) == []
    expect_ok(staff(api, w.supervisor, b, "assign", {"handler_id": eng.id}))
    assert [x["id"] for x in expect_ok(api.get("/api/v1/admin/complaints", token=eng.token))] == [b]
    # Another project's staff see none of them.
    assert expect_ok(api.get("/api/v1/admin/complaints", token=cw.other_supervisor.token)) == []


def race(fns):
    results = [None] * len(fns)
    start = threading.Barrier(len(fns))

    def run(i):
        start.wait()
        results[i] = fns[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_staff_resolving_at_once_one_wins(api, db, factory):
    cw = cworld(factory, db)
    cid = new_complaint(api, cw)["id"]
    results = race([lambda: staff(api, cw.w.supervisor, cid, "resolve", {"resolution": "方案甲"}),
                    lambda: staff(api, cw.service, cid, "resolve", {"resolution": "方案乙"})])
    assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
    loser = next(r for r in results if r.status_code == 409)
    expect_error(loser, 409, "CONFLICT")
    assert [t["action"] for t in timeline(db, cid)].count("resolve") == 1
    assert db.scalar("SELECT COUNT(*) FROM notification_events WHERE ref_type = 'complaint' AND ref_id = %s"
                     " AND kind = 'complaint.resolved'", (cid,)) == 1


def test_two_staff_closing_at_once_one_wins(api, db, factory):
    cw = cworld(factory, db)
    cid = new_complaint(api, cw, type="enquiry", category="sales_promise", content="交房时间？")["id"]
    results = race([lambda: staff(api, cw.w.supervisor, cid, "close", {}),
                    lambda: staff(api, cw.service, cid, "close", {})])
    assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
    assert [t["action"] for t in timeline(db, cid)].count("close") == 1
    assert row(db, cid)["state"] == "closed"
