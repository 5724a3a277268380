"""Filing a repair on a caller's behalf (POST /api/v1/service/repairs): the
owner's own filing (dispatch, clocks, events) plus the channel and who filed
it; the owner's notification through the fake WeChat, their list and
detail, their confirmation and correction before acceptance, and the
refusals."""
import secrets

import pytest

from conftest import expect_error, expect_ok
from notify_support import sole_dispatcher  # noqa: F401  (autouse)
from notify_support import REPAIR_TPL, sends_to, wait_final
from repairs_support import act, category, events, file_ticket, named_user, new_ticket, ticket_body, timeline
from service_support import desk, file_for, filing_body
from test_repairs_race import race


def ticket_count(db, user_id):
    return db.scalar("SELECT COUNT(*) FROM repair_tickets WHERE user_id = %s", (user_id,))


def test_filing_on_behalf_dispatches_and_tells_the_owner(api, db, factory, fake):
    d = desk(factory, db)
    owner = d.w.owner_a
    for _ in range(2):  # one message for repair.dispatched, one for repair.filed_for_you
        expect_ok(api.post("/api/v1/subscriptions", token=owner.token, json={"accepted": [REPAIR_TPL]}))
    openid = db.scalar("SELECT openid FROM users WHERE id = %s", (owner.id,))

    t = expect_ok(file_for(api, d.service, filing_body(d, channel="front_desk", preferred_time="周六上午")), 201)
    assert t["state"] == "dispatched" and t["engineer"]["id"] == d.engineer.id
    assert t["filed_for_you"] is True
    assert t["filed_for"]["channel"] == "front_desk" and t["filed_for"]["channel_label"] == "前台"
    assert t["filed_for"]["by"] == {"id": d.service.id, "name": "客服小王"}

    row = db.one("SELECT * FROM repair_tickets WHERE id = %s", (t["id"],))
    assert row["user_id"] == owner.id and row["unit_id"] == d.w.unit_a and row["project_id"] == d.w.project_id
    assert row["preferred_time"] == "周六上午" and row["accept_due_at"] is not None
    filing = db.one("SELECT * FROM repair_filings WHERE ticket_id = %s", (t["id"],))
    assert filing["channel"] == "front_desk" and filing["filed_by"] == d.service.id and filing["confirmed_at"] is None
    tl = timeline(db, t["id"])
    assert tl[0]["action"] == "submit" and tl[0]["actor_user_id"] == d.service.id and tl[0]["actor_role"] == "service"
    # Dispatch and its events, exactly as for the owner's own filing.
    assert len(events(db, t["id"], "repair.assigned", d.engineer.id)) == 1
    assert len(events(db, t["id"], "repair.dispatched", owner.id)) == 1

    # The owner is told by subscribe message.
    filed = events(db, t["id"], "repair.filed_for_you", owner.id)
    assert len(filed) == 1 and filed[0]["project_id"] == d.w.project_id
    assert wait_final(db, filed[0]["id"])["status"] == "sent"
    body = next(s["body"] for s in sends_to(fake, openid) if s["body"]["data"]["phrase3"]["value"] == "已代报修")
    assert body["template_id"] == REPAIR_TPL and body["page"] == f"pages/repair/detail?id={t['id']}"
    assert body["data"]["character_string2"]["value"] == t["ticket_no"]
    assert body["data"]["thing5"]["value"] == "客服经前台代您报修，请确认"
    inbox = expect_ok(api.get("/api/v1/notifications", token=owner.token))
    mine = [n for n in inbox if n["kind"] == "repair.filed_for_you"]
    assert mine and mine[0]["title"] == "客服已为您报修"

    # The owner's list and detail mark it as filed for them.
    items = expect_ok(api.get("/api/v1/repairs", token=owner.token))
    item = next(i for i in items if i["id"] == t["id"])
    assert item["filed_for_you"] is True and item["filed_for"]["channel"] == "front_desk"
    detail = expect_ok(api.get(f"/api/v1/repairs/{t['id']}", token=owner.token))
    assert detail["filed_for_you"] is True and detail["filed_for"]["by"]["name"] == "客服小王"
    assert detail["timeline"][0]["actor"]["role"] == "service"
    # A ticket the owner filed is not marked.
    own = new_ticket(api, d.w)
    assert own["filed_for_you"] is False and own["filed_for"] is None


def test_supervisor_and_admin_may_file_every_other_role_is_refused(api, db, factory):
    d = desk(factory, db)
    owner = d.w.owner_a
    for person in (d.w.supervisor, d.admin):
        t = expect_ok(file_for(api, person, filing_body(d, channel="wechat_group")), 201)
        role = db.scalar("SELECT actor_role FROM repair_timeline WHERE ticket_id = %s AND action = 'submit'", (t["id"],))
        assert role == ("supervisor" if person is d.w.supervisor else "admin")
    before = ticket_count(db, owner.id)
    buyer = named_user(factory, db, "买家")
    for person in (d.engineer, d.agent, d.w.owner_b, buyer):
        expect_error(file_for(api, person, filing_body(d)), 403, "FORBIDDEN")
    # 客服 or supervisor of another project: the owner is unknown there.
    other_sup = named_user(factory, db, "外项目主管", roles=[("supervisor", d.other_project)])
    for person in (d.other, other_sup):
        expect_error(file_for(api, person, filing_body(d)), 404, "NOT_FOUND", "user_id")
    assert ticket_count(db, owner.id) == before


