"""Complaints from filing to closing: the owner files with photos, staff
reply (the owner sees it) and note (the owner does not), assign, set the
level, propose a resolution; the owner rejects (a new round) and accepts;
praise and enquiries close without a resolution; unanswered resolutions
close by themselves."""
import json

from complaints_support import (body, count, cworld, events, file_complaint, new_complaint, owner_act, row, staff,
                                timeline)
from conftest import expect_error, expect_ok, wait_for
from repairs_support import photo


def test_categories_are_the_project_copy_of_the_defaults(api, db, factory):
    cw = cworld(factory, db)
    items = expect_ok(api.get(f"/api/v1/complaint-categories?project={cw.w.project_id}", token=cw.w.owner_a.token))
    assert [c["name"] for c in items] == ["物业服务", "工程质量", "销售承诺", "噪音", "邻里", "其他"]
    # A second read copies nothing more.
    expect_ok(api.get(f"/api/v1/complaint-categories?project={cw.w.project_id}", token=cw.w.owner_a.token))
    assert count(db, "complaint_categories", "project_id = %s", (cw.w.project_id,)) == 6
    expect_error(api.get("/api/v1/complaint-categories", token=cw.w.owner_a.token), 400, "MISSING_FIELD", "project")
    expect_error(api.get("/api/v1/complaint-categories?project=99999999", token=cw.w.owner_a.token), 404, "NOT_FOUND",
                 "project")


def test_full_flow_reply_note_reject_accept(api, db, factory, stack):
    cw = cworld(factory, db)
    w = cw.w
    pic = photo(api, stack, w.owner_a)
    k = new_complaint(api, cw, photo_ids=[pic])
    cid = k["id"]
    assert k["state"] == "submitted" and k["state_label"] == "待受理" and k["type_label"] == "投诉"
    assert k["level"] == "normal" and k["level_label"] == "一般" and k["channel"] == "miniprogram"
    assert k["complaint_no"].startswith("TS") and k["complaint_no"].endswith(str(cid))
    assert [p["id"] for p in k["photos"]] == [pic] and k["photos"][0]["url"]
    assert "owner_user_id" not in k
    r = row(db, cid)
    assert r["user_id"] == w.owner_a.id and r["unit_id"] == w.unit_a and r["building_id"] == w.building_id
    assert r["project_id"] == w.project_id and r["filed_by"] is None and r["rejection_count"] == 0
    assert db.scalar("SELECT complaint_id FROM uploads WHERE id = %s", (pic,)) == cid

    # The owner's list.
    mine = expect_ok(api.get("/api/v1/complaints", token=w.owner_a.token))
    assert [x["id"] for x in mine] == [cid]
    assert expect_ok(api.get("/api/v1/complaints", token=w.owner_b.token)) == []

    # A supervisor: note (internal), reply (public), assign, level.
    sup = w.supervisor
    d = expect_ok(staff(api, sup, cid, "note", {"text": "先联系物业核实"}))
    assert d["state"] == "submitted" and d["timeline"][-1]["visibility"] == "internal"
    d = expect_ok(staff(api, sup, cid, "reply", {"text": "已收到，物业今晚上门沟通"}))
    assert d["state"] == "in_progress" and d["first_response_at"]
    assert len(events(db, cid, "complaint.reply", w.owner_a.id)) == 1
    payload = json.loads(events(db, cid, "complaint.reply", w.owner_a.id)[0]["payload"])
    assert payload["text"] == "已收到，物业今晚上门沟通" and payload["complaint_no"] == k["complaint_no"]
    eng = w.engineers[0]
    d = expect_ok(staff(api, sup, cid, "assign", {"handler_id": eng.id}))
    assert d["handler"]["id"] == eng.id
    assert len(events(db, cid, "complaint.assigned", eng.id)) == 1
    d = expect_ok(staff(api, sup, cid, "level", {"level": "hot"}))
    assert d["level"] == "hot" and d["level_label"] == "热点"
    expect_error(staff(api, sup, cid, "level", {"level": "hot"}), 409, "CONFLICT", "level")

    # The owner sees the reply, never the note.
    mine = expect_ok(api.get(f"/api/v1/complaints/{cid}", token=w.owner_a.token))
    notes = [e["note"] for e in mine["timeline"]]
    assert "已收到，物业今晚上门沟通" in notes and "先联系物业核实" not in notes
    assert all(e["visibility"] == "public" for e in mine["timeline"])
    assert "owner_user_id" not in mine
    # Staff see both.
    theirs = expect_ok(api.get(f"/api/v1/complaints/{cid}", token=sup.token))
    assert "先联系物业核实" in [e["note"] for e in theirs["timeline"]] and theirs["owner_user_id"] == w.owner_a.id

    # The handler proposes; the owner rejects: a new round.
    d = expect_ok(staff(api, eng, cid, "resolve", {"resolution": "已与楼上业主协商，晚九点后停止施工"}))
    assert d["state"] == "resolved" and d["resolution"].startswith("已与楼上")
    assert len(events(db, cid, "complaint.resolved", w.owner_a.id)) == 1
    expect_error(staff(api, eng, cid, "reply", {"text": "x"}), 409, "CONFLICT")
    d = expect_ok(owner_act(api, w.owner_a, cid, "reject", {"reason": "昨晚十点还在施工"}))
    assert d["state"] == "in_progress" and d["rejection_count"] == 1
    r = row(db, cid)
    assert r["state"] == "in_progress" and r["rejection_count"] == 1 and r["resolution"] is None
    assert len(events(db, cid, "complaint.rejected", eng.id)) == 1
    expect_error(owner_act(api, w.owner_a, cid, "reject", {"reason": "again"}), 409, "CONFLICT")

    # Second round: proposed, accepted with a rating.
    expect_ok(staff(api, eng, cid, "resolve", {"resolution": "物业每晚巡查"}))
    d = expect_ok(owner_act(api, w.owner_a, cid, "accept", {"rating": 4, "comment": "好"}))
    assert d["state"] == "closed" and d["close_reason"] == "accepted" and d["rating"] == 4
    r = row(db, cid)
    assert r["state"] == "closed" and r["closed_at"] is not None and r["close_reason"] == "accepted"
    assert [t["action"] for t in timeline(db, cid)] == [
        "submit", "note", "reply", "assign", "level", "resolve", "reject", "resolve", "accept"]
    # Audit rows for the staff changes.
    actions = [a["action"] for a in db.query(
        "SELECT action FROM audit_log WHERE target_type = 'complaint' AND target_id = %s ORDER BY id", (cid,))]
    assert actions == ["complaint.note", "complaint.reply", "complaint.assign", "complaint.level",
                       "complaint.resolve", "complaint.resolve"]


