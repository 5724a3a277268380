"""Group complaints (群诉): N-1 complaints of one category about one building
make no incident, the Nth makes one and alerts the supervisors and project
managers once, later ones join it; complaints arriving together make one
incident; staff link, unlink and resolve incidents by hand."""
import json
import threading

from complaints_support import body, cworld, events, file_complaint, new_complaint, owner_act, row, staff
from conftest import expect_error, expect_ok


def more_owners(factory, db, cw, n):
    """n more owners (Person, unit) in the world's building."""
    from repairs_support import Person
    out = []
    for _ in range(n):
        unit = factory.unit(building_id=cw.w.building_id)
        uid, token = factory.user(phone=factory.owner(unit))
        out.append((Person(uid, token), unit))
    return out


def incident_alerts(db, project_id):
    return db.query("SELECT * FROM notification_events WHERE kind = 'complaint.incident' AND project_id = %s"
                    " ORDER BY id", (project_id,))


def test_threshold_makes_one_incident_and_alerts_once(api, db, factory):
    cw = cworld(factory, db)
    w = cw.w
    people = more_owners(factory, db, cw, 2)
    a = new_complaint(api, cw)["id"]
    b = new_complaint(api, cw, owner=w.owner_b)["id"]
    # A suggestion of the same category, and a complaint of another category, do not count.
    new_complaint(api, cw, type="suggestion")
    new_complaint(api, cw, category="neighbours")
    assert row(db, a)["incident_id"] is None and row(db, b)["incident_id"] is None
    assert db.scalar("SELECT COUNT(*) FROM complaint_incidents WHERE project_id = %s", (w.project_id,)) == 0
    assert incident_alerts(db, w.project_id) == []

    c = new_complaint(api, cw, owner=people[0][0], unit=people[0][1])["id"]
    inc = row(db, c)["incident_id"]
    assert inc and row(db, a)["incident_id"] == inc and row(db, b)["incident_id"] == inc
    i = db.one("SELECT * FROM complaint_incidents WHERE id = %s", (inc,))
    assert i["detected"] == 1 and i["state"] == "open" and i["building_id"] == w.building_id
    alerts = incident_alerts(db, w.project_id)
    # The supervisor and the project manager (a supervisor listed as manager), once each.
    assert sorted(e["user_id"] for e in alerts) == sorted([w.supervisor.id, w.manager.id])
    assert json.loads(alerts[0]["payload"])["incident_id"] == inc

    # A fourth joins, without a new alert.
    d = new_complaint(api, cw, owner=people[1][0], unit=people[1][1])["id"]
    assert row(db, d)["incident_id"] == inc
    assert len(incident_alerts(db, w.project_id)) == 2
    detail = expect_ok(api.get(f"/api/v1/admin/complaint-incidents/{inc}", token=w.supervisor.token))
    assert detail["complaint_count"] == 4 and sorted(x["id"] for x in detail["complaints"]) == sorted([a, b, c, d])


def test_concurrent_arrivals_make_one_incident(api, db, factory):
    cw = cworld(factory, db)
    w = cw.w
    new_complaint(api, cw)
    people = more_owners(factory, db, cw, 3)
    start = threading.Barrier(3)
    results = [None] * 3

    def run(i):
        person, unit = people[i]
        start.wait()
        results[i] = file_complaint(api, person.token, body(cw, unit=unit))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in results] == [201, 201, 201], [r.text for r in results]
    assert db.scalar("SELECT COUNT(*) FROM complaint_incidents WHERE project_id = %s", (w.project_id,)) == 1
    assert db.scalar("SELECT COUNT(DISTINCT incident_id) FROM complaints WHERE project_id = %s AND incident_id"
                     " IS NOT NULL", (w.project_id,)) == 1
    assert db.scalar("SELECT COUNT(*) FROM complaints WHERE project_id = %s AND incident_id IS NULL",
                     (w.project_id,)) == 0
    assert len(incident_alerts(db, w.project_id)) == 2


