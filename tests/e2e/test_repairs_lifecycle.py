"""Repair tickets from filing to closing: dispatch, the engineer's steps,
reopen (返工), rating with a follow-up, cancel, decline and reassignment,
warranty, the content check, the lists and their cursor."""
import datetime
import json

import requests

from conftest import expect_error, expect_ok
from repairs_support import (act, events, file_ticket, new_ticket, photo, ticket_body, ticket_row, timeline, world)


def test_categories_are_listed_with_warranty_and_clocks(api, factory):
    _, token = factory.user()
    items = expect_ok(api.get("/api/v1/repair-categories", token=token))
    by_code = {c["code"]: c for c in items}
    assert by_code["waterproofing"]["name"] == "防水渗漏"
    assert by_code["waterproofing"]["warranty_months"] == 60
    assert by_code["plumbing_electric"]["warranty_months"] == 24
    assert by_code["public_area"]["warranty_months"] is None
    assert by_code["plumbing_electric"]["accept_within_s"] > 0
    assert api.get("/api/v1/repair-categories").status_code == 401


def test_full_lifecycle_with_reopen_and_rating(api, db, factory, stack):
    w = world(factory, db)
    eng = w.engineers[0]
    photos = [photo(api, stack, w.owner_a) for _ in range(2)]

    # Filing: stored, dispatched to the group's engineer in the same transaction.
    t = new_ticket(api, w, photo_ids=photos, contact_phone="13900001111", preferred_time="周六上午")
    tid = t["id"]
    assert t["state"] == "dispatched" and t["state_label"] == "已派单"
    assert t["engineer"] == {"id": eng.id, "name": "师傅0"}
    assert t["ticket_no"].startswith("BX") and t["ticket_no"].endswith(str(tid))
    assert t["photo_ids"] == photos
    row = ticket_row(db, tid)
    assert row["state"] == "dispatched" and row["engineer_id"] == eng.id and row["content_check"] == "pass"
    assert db.scalar("SELECT COUNT(*) FROM uploads WHERE ticket_id = %s", (tid,)) == 2
    assert [(r["action"], r["to_state"]) for r in timeline(db, tid)] == [("submit", "submitted"),
                                                                       ("dispatch", "dispatched")]
    dispatched = events(db, tid, "repair.dispatched", w.owner_a.id)
    assert len(dispatched) == 1 and len(events(db, tid, "repair.assigned", eng.id)) == 1
    payload = json.loads(dispatched[0]["payload"])
    assert payload["ticket_no"] == t["ticket_no"] and payload["state_label"] == "已派单"
    assert payload["engineer_name"] == "师傅0" and payload["category"] and payload["time"]

    # The engineer's list and steps.
    work = expect_ok(api.get("/api/v1/work/repairs", token=eng.token))
    assert [x["id"] for x in work] == [tid]
    d = expect_ok(act(api, eng, tid, "accept"))
    assert d["state"] == "accepted" and d["accepted_at"]
    assert len(events(db, tid, "repair.accepted", w.owner_a.id)) == 1
    assert expect_ok(act(api, eng, tid, "start"))["state"] == "in_progress"
    fix_photo = photo(api, stack, eng)
    d = expect_ok(act(api, eng, tid, "resolve", {"note": "更换地漏密封圈", "photo_ids": [fix_photo]}))
    assert d["state"] == "resolved" and d["state_label"] == "待评价"
    assert d["timeline"][-1]["photos"][0]["id"] == fix_photo
    assert len(events(db, tid, "repair.resolved", w.owner_a.id)) == 1

    # Reopen: back to the same engineer, rework counted, clocks restarted.
    before = ticket_row(db, tid)
    d = expect_ok(act(api, w.owner_a, tid, "reopen", {"reason": "还在漏水"}))
    assert d["state"] == "dispatched" and d["rework_count"] == 1 and d["engineer"]["id"] == eng.id
    after = ticket_row(db, tid)
    assert after["rework_count"] == 1 and after["clock_started_at"] > before["clock_started_at"]
    assert after["resolved_at"] is None
    assert len(events(db, tid, "repair.assigned", eng.id)) == 2
    for step in ("accept", "start"):
        expect_ok(act(api, eng, tid, step))
    expect_ok(act(api, eng, tid, "resolve", {"note": "重做防水层"}))

    # A poor rating closes the ticket and opens a follow-up for the supervisor.
    d = expect_ok(act(api, w.owner_a, tid, "rating", {"speed": 2, "attitude": 2, "quality": 2, "comment": "修了两次"}))
    assert d["state"] == "closed" and d["state_label"] == "已完成"
    assert d["rating"]["score"] == 2 and d["rating"]["comment"] == "修了两次"
    row = ticket_row(db, tid)
    assert row["state"] == "closed" and row["rating_score"] == 2 and row["rated_engineer_id"] == eng.id
    f = db.one("SELECT * FROM followups WHERE kind = 'repair' AND subject_id = %s", (tid,))
    assert f["status"] == "open" and f["score"] == 2 and f["project_id"] == w.project_id
    assert f["reason"] == "poor_rating"
    assert len(events(db, tid, "repair.followup", w.supervisor.id)) == 1
    expect_error(act(api, w.owner_a, tid, "rating", {"speed": 5, "attitude": 5, "quality": 5}), 409, "CONFLICT")
    assert ticket_row(db, tid)["rating_score"] == 2

    # Every transition is one timeline row.
    assert [r["action"] for r in timeline(db, tid)] == [
        "submit", "dispatch", "accept", "start", "resolve", "reopen", "accept", "start", "resolve", "rate"]

    # The owner's detail: timeline, engineer, due times, photos with working signed URLs.
    d = expect_ok(api.get(f"/api/v1/repairs/{tid}", token=w.owner_a.token))
    assert len(d["timeline"]) == 10 and d["engineer"]["name"] == "师傅0"
    assert d["due"]["accept_by"] and d["due"]["resolve_by"]
    assert d["contact_phone"] == "13900001111" and d["preferred_time"] == "周六上午"
    assert [p["id"] for p in d["photos"]] == photos
    assert "content_check" not in d and "escalations" not in d
    img = requests.get(stack.url + d["photos"][0]["url"], verify=stack.ca_cert, timeout=10)
    assert img.status_code == 200 and img.content[:2] == b"\xff\xd8"
    thumb = requests.get(stack.url + d["photos"][0]["thumb_url"], verify=stack.ca_cert, timeout=10)
    assert thumb.status_code == 200

    # The supervisor's view adds the follow-up; they close it.
    d = expect_ok(api.get(f"/api/v1/repairs/{tid}", token=w.supervisor.token))
    assert d["followup"]["status"] == "open" and d["content_check"] == "pass"
    fl = expect_ok(api.get(f"/api/v1/admin/repair-followups?project={w.project_id}", token=w.supervisor.token))
    assert [x["ticket_id"] for x in fl] == [tid]
    expect_ok(api.post(f"/api/v1/admin/repair-followups/{f['id']}/done", token=w.supervisor.token,
                       json={"note": "已上门回访"}))
    assert db.scalar("SELECT status FROM followups WHERE id = %s", (f["id"],)) == "done"
    expect_error(api.post(f"/api/v1/admin/repair-followups/{f['id']}/done", token=w.supervisor.token,
                          json={"note": "again"}), 409, "CONFLICT")


