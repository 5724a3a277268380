"""The service desk in the console (tests/browser/flow_service_desk.mjs): a
service-desk member (客服) logs in through the ticket flow, finds a caller by
phone (masked), reveals the phone with a reason, opens the customer's one
view and files a repair for a chosen unit. The database then holds the
ticket with its channel and who filed it, the audit row of the reveal, and
the owner's API shows the ticket as filed for them."""
import json

from browser_support import run_flow, screenshots_exist
from repairs_support import named_user, world


def test_a_service_member_finds_a_caller_and_files_a_repair(stack, api, factory, db):
    w = world(factory, db)
    desk = named_user(factory, db, "客服小李", roles=[("service", w.project_id)])
    phone = db.scalar("SELECT phone FROM users WHERE id = %s", (w.owner_a.id,))
    description = "客服代报：阳台推拉门关不严，进风"

    report = run_flow(stack, "flow_service_desk.mjs", DESK_TOKEN=desk.token, PHONE=phone, OWNER_ID=w.owner_a.id,
                      UNIT_ID=w.unit_a, CATEGORY=w.category, REASON="来电中断，需回拨", DESCRIPTION=description)

    assert "客服工作台" in report["menu"]
    assert report["masked"] == phone[:3] + "****" + phone[-4:]
    assert phone not in report["results"]
    assert report["revealed"] == phone
    assert report["url"] == f"/console/service-desk?kind=user&id={w.owner_a.id}"

    t = db.one("SELECT * FROM repair_tickets WHERE ticket_no = %s", (report["ticket_no"],))
    assert t["user_id"] == w.owner_a.id and t["unit_id"] == w.unit_a and t["description"] == description
    assert t["state"] == "dispatched" and t["engineer_id"] == w.engineers[0].id
    f = db.one("SELECT * FROM repair_filings WHERE ticket_id = %s", (t["id"],))
    assert f["channel"] == "front_desk" and f["filed_by"] == desk.id
    audit = db.one("SELECT * FROM audit_log WHERE action = 'customer.phone_revealed' AND actor_user_id = %s",
                   (desk.id,))
    assert audit["target_id"] == w.owner_a.id and json.loads(audit["detail"])["reason"] == "来电中断，需回拨"

    r = api.get(f"/api/v1/repairs/{t['id']}", token=w.owner_a.token)
    assert r.status_code == 200, r.text
    d = r.json()["data"]
    assert d["filed_for_you"] is True and d["filed_for"]["channel"] == "front_desk"
    assert d["filed_for"]["by"]["name"] == "客服小李"
    screenshots_exist(report, "service-desk-search", "service-desk-view", "service-desk-file")