@pytest.mark.parametrize("change,status,code,field", [
    ({"channel": "fax"}, 400, "INVALID_FIELD", "channel"),
    ({"channel": None}, 400, "MISSING_FIELD", "channel"),
    ({"user_id": None}, 400, "MISSING_FIELD", "user_id"),
    ({"user_id": "x"}, 400, "INVALID_FIELD", "user_id"),
    ({"unit_id": None}, 400, "MISSING_FIELD", "unit_id"),
    ({"description": ""}, 400, "INVALID_FIELD", "description"),
    ({"category": "no_such_category"}, 400, "INVALID_FIELD", "category"),
    ({"contact_phone": "call me"}, 400, "INVALID_FIELD", "contact_phone"),
    ({"photo_ids": "1"}, 400, "INVALID_FIELD", "photo_ids"),
])
def test_bad_input_names_the_field_and_writes_nothing(api, db, factory, change, status, code, field):
    d = desk(factory, db)
    body = filing_body(d)
    for k, v in change.items():
        if v is None:
            body.pop(k)
        else:
            body[k] = v
    before = ticket_count(db, d.w.owner_a.id)
    expect_error(file_for(api, d.service, body), status, code, field)
    assert ticket_count(db, d.w.owner_a.id) == before


def test_the_unit_must_be_the_customers_in_the_callers_project(api, db, factory):
    d = desk(factory, db)
    owner = d.w.owner_a
    before = ticket_count(db, owner.id)
    # Owner B's unit is not owner A's.
    expect_error(file_for(api, d.service, filing_body(d, unit=d.w.unit_b)), 404, "NOT_FOUND", "unit_id")
    # Owner A's unit in another project: the desk of this project cannot file on it.
    other_unit = factory.unit(d.other_project)
    phone = db.scalar("SELECT phone FROM users WHERE id = %s", (owner.id,))
    factory.owner(other_unit, phone=phone, user_id=owner.id)
    expect_error(file_for(api, d.service, filing_body(d, unit=other_unit)), 404, "NOT_FOUND", "unit_id")
    # A user who owns nothing in the caller's projects.
    stranger = named_user(factory, db, "路人")
    expect_error(file_for(api, d.service, filing_body(d, user=stranger)), 404, "NOT_FOUND", "user_id")
    assert ticket_count(db, owner.id) == before
    assert db.scalar("SELECT COUNT(*) FROM repair_tickets WHERE user_id = %s", (stranger.id,)) == 0


def test_a_retried_filing_files_once(api, db, factory):
    d = desk(factory, db)
    key = secrets.token_hex(12)
    a = expect_ok(file_for(api, d.service, filing_body(d), key=key), 201)
    b = expect_ok(file_for(api, d.service, filing_body(d), key=key), 200)  # the stored answer, replayed
    assert a == b
    assert db.scalar("SELECT COUNT(*) FROM repair_filings WHERE ticket_id = %s", (a["id"],)) == 1
    assert len(events(db, a["id"], "repair.filed_for_you")) == 1
    expect_error(file_for(api, d.service, filing_body(d, description="另一件事"), key=key), 422, "UNPROCESSABLE",
                 "Idempotency-Key")
    no_key = api.post("/api/v1/service/repairs", token=d.service.token, json=filing_body(d))
    expect_error(no_key, 400, "MISSING_FIELD", "Idempotency-Key")


def test_the_owner_confirms_once(api, db, factory):
    d = desk(factory, db)
    owner = d.w.owner_a
    t = expect_ok(file_for(api, d.service, filing_body(d)), 201)
    # Only the owner: another owner gets 404, staff who see it 403.
    expect_error(act(api, d.w.owner_b, t["id"], "confirm"), 404, "NOT_FOUND")
    expect_error(act(api, d.w.supervisor, t["id"], "confirm"), 403, "FORBIDDEN")
    detail = expect_ok(act(api, owner, t["id"], "confirm"))
    assert detail["filed_for"]["confirmed_at"] is not None
    assert db.scalar("SELECT confirmed_at FROM repair_filings WHERE ticket_id = %s", (t["id"],)) is not None
    assert [r["action"] for r in timeline(db, t["id"])][-1] == "confirm"
    expect_error(act(api, owner, t["id"], "confirm"), 409, "CONFLICT")
    assert [r["action"] for r in timeline(db, t["id"])].count("confirm") == 1
    # A ticket the owner filed themselves has nothing to confirm.
    own = new_ticket(api, d.w)
    expect_error(act(api, owner, own["id"], "confirm"), 409, "CONFLICT")