def test_good_rating_closes_without_follow_up(api, db, factory):
    w = world(factory, db)
    eng = w.engineers[0]
    tid = new_ticket(api, w)["id"]
    for step, body in (("accept", None), ("start", None), ("resolve", {"note": "ok"})):
        expect_ok(act(api, eng, tid, step, body))
    expect_ok(act(api, w.owner_a, tid, "rating", {"speed": 5, "attitude": 5, "quality": 5}))
    assert ticket_row(db, tid)["state"] == "closed"
    assert db.scalar("SELECT COUNT(*) FROM followups WHERE kind = 'repair' AND subject_id = %s"
                     " AND reason = 'poor_rating'", (tid,)) == 0
    assert events(db, tid, "repair.followup") == []


def test_reopen_window_is_enforced(api, db, factory):
    w = world(factory, db)
    eng = w.engineers[0]
    tid = new_ticket(api, w)["id"]
    for step, body in (("accept", None), ("start", None), ("resolve", {"note": "ok"})):
        expect_ok(act(api, eng, tid, step, body))
    db.exec("UPDATE repair_tickets SET resolved_at = NOW(3) - INTERVAL 8 DAY WHERE id = %s", (tid,))
    expect_error(act(api, w.owner_a, tid, "reopen", {"reason": "又坏了"}), 409, "CONFLICT")
    # resolved 8 days ago: the satisfaction sweeper may close it unrated meanwhile
    assert ticket_row(db, tid)["state"] in ("resolved", "closed")
    expect_error(act(api, w.owner_a, tid, "reopen", {}), 400, "MISSING_FIELD", "reason")