def test_link_unlink_and_resolve_by_hand(api, db, factory):
    cw = cworld(factory, db)
    w = cw.w
    a = new_complaint(api, cw, category="property_service")["id"]
    b = new_complaint(api, cw, owner=w.owner_b, category="sales_promise")["id"]
    path = "/api/v1/admin/complaint-incidents"
    expect_error(api.post(path, token=cw.service.token, json={"project_id": w.project_id}), 400, "MISSING_FIELD",
                 "title")
    expect_error(api.post(path, token=cw.other_service.token, json={"project_id": w.project_id, "title": "x"}), 403,
                 "FORBIDDEN", "project_id")
    expect_error(api.post(path, token=w.engineers[0].token, json={"project_id": w.project_id, "title": "x"}), 403,
                 "FORBIDDEN")
    assert db.scalar("SELECT COUNT(*) FROM complaint_incidents WHERE project_id = %s", (w.project_id,)) == 0
    inc = expect_ok(api.post(path, token=cw.service.token, json={"project_id": w.project_id, "title": "交付延期"}),
                    201)
    iid = inc["id"]
    assert inc["detected"] is False and inc["complaints"] == []
    for cid in (a, b):
        expect_ok(api.post(f"{path}/{iid}/link", token=cw.service.token, json={"complaint_id": cid}))
    expect_error(api.post(f"{path}/{iid}/link", token=cw.service.token, json={"complaint_id": a}), 409, "CONFLICT",
                 "complaint_id")
    expect_error(api.post(f"{path}/{iid}/link", token=cw.other_supervisor.token, json={"complaint_id": a}), 404,
                 "NOT_FOUND")
    other_project_complaint = db.exec(
        "INSERT INTO complaints (project_id, user_id, type, category_id, content) SELECT %s, %s, 'complaint', id, 'x'"
        " FROM complaint_categories WHERE project_id = 0 LIMIT 1", (cw.other_project, w.owner_a.id))
    expect_error(api.post(f"{path}/{iid}/link", token=cw.admin.token, json={"complaint_id": other_project_complaint}),
                 422, "UNPROCESSABLE", "complaint_id")
    c = new_complaint(api, cw, category="other")["id"]
    expect_ok(api.post(f"{path}/{iid}/link", token=w.supervisor.token, json={"complaint_id": c}))
    d = expect_ok(api.post(f"{path}/{iid}/unlink", token=w.supervisor.token, json={"complaint_id": c}))
    assert sorted(x["id"] for x in d["complaints"]) == sorted([a, b]) and row(db, c)["incident_id"] is None
    listed = expect_ok(api.get(f"{path}?project={w.project_id}", token=cw.service.token))
    assert [x["id"] for x in listed] == [iid]
    expect_error(api.get(f"{path}?project={w.project_id}", token=cw.other_service.token), 403, "FORBIDDEN", "project")

    # Resolving proposes on each linked complaint; each owner answers their own.
    d = expect_ok(api.post(f"{path}/{iid}/resolve", token=w.supervisor.token, json={"resolution": "统一延期补偿"}))
    assert d["state"] == "resolved" and all(x["state"] == "resolved" for x in d["complaints"])
    assert len(events(db, a, "complaint.resolved", w.owner_a.id)) == 1
    assert len(events(db, b, "complaint.resolved", w.owner_b.id)) == 1
    assert row(db, c)["state"] == "submitted"
    expect_error(api.post(f"{path}/{iid}/resolve", token=w.supervisor.token, json={"resolution": "again"}), 409,
                 "CONFLICT")
    expect_ok(owner_act(api, w.owner_a, a, "accept"))
    expect_ok(owner_act(api, w.owner_b, b, "reject", {"reason": "补偿太少"}))
    assert row(db, a)["state"] == "closed" and row(db, b)["state"] == "in_progress"
    audit = [x["action"] for x in db.query(
        "SELECT action FROM audit_log WHERE target_type = 'complaint_incident' AND target_id = %s ORDER BY id",
        (iid,))]
    assert audit == ["complaint_incident.create", "complaint_incident.link", "complaint_incident.link",
                     "complaint_incident.link", "complaint_incident.unlink", "complaint_incident.resolve"]
