"""The complaints page in the console (tests/browser/flow_complaint_reply.mjs):
an owner files a complaint through the API; a supervisor, logged in through
the ticket flow, finds it in the list filtered by project and state, replies,
writes an internal note and proposes a resolution. The owner's API view then
shows the reply and the resolution but not the note, and the database holds
each step, by the supervisor."""
from browser_support import run_flow, screenshots_exist
from complaints_support import cworld, new_complaint, row, timeline


def test_supervisor_replies_and_proposes_and_the_owner_sees_it(stack, api, factory, db):
    cw = cworld(factory, db)
    w = cw.w
    k = new_complaint(api, cw, content="电梯每天早上停运半小时")
    reply, note, resolution = "您好，已安排维保单位今天检修", "维保合同到期，需续签", "已更换电梯控制板，请您确认"

    report = run_flow(stack, "flow_complaint_reply.mjs", SUP_TOKEN=w.supervisor.token, COMPLAINT_ID=k["id"],
                      PROJECT_ID=w.project_id, REPLY=reply, NOTE=note, RESOLUTION=resolution)

    assert f"project={w.project_id}" in report["filters"] and "state=submitted" in report["filters"]
    assert report["state_before"] == "submitted" and report["content"] == "电梯每天早上停运半小时"
    assert report["steps"] == ["timeline-submit", "timeline-reply", "timeline-note", "timeline-resolve"]
    assert report["state_after"] == "resolved"
    # The owner's view: the reply and the resolution, never the note.
    r = api.get(f"/api/v1/complaints/{k['id']}", token=w.owner_a.token)
    assert r.status_code == 200, r.text
    d = r.json()["data"]
    assert d["state"] == "resolved" and d["resolution"] == resolution
    assert [(e["action"], e["note"]) for e in d["timeline"]] == [("submit", None), ("reply", reply),
                                                              ("resolve", resolution)]
    # The database: each step by the supervisor, the note internal.
    rows = timeline(db, k["id"])
    assert [(t["action"], t["visibility"]) for t in rows] == [
        ("submit", "public"), ("reply", "public"), ("note", "internal"), ("resolve", "public")]
    assert all(t["actor_user_id"] == w.supervisor.id for t in rows[1:])
    assert row(db, k["id"])["state"] == "resolved" and row(db, k["id"])["first_response_at"] is not None
    screenshots_exist(report, "complaints-list", "complaints-detail")