def test_cancel_before_work_starts_only(api, db, factory):
    w = world(factory, db)
    eng = w.engineers[0]
    tid = new_ticket(api, w)["id"]
    d = expect_ok(act(api, w.owner_a, tid, "cancel", {"reason": "自己修好了"}))
    assert d["state"] == "cancelled" and d["cancelled_at"]
    assert timeline(db, tid)[-1]["note"] == "自己修好了"

    tid = new_ticket(api, w)["id"]
    expect_ok(act(api, eng, tid, "accept"))
    expect_ok(act(api, eng, tid, "start"))
    err = expect_error(act(api, w.owner_a, tid, "cancel"), 409, "CONFLICT")
    assert "in_progress" in err["message"] and "处理中" in err["message"]
    assert ticket_row(db, tid)["state"] == "in_progress"
    assert len(timeline(db, tid)) == 4


def test_decline_redispatches_never_to_the_same_engineer(api, db, factory):
    w = world(factory, db, engineers=2)
    e0, e1 = w.engineers
    tid = new_ticket(api, w)["id"]
    first = ticket_row(db, tid)["engineer_id"]
    assert first == e0.id  # equal load: the lower id
    d = expect_ok(act(api, e0, tid, "decline", {"reason": "不在片区"}))
    assert d["state"] == "dispatched"
    assert ticket_row(db, tid)["engineer_id"] == e1.id
    assert db.scalar("SELECT reason FROM repair_declines WHERE ticket_id = %s AND engineer_id = %s",
                     (tid, e0.id)) == "不在片区"
    assert [r["action"] for r in timeline(db, tid)][-2:] == ["decline", "dispatch"]
    assert len(events(db, tid, "repair.assigned", e1.id)) == 1
    # e0 no longer sees it.
    expect_error(api.get(f"/api/v1/repairs/{tid}", token=e0.token), 404, "NOT_FOUND")

    # The last eligible engineer declines: it stays submitted, the supervisor is told.
    expect_ok(act(api, e1, tid, "decline", {"reason": "休假"}))
    row = ticket_row(db, tid)
    assert row["state"] == "submitted" and row["engineer_id"] is None
    told = events(db, tid, "repair.escalated", w.supervisor.id)
    assert len(told) == 1 and '"no_engineer"' in told[0]["payload"]

    # The supervisor assigns someone explicitly (even one who declined).
    expect_error(api.post(f"/api/v1/repairs/{tid}/assign", token=w.supervisor.token,
                          json={"engineer_id": w.owner_b.id}), 422, "UNPROCESSABLE", "engineer_id")
    d = expect_ok(api.post(f"/api/v1/repairs/{tid}/assign", token=w.supervisor.token, json={"engineer_id": e0.id}))
    assert d["state"] == "dispatched" and d["engineer"]["id"] == e0.id
    assert timeline(db, tid)[-1]["action"] == "assign" and timeline(db, tid)[-1]["actor_user_id"] == w.supervisor.id
    assert len(events(db, tid, "repair.assigned", e0.id)) == 2
    expect_error(api.post(f"/api/v1/repairs/{tid}/assign", token=w.supervisor.token, json={"engineer_id": e0.id}),
                 409, "CONFLICT", "engineer_id")


def test_least_loaded_engineer_is_picked(api, db, factory):
    w = world(factory, db, engineers=2)
    e0, e1 = w.engineers
    a = new_ticket(api, w)["id"]
    b = new_ticket(api, w)["id"]
    c = new_ticket(api, w)["id"]
    assert [ticket_row(db, t)["engineer_id"] for t in (a, b, c)] == [e0.id, e1.id, e0.id]