def test_filing_bad_input_writes_nothing(api, db, factory):
    cw = cworld(factory, db)
    w = cw.w
    before = count(db, "complaints", "user_id = %s", (w.owner_a.id,))
    cases = [
        ({"type": "rant"}, 400, "INVALID_FIELD", "type"),
        ({"type": None}, 400, "MISSING_FIELD", "type"),
        ({"category": None}, 400, "MISSING_FIELD", "category"),
        ({"content": ""}, 400, "INVALID_FIELD", "content"),
        ({"content": "长" * 1001}, 400, "INVALID_FIELD", "content"),
        ({"unit_id": "x"}, 400, "INVALID_FIELD", "unit_id"),
        ({"unit_id": None}, 400, "MISSING_FIELD", "unit_id"),
        ({"photo_ids": "1"}, 400, "INVALID_FIELD", "photo_ids"),
        ({"photo_ids": [999999999]}, 422, "UNPROCESSABLE", "photo_ids"),
        ({"category": "no_such"}, 400, "INVALID_FIELD", "category"),
        ({"unit_id": w.unit_b}, 404, "NOT_FOUND", "unit_id"),
    ]
    for change, status, code, field in cases:
        b = body(cw)
        for key, value in change.items():
            if value is None:
                b.pop(key)
            else:
                b[key] = value
        if change.get("unit_id", 0) is None:
            b.pop("project_id", None)
        r = file_complaint(api, w.owner_a.token, b)
        err = expect_error(r, status, code)
        assert err.get("field") == field, (change, err)
    r = api.post("/api/v1/complaints", token=w.owner_a.token, json=body(cw))
    expect_error(r, 400, "MISSING_FIELD", "Idempotency-Key")
    assert count(db, "complaints", "user_id = %s", (w.owner_a.id,)) == before
    # Without a unit: the project, where the owner has a unit.
    k = new_complaint(api, cw, unit=0, project_id=w.project_id, type="suggestion", category="property_service")
    assert k["unit"] is None and row(db, k["id"])["building_id"] is None
    r = file_complaint(api, w.owner_a.token, body(cw, unit=0, project_id=cw.other_project))
    expect_error(r, 404, "NOT_FOUND", "project_id")