def test_the_owner_corrects_before_acceptance_and_not_after(api, db, factory):
    d = desk(factory, db)
    owner = d.w.owner_a
    t = expect_ok(file_for(api, d.service, filing_body(d)), 201)
    path = f"/api/v1/repairs/{t['id']}"
    # Bad fields are named and change nothing.
    for body, code, field in [({}, "MISSING_FIELD", "description"),
                              ({"description": ""}, "INVALID_FIELD", "description"),
                              ({"description": "长" * 501}, "INVALID_FIELD", "description"),
                              ({"category": "no_such_category"}, "INVALID_FIELD", "category"),
                              ({"state": "closed"}, "INVALID_FIELD", "state")]:
        expect_error(api.request("PATCH", path, token=owner.token, json=body), 400, code, field)
    assert db.scalar("SELECT description FROM repair_tickets WHERE id = %s", (t["id"],)) == t["description"]
    # Another owner may not; staff may not.
    expect_error(api.request("PATCH", path, token=d.w.owner_b.token, json={"description": "改"}), 404, "NOT_FOUND")
    expect_error(api.request("PATCH", path, token=d.w.supervisor.token, json={"description": "改"}), 403, "FORBIDDEN")

    detail = expect_ok(api.request("PATCH", path, token=owner.token, json={"description": "是卫生间的水管，不是厨房"}))
    assert detail["description"] == "是卫生间的水管，不是厨房"
    row = db.one("SELECT description, state FROM repair_tickets WHERE id = %s", (t["id"],))
    assert row["description"] == "是卫生间的水管，不是厨房" and row["state"] == "dispatched"
    last = timeline(db, t["id"])[-1]
    assert last["action"] == "correct" and last["actor_user_id"] == owner.id and last["note"] == "更正了描述"

    # Once the engineer accepts, it is too late.
    expect_ok(act(api, d.engineer, t["id"], "accept"))
    expect_error(api.request("PATCH", path, token=owner.token, json={"description": "再改"}), 409, "CONFLICT")
    assert db.scalar("SELECT description FROM repair_tickets WHERE id = %s", (t["id"],)) == "是卫生间的水管，不是厨房"
    # A ticket the owner filed is corrected through no such route.
    own = new_ticket(api, d.w)
    expect_error(api.request("PATCH", f"/api/v1/repairs/{own['id']}", token=owner.token,
                             json={"description": "改"}), 409, "CONFLICT")


def test_the_owner_rates_it_as_usual(api, db, factory):
    d = desk(factory, db)
    owner = d.w.owner_a
    t = expect_ok(file_for(api, d.service, filing_body(d)), 201)
    for action, body in (("accept", None), ("start", None), ("resolve", {"note": "已更换水管"})):
        expect_ok(act(api, d.engineer, t["id"], action, body))
    detail = expect_ok(act(api, owner, t["id"], "rating", {"speed": 5, "attitude": 5, "quality": 5, "comment": "客服很负责"}))
    assert detail["state"] == "closed"
    v = expect_ok(api.get(f"/api/v1/service/customers/{owner.id}", token=d.service.token))
    assert [r["id"] for r in v["sections"]["ratings"]["items"]] == [t["id"]]
    assert v["sections"]["ratings"]["items"][0]["score"] == 5
    assert v["sections"]["repairs"]["items"][0]["rating"]["score"] == 5


def test_owner_filing_still_works_unchanged(api, db, factory):
    d = desk(factory, db)
    r = file_ticket(api, d.w.owner_a.token, ticket_body(d.w))
    t = expect_ok(r, 201)
    assert t["state"] == "dispatched" and t["filed_for_you"] is False
    assert db.scalar("SELECT COUNT(*) FROM repair_filings WHERE ticket_id = %s", (t["id"],)) == 0
    assert timeline(db, t["id"])[0]["actor_role"] == "owner"


def test_a_corrected_category_brings_its_clocks(api, db, factory):
    d = desk(factory, db)
    code, cid = category(db, accept_s=600, arrive_s=3600, resolve_s=7200)
    t = expect_ok(file_for(api, d.service, filing_body(d)), 201)
    detail = expect_ok(api.request("PATCH", f"/api/v1/repairs/{t['id']}", token=d.w.owner_a.token,
                                   json={"category": code}))
    assert detail["category"]["code"] == code
    row = db.one("SELECT category_id, TIMESTAMPDIFF(SECOND, clock_started_at, accept_due_at) AS accept_s,"
                 " TIMESTAMPDIFF(SECOND, clock_started_at, resolve_due_at) AS resolve_s"
                 " FROM repair_tickets WHERE id = %s", (t["id"],))
    assert row == {"category_id": cid, "accept_s": 600, "resolve_s": 7200}
    assert timeline(db, t["id"])[-1]["note"] == "更正了类别"


def test_two_confirms_at_once_have_one_winner(api, db, factory, stack):
    d = desk(factory, db)
    t = expect_ok(file_for(api, d.service, filing_body(d)), 201)
    path = f"/api/v1/repairs/{t['id']}/confirm"
    results = race(stack, [(d.w.owner_a.token, path, {}), (d.w.owner_a.token, path, {})])
    assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
    assert [r["action"] for r in timeline(db, t["id"])].count("confirm") == 1