def test_rules_pick_the_most_specific_group(api, db, factory):
    w = world(factory, db, engineers=2)
    e0, e1 = w.engineers
    special = db.exec("INSERT INTO repair_engineer_groups (project_id, name) VALUES (%s, '专项组')", (w.project_id,))
    db.exec("INSERT INTO repair_engineer_group_members (group_id, user_id) VALUES (%s, %s)", (special, e1.id))
    db.exec("INSERT INTO repair_dispatch_rules (project_id, building_id, category_id, group_id) VALUES (%s, %s, %s, %s)",
            (w.project_id, w.building_id, w.category_id, special))
    for _ in range(2):
        tid = new_ticket(api, w)["id"]
        assert ticket_row(db, tid)["engineer_id"] == e1.id


def test_no_engineer_leaves_it_submitted_and_tells_the_supervisor(api, db, factory):
    w = world(factory, db, engineers=0)
    t = new_ticket(api, w)
    assert t["state"] == "submitted" and t["state_label"] == "已受理" and t["engineer"] is None
    told = events(db, t["id"], "repair.escalated", w.supervisor.id)
    assert len(told) == 1 and '"no_engineer"' in told[0]["payload"]
    assert events(db, t["id"], "repair.dispatched") == []


def test_warranty_follows_handover_date_and_category(api, db, factory):
    last_year = datetime.date.today().year - 1
    w = world(factory, db, handover_date=f"{last_year}-03-01")  # a 24-month category
    recent = new_ticket(api, w)
    until = datetime.date(last_year + 2, 3, 1) - datetime.timedelta(days=1)
    assert recent["within_warranty"] is True and recent["warranty_until"] == until.isoformat()
    db.exec("UPDATE units SET handover_date = '2015-01-01' WHERE id = %s", (w.unit_a,))
    old = new_ticket(api, w)
    assert old["within_warranty"] is False and old["warranty_until"] == "2016-12-31"
    db.exec("UPDATE units SET handover_date = NULL WHERE id = %s", (w.unit_a,))
    unknown = new_ticket(api, w)
    assert unknown["within_warranty"] is None and unknown["warranty_until"] is None
    assert ticket_row(db, old["id"])["within_warranty"] == 0
    assert ticket_row(db, unknown["id"])["warranty_until"] is None


def test_review_content_is_stored_and_flagged_for_staff(api, db, factory):
    w = world(factory, db)
    t = new_ticket(api, w, description="REVIEW 这段话需要人工看看")
    assert ticket_row(db, t["id"])["content_check"] == "review"
    items = expect_ok(api.get(f"/api/v1/admin/repairs?project={w.project_id}", token=w.supervisor.token))
    assert [x["content_check"] for x in items if x["id"] == t["id"]] == ["review"]


def test_wechat_down_accepts_and_flags_for_a_later_check(api, db, factory, fake):
    w = world(factory, db)
    openid = db.scalar("SELECT openid FROM users WHERE id = %s", (w.owner_a.id,))
    # The first try and both retries fail, and so would a re-check of this
    # owner's text (the sweeper's job) until the test has read the row.
    fake.fail("/wxa/msg_sec_check", errcode=-1, count=1000, match={"openid": openid})
    t = new_ticket(api, w)
    row = ticket_row(db, t["id"])
    fake.fail("/wxa/msg_sec_check", count=0)
    assert row["content_check"] == "unchecked" and row["state"] == "dispatched"


def test_lists_page_with_an_opaque_cursor(api, db, factory):
    w = world(factory, db)
    ids = [new_ticket(api, w)["id"] for _ in range(3)]
    r = api.get("/api/v1/repairs?limit=2", token=w.owner_a.token)
    first = expect_ok(r)
    assert [x["id"] for x in first] == [ids[2], ids[1]]
    cursor = r.json()["next_cursor"]
    assert cursor and str(ids[1]) not in cursor
    r = api.get(f"/api/v1/repairs?limit=2&cursor={cursor}", token=w.owner_a.token)
    assert [x["id"] for x in expect_ok(r)] == [ids[0]]
    assert r.json()["next_cursor"] is None
    expect_error(api.get("/api/v1/repairs?cursor=bm9wZQ", token=w.owner_a.token), 400, "INVALID_FIELD", "cursor")
    expect_error(api.get("/api/v1/repairs?limit=0", token=w.owner_a.token), 400, "INVALID_FIELD", "limit")
    # Owner B sees none of them.
    assert expect_ok(api.get("/api/v1/repairs", token=w.owner_b.token)) == []


