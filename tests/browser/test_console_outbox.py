"""The notification outbox in the console (tests/browser/flow_outbox_retry.mjs):
a failed event is shown under 失败 with its count, its attempts and its last
error; retry answers it back to pending (attempts 0), the page shows it so
and the failed count drops; the event left `failed` and the retry is in the
audit log."""
import json

from browser_support import run_flow, screenshots_exist
from conftest import wait_for
from repairs_support import events, new_ticket, world

ERROR = "WeChat 40037: template TPL_REPAIR_STATUS of kind repair.dispatched rejected (invalid template_id rid: 1-2-3)"


def test_a_failed_event_is_retried_from_the_outbox_page(stack, api, factory, db):
    w = world(factory, db)
    t = new_ticket(api, w)
    ev = events(db, t["id"], kind="repair.dispatched")[0]
    wait_for(lambda: db.scalar("SELECT status FROM notification_events WHERE id = %s", (ev["id"],))
             not in ("pending", "sending", "retrying"), what="the event settled")
    db.exec("UPDATE notification_events SET status = 'failed', attempts = 3, last_errcode = 40037, last_error = %s"
            " WHERE id = %s", (ERROR, ev["id"]))

    report = run_flow(stack, "flow_outbox_retry.mjs", SUP_TOKEN=w.supervisor.token, EVENT_ID=ev["id"],
                      PROJECT_ID=w.project_id)

    assert report["failed_count"] == 1
    assert "3" in report["row"] and any("40037" in c or "WeChat 40037" in c for c in report["row"]), report["row"]
    assert "40037" in report["detail"] and "invalid template_id" in report["detail"]
    assert (report["retried_status"], report["retried_attempts"]) == ("pending", 0)
    assert report["shown"] != "failed"
    # Through the API: the event is no longer failed, and the retry is audited.
    r = api.get(f"/api/v1/admin/notifications?project={w.project_id}&limit=100", token=w.supervisor.token)
    item = next(e for e in r.json()["data"] if e["id"] == ev["id"])
    assert item["status"] != "failed"
    audit = db.one("SELECT actor_user_id, detail FROM audit_log WHERE action = 'notification.retry' AND target_id = %s",
                   (ev["id"],))
    assert audit["actor_user_id"] == w.supervisor.id
    assert json.loads(audit["detail"]) == {"previous_status": "failed", "previous_attempts": 3}
    screenshots_exist(report, "outbox-failed", "outbox-retried")
