"""The service desk files a complaint for a caller (channel, filed_by; the
owner is told, sees it marked as filed for them, confirms and corrects it);
a complaint opens a repair ticket and the two name each other; a project's
complaint categories and their clocks are configured by its supervisors."""
import secrets

from complaints_support import count, cworld, events, new_complaint, owner_act, row, staff, timeline
from conftest import expect_error, expect_ok


def desk_file(api, person, payload, key=None):
    return api.post("/api/v1/service/complaints", token=person.token, json=payload,
                    headers={"Idempotency-Key": key or secrets.token_hex(12)})


def desk_body(cw, **extra):
    b = {"user_id": cw.w.owner_a.id, "unit_id": cw.w.unit_a, "type": "complaint", "category": "property_service",
         "content": "业主来电：电梯经常停运", "channel": "hotline"}
    b.update(extra)
    return b


def test_desk_files_for_the_owner_who_confirms(api, db, factory):
    cw = cworld(factory, db)
    w = cw.w
    d = expect_ok(desk_file(api, cw.service, desk_body(cw)), 201)
    cid = d["id"]
    assert d["channel"] == "hotline" and d["channel_label"] == "客服热线" and d["filed_for_owner"] is True
    assert d["confirmed"] is False and d["filed_by"] == cw.service.id
    r = row(db, cid)
    assert r["user_id"] == w.owner_a.id and r["filed_by"] == cw.service.id and r["channel"] == "hotline"
    assert len(events(db, cid, "complaint.filed_for_you", w.owner_a.id)) == 1
    assert db.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'complaint.file_for_owner' AND target_id = %s",
                     (cid,)) == 1
    # The owner sees it, marked, and confirms it with their own words and category.
    mine = expect_ok(api.get("/api/v1/complaints", token=w.owner_a.token))
    assert mine[0]["id"] == cid and mine[0]["filed_for_owner"] is True and mine[0]["confirmed"] is False
    expect_error(owner_act(api, w.owner_a, cid, "confirm", {"category": "nope"}), 400, "INVALID_FIELD", "category")
    assert row(db, cid)["owner_confirmed_at"] is None
    expect_error(owner_act(api, w.owner_b, cid, "confirm", {}), 404, "NOT_FOUND")
    d = expect_ok(owner_act(api, w.owner_a, cid, "confirm", {"content": "电梯一周停了三次", "category": "construction_quality"}))
    assert d["confirmed"] is True and d["content"] == "电梯一周停了三次" and d["category"]["code"] == "construction_quality"
    tl = timeline(db, cid)
    assert [t["action"] for t in tl] == ["submit", "correct", "confirm"]
    assert tl[1]["note"] == "业主来电：电梯经常停运"
    expect_error(owner_act(api, w.owner_a, cid, "confirm", {}), 409, "CONFLICT")
    # Their own complaint needs no confirmation.
    own = new_complaint(api, cw)["id"]
    expect_error(owner_act(api, w.owner_a, own, "confirm", {}), 409, "CONFLICT")
    # And they answer its resolution like their own.
    expect_ok(staff(api, cw.service, cid, "resolve", {"resolution": "已报修电梯公司"}))
    assert expect_ok(owner_act(api, w.owner_a, cid, "accept", {"rating": 5}))["state"] == "closed"


def test_desk_filing_refused_and_bad_input(api, db, factory):
    cw = cworld(factory, db)
    w = cw.w
    before = count(db)
    expect_error(desk_file(api, cw.other_service, desk_body(cw)), 403, "FORBIDDEN", "unit_id")
    expect_error(desk_file(api, w.supervisor, desk_body(cw)), 403, "FORBIDDEN")
    expect_error(desk_file(api, w.owner_a, desk_body(cw)), 403, "FORBIDDEN")
    expect_error(desk_file(api, cw.agent, desk_body(cw)), 403, "FORBIDDEN")
    expect_error(desk_file(api, cw.service, desk_body(cw, channel="miniprogram")), 400, "INVALID_FIELD", "channel")
    expect_error(desk_file(api, cw.service, desk_body(cw, channel=None)), 400, "MISSING_FIELD", "channel")
    b = desk_body(cw)
    b.pop("user_id")
    expect_error(desk_file(api, cw.service, b), 400, "MISSING_FIELD", "user_id")
    expect_error(desk_file(api, cw.service, desk_body(cw, user_id=w.owner_b.id)), 404, "NOT_FOUND", "unit_id")
    expect_error(desk_file(api, cw.service, desk_body(cw, unit_id=99999999)), 404, "NOT_FOUND", "unit_id")
    expect_error(desk_file(api, cw.service, desk_body(cw, category="x")), 400, "INVALID_FIELD", "category")
    assert count(db) == before
    assert count(db, "audit_log", "action = 'complaint.file_for_owner' AND actor_user_id = %s",
                 (cw.service.id,)) == 0