def test_every_repair_list_takes_the_one_paging_contract(api, db, factory):
    """The four repair lists take limit 1-100 and the cursor format of every
    list; a cursor of the old format (base64url of "r:<id>") is refused."""
    w = world(factory, db)
    ids = [new_ticket(api, w)["id"] for _ in range(3)]
    lists = [("/api/v1/repairs", w.owner_a), ("/api/v1/work/repairs", w.engineers[0]),
             (f"/api/v1/admin/repairs?project={w.project_id}", w.supervisor),
             (f"/api/v1/admin/repair-followups?project={w.project_id}", w.supervisor)]
    for path, person in lists:
        sep = "&" if "?" in path else "?"
        expect_ok(api.get(f"{path}{sep}limit=100", token=person.token))
        expect_error(api.get(f"{path}{sep}limit=101", token=person.token), 400, "INVALID_FIELD", "limit")
        expect_error(api.get(f"{path}{sep}cursor=cjoxMg", token=person.token), 400, "INVALID_FIELD", "cursor")
    # One ticket a page: each shown once, newest first, then no cursor.
    for path, person in lists[:3]:
        sep = "&" if "?" in path else "?"
        seen, cursor = [], None
        for _ in range(4):
            r = api.get(f"{path}{sep}limit=1" + (f"&cursor={cursor}" if cursor else ""), token=person.token)
            seen += [x["id"] for x in expect_ok(r)]
            cursor = r.json()["next_cursor"]
            if not cursor:
                break
        assert seen == ids[::-1] and cursor is None, path


def test_admin_list_filters_by_state_and_overdue(api, db, factory):
    w = world(factory, db)
    a = new_ticket(api, w)["id"]
    b = new_ticket(api, w)["id"]
    expect_ok(act(api, w.engineers[0], b, "accept"))
    db.exec("UPDATE repair_tickets SET accept_due_at = NOW(3) - INTERVAL 1 MINUTE WHERE id = %s", (a,))
    # The clock ran out: marked as the repair sweeper does (this gateway sweeps
    # every 30 s; test_repairs_overdue_list.py covers the sweeper's marks).
    db.exec("INSERT INTO repair_overdue (project_id, ticket_id) VALUES (%s, %s)", (w.project_id, a))
    base = f"/api/v1/admin/repairs?project={w.project_id}"
    assert [x["id"] for x in expect_ok(api.get(base, token=w.supervisor.token))] == [b, a]
    assert [x["id"] for x in expect_ok(api.get(base + "&state=accepted", token=w.supervisor.token))] == [b]
    overdue = expect_ok(api.get(base + "&overdue=true", token=w.supervisor.token))
    assert [x["id"] for x in overdue] == [a] and overdue[0]["overdue"] is True
    expect_error(api.get(base + "&state=nope", token=w.supervisor.token), 400, "INVALID_FIELD", "state")
    other = factory.project()
    expect_error(api.get(f"/api/v1/admin/repairs?project={other}", token=w.supervisor.token), 403, "FORBIDDEN",
                 "project")
    expect_error(api.get(base, token=w.owner_a.token), 403, "FORBIDDEN")


def test_another_owners_unit_is_404(api, db, factory):
    """The unit must be the caller's: another owner's unit is 404 and nothing is stored."""
    w = world(factory, db)
    before = db.scalar("SELECT COUNT(*) FROM repair_tickets")
    r = file_ticket(api, w.owner_b.token, ticket_body(w, unit=w.unit_a))
    expect_error(r, 404, "NOT_FOUND", "unit_id")
    assert db.scalar("SELECT COUNT(*) FROM repair_tickets") == before
