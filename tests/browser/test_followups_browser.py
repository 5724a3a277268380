"""The 回访 page of the console (tests/browser/flow_followup_result.mjs): a
service-desk member records the result of a poor rating's follow-up visit;
the page, the API and the database then agree, and the owner was told."""
from browser_support import run_flow, screenshots_exist
from rating_support import followup_of, rating, resolved_ticket, service_member
from repairs_support import act, events, world


def test_desk_records_a_follow_up_result(stack, api, factory, db):
    w = world(factory, db)
    desk = service_member(factory, db, w.project_id, "客服小王")
    tid = resolved_ticket(api, w)
    r = act(api, w.owner_a, tid, "rating", rating(4, 2, 4, comment="态度不好"))
    assert r.status_code == 200, r.text
    f = followup_of(db, tid)
    assert f["assignee_user_id"] == desk.id

    report = run_flow(stack, "flow_followup_result.mjs", DESK_TOKEN=desk.token, PROJECT_ID=w.project_id,
                      FOLLOWUP_ID=f["id"], NOTE="已致歉，业主表示满意")

    ticket_no = db.scalar("SELECT ticket_no FROM repair_tickets WHERE id = %s", (tid,))
    assert ticket_no in report["subject"]
    assert "联系结果" in report["missing"]
    assert report["result"]["contact"] == "reached" and "满意" in report["result"]["text"]
    row = followup_of(db, tid)
    assert (row["status"], row["contact"], row["satisfied"], row["note"], row["done_by"], row["attempts"]) == \
        ("done", "reached", 1, "已致歉，业主表示满意", desk.id, 1)
    items = api.get(f"/api/v1/service/followups?project={w.project_id}", token=desk.token).json()["data"]
    item = next(x for x in items if x["id"] == f["id"])
    assert item["status"] == "done" and item["result"]["contact"] == "reached"
    assert item["result"]["note"] == "已致歉，业主表示满意"
    assert db.scalar("SELECT COUNT(*) FROM followup_attempts WHERE followup_id = %s", (f["id"],)) == 1
    assert len(events(db, tid, "followup.done", w.owner_a.id)) == 1
    screenshots_exist(report, "followups", "followups-record")