def test_complaint_opens_a_repair_ticket(api, db, factory):
    cw = cworld(factory, db)
    w = cw.w
    cid = new_complaint(api, cw, category="construction_quality", content="卫生间漏水到楼下，物业一直不处理")["id"]
    expect_error(staff(api, cw.other_supervisor, cid, "repair", {"category": w.category}), 404, "NOT_FOUND")
    expect_error(staff(api, w.supervisor, cid, "repair", {}), 400, "MISSING_FIELD", "category")
    expect_error(staff(api, w.supervisor, cid, "repair", {"category": "nope"}), 400, "INVALID_FIELD", "category")
    assert row(db, cid)["repair_ticket_id"] is None
    d = expect_ok(staff(api, w.supervisor, cid, "repair", {"category": w.category}))
    tid = d["repair"]["id"]
    assert d["repair"]["ticket_no"].startswith("BX") and d["repair"]["state"] == "dispatched"
    t = db.one("SELECT * FROM repair_tickets WHERE id = %s", (tid,))
    assert t["user_id"] == w.owner_a.id and t["unit_id"] == w.unit_a
    assert t["description"] == "卫生间漏水到楼下，物业一直不处理" and t["engineer_id"] == w.engineers[0].id
    assert row(db, cid)["repair_ticket_id"] == tid
    # The owner sees the ticket from the complaint, and the ticket in their repairs.
    mine = expect_ok(api.get(f"/api/v1/complaints/{cid}", token=w.owner_a.token))
    assert mine["repair"]["id"] == tid
    assert tid in [x["id"] for x in expect_ok(api.get("/api/v1/repairs", token=w.owner_a.token))]
    # The ticket names its complaint, for the owner and for staff.
    assert expect_ok(api.get(f"/api/v1/repairs/{tid}", token=w.owner_a.token))["complaint_id"] == cid
    assert expect_ok(api.get(f"/api/v1/repairs/{tid}", token=w.supervisor.token))["complaint_id"] == cid
    expect_error(staff(api, w.supervisor, cid, "repair", {"category": w.category}), 409, "CONFLICT")
    # A complaint with no unit has nothing to repair.
    nounit = new_complaint(api, cw, unit=0, project_id=w.project_id)["id"]
    expect_error(staff(api, w.supervisor, nounit, "repair", {"category": w.category}), 409, "CONFLICT")


def test_category_configuration(api, db, factory):
    cw = cworld(factory, db)
    w = cw.w
    path = "/api/v1/admin/complaint-categories"
    items = expect_ok(api.get(f"{path}?project={w.project_id}", token=w.supervisor.token))
    noise = next(c for c in items if c["code"] == "noise")
    assert noise["respond"]["normal_s"] == 86400 and noise["business_hours"] is False
    expect_error(api.get(f"{path}?project={w.project_id}", token=cw.other_supervisor.token), 403, "FORBIDDEN",
                 "project")
    expect_error(api.get(f"{path}?project={w.project_id}", token=cw.service.token), 403, "FORBIDDEN")
    d = expect_ok(api.request("PATCH", f"{path}/{noise['id']}", token=w.supervisor.token,
                            json={"respond_major_minutes": 30, "business_hours": True}))
    assert d["respond"]["major_s"] == 1800 and d["business_hours"] is True
    expect_error(api.request("PATCH", f"{path}/{noise['id']}", token=w.supervisor.token, json={"respond_major_minutes": 0}),
                 400, "INVALID_FIELD", "respond_major_minutes")
    expect_error(api.request("PATCH", f"{path}/{noise['id']}", token=w.supervisor.token, json={"colour": "red"}), 400,
                 "INVALID_FIELD", "colour")
    expect_error(api.request("PATCH", f"{path}/{noise['id']}", token=cw.other_supervisor.token, json={"name": "x"}), 404,
                 "NOT_FOUND")
    assert db.scalar("SELECT respond_major_s FROM complaint_categories WHERE id = %s", (noise["id"],)) == 1800
    created = expect_ok(api.post(path, token=w.supervisor.token,
                                 json={"project_id": w.project_id, "code": "parking", "name": "停车"}), 201)
    assert created["project_id"] == w.project_id and created["resolve"]["normal_s"] == 604800
    expect_error(api.post(path, token=w.supervisor.token,
                          json={"project_id": w.project_id, "code": "parking", "name": "停车"}), 409, "DUPLICATE", "code")
    expect_error(api.post(path, token=w.supervisor.token, json={"project_id": w.project_id, "code": "Bad!",
                                                                "name": "x"}), 400, "INVALID_FIELD", "code")
    # The owner can file with it; retired, not any more.
    assert new_complaint(api, cw, category="parking")["category"]["name"] == "停车"
    expect_ok(api.request("PATCH", f"{path}/{created['id']}", token=w.supervisor.token, json={"active": False}))
    from complaints_support import body, file_complaint
    expect_error(file_complaint(api, w.owner_a.token, body(cw, category="parking")), 400, "INVALID_FIELD", "category")
    audit = [a["action"] for a in db.query("SELECT action FROM audit_log WHERE target_type = 'complaint_category'"
                                           " AND project_id = %s ORDER BY id", (w.project_id,))]
    assert audit == ["complaint_category.update", "complaint_category.create", "complaint_category.update"]