def test_staff_bad_input_changes_nothing(api, db, factory):
    cw = cworld(factory, db)
    cid = new_complaint(api, cw)["id"]
    sup = cw.w.supervisor
    expect_error(staff(api, sup, cid, "reply", {}), 400, "MISSING_FIELD", "text")
    expect_error(staff(api, sup, cid, "reply", {"text": "x" * 1001}), 400, "INVALID_FIELD", "text")
    expect_error(staff(api, sup, cid, "level", {"level": "urgent"}), 400, "INVALID_FIELD", "level")
    expect_error(staff(api, sup, cid, "assign", {"handler_id": "x"}), 400, "INVALID_FIELD", "handler_id")
    expect_error(staff(api, sup, cid, "assign", {"handler_id": cw.w.owner_b.id}), 422, "UNPROCESSABLE", "handler_id")
    expect_error(staff(api, sup, cid, "assign", {"handler_id": cw.other_service.id}), 422, "UNPROCESSABLE",
                 "handler_id")
    expect_error(staff(api, sup, cid, "resolve", {}), 400, "MISSING_FIELD", "resolution")
    expect_error(owner_act(api, cw.w.owner_a, cid, "reject", {}), 400, "MISSING_FIELD", "reason")
    expect_error(owner_act(api, cw.w.owner_a, cid, "accept", {"rating": 6}), 400, "INVALID_FIELD", "rating")
    r = row(db, cid)
    assert r["state"] == "submitted" and r["handler_id"] is None and r["level"] == "normal"
    assert [t["action"] for t in timeline(db, cid)] == ["submit"]
    assert count(db, "audit_log", "target_type = 'complaint' AND target_id = %s", (cid,)) == 0


def test_praise_and_enquiry_close_without_resolution(api, db, factory):
    cw = cworld(factory, db)
    praise = new_complaint(api, cw, type="praise", category="property_service", content="保安很负责")
    d = expect_ok(staff(api, cw.service, praise["id"], "close", {"reason": "已转达表扬"}))
    assert d["state"] == "closed" and d["close_reason"] == "staff"
    assert len(events(db, praise["id"], "complaint.closed", cw.w.owner_a.id)) == 1
    # A complaint closes only once resolved.
    k = new_complaint(api, cw)
    expect_error(staff(api, cw.service, k["id"], "close", {}), 409, "CONFLICT")
    expect_ok(staff(api, cw.service, k["id"], "resolve", {"resolution": "已处理"}))
    assert expect_ok(staff(api, cw.service, k["id"], "close", {}))["state"] == "closed"
    expect_error(staff(api, cw.service, k["id"], "close", {}), 409, "CONFLICT")


def test_unanswered_resolution_closes_by_itself(api, db, factory, stack):
    cw = cworld(factory, db)
    k = new_complaint(api, cw)
    expect_ok(staff(api, cw.w.supervisor, k["id"], "resolve", {"resolution": "已处理"}))
    db.exec("UPDATE complaints SET resolved_at = NOW(3) - INTERVAL 8 DAY WHERE id = %s", (k["id"],))
    stack.start_gateway({"complaint_sweep_interval_ms": 100}, name="complaint-sweeper")
    wait_for(lambda: row(db, k["id"])["state"] == "closed", what="auto-close")
    r = row(db, k["id"])
    assert r["close_reason"] == "auto"
    assert timeline(db, k["id"])[-1]["actor_role"] == "system"
    assert len(events(db, k["id"], "complaint.closed", cw.w.owner_a.id)) == 1
