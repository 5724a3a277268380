"""The service desk's customers: lookup by a full phone (masked results,
scoped to the caller's projects, its own rate class), the audited phone
reveal, and the one view of a customer with its bounded, paged sections."""
import json
import secrets

import pytest

from conftest import expect_error, expect_ok, gateway_metric, unique_phone, wait_for
from repairs_support import named_user
from service_support import desk, file_for, filing_body, lead, lookup, phone_of


def masked(phone):
    return phone[:3] + "****" + phone[-4:]


def test_lookup_masks_and_names_the_project(api, db, factory):
    d = desk(factory, db)
    phone = phone_of(db, d.w.owner_a.id)
    r = lookup(api, d.service, phone)
    data = expect_ok(r)
    assert phone not in r.text  # never the full phone
    assert data["phone_masked"] == masked(phone)
    kinds = sorted(m["kind"] for m in data["matches"])
    assert kinds == ["owner", "user"], data
    user = next(m for m in data["matches"] if m["kind"] == "user")
    assert user["id"] == d.w.owner_a.id and user["user_id"] == d.w.owner_a.id
    assert user["phone_masked"] == masked(phone)
    assert [p["id"] for p in user["projects"]] == [d.w.project_id]
    roster = next(m for m in data["matches"] if m["kind"] == "owner")
    assert roster["unit"]["id"] == d.w.unit_a and roster["project"]["id"] == d.w.project_id
    assert roster["user_id"] == d.w.owner_a.id


def test_an_owner_of_two_units_who_is_also_a_lead(api, db, factory):
    d = desk(factory, db)
    phone = unique_phone()
    unit2 = factory.unit(building_id=d.w.building_id)
    for unit in (d.w.unit_a, unit2):
        factory.owner(unit, phone=phone, name="李四")
    lead_id = lead(db, d.w.project_id, phone, name="李四")
    # The same phone on another project's roster: not this desk's customer.
    factory.owner(factory.unit(d.other_project), phone=phone, name="李四")

    data = expect_ok(lookup(api, d.service, phone))
    owners = [m for m in data["matches"] if m["kind"] == "owner"]
    assert sorted(m["unit"]["id"] for m in owners) == sorted([d.w.unit_a, unit2])
    assert all(m["user_id"] is None and m["project"]["id"] == d.w.project_id for m in owners)
    leads = [m for m in data["matches"] if m["kind"] == "lead"]
    assert [m["id"] for m in leads] == [lead_id] and leads[0]["stage"] == "new"
    assert not [m for m in data["matches"] if m["kind"] == "user"]  # never logged in

    # The roster-only customer's view, by one of its roster entries: both
    # units and the lead (by phone), nothing of the other project.
    v = expect_ok(api.get(f"/api/v1/service/customers/{owners[0]['id']}", token=d.service.token,
                          params={"kind": "owner"}))
    assert v["customer"]["kind"] == "owner" and v["customer"]["user_id"] is None
    assert v["customer"]["phone_masked"] == masked(phone) and v["customer"]["name"] == "李四"
    units = v["sections"]["units"]["items"]
    assert sorted(u["unit"]["id"] for u in units) == sorted([d.w.unit_a, unit2])
    assert all(u["unit"]["project_id"] == d.w.project_id for u in units)
    assert [x["id"] for x in v["sections"]["leads"]["items"]] == [lead_id]
    assert v["sections"]["repairs"]["items"] == []
    # ... and by the lead.
    v2 = expect_ok(api.get(f"/api/v1/service/customers/{lead_id}", token=d.service.token, params={"kind": "lead"}))
    assert sorted(u["unit"]["id"] for u in v2["sections"]["units"]["items"]) == sorted([d.w.unit_a, unit2])

    # Once they log in with that phone, they are one user with both units.
    uid, _ = factory.user(phone=phone)
    data = expect_ok(lookup(api, d.service, phone))
    users = [m for m in data["matches"] if m["kind"] == "user"]
    assert [m["id"] for m in users] == [uid] and [p["id"] for p in users[0]["projects"]] == [d.w.project_id]


@pytest.mark.parametrize("bad", ["1381234", "138****1234", "abc", "13812345678901234"])
def test_partial_or_bad_phones_are_refused(api, db, factory, bad):
    d = desk(factory, db)
    expect_error(lookup(api, d.service, bad), 400, "INVALID_FIELD", "phone")


def test_lookup_needs_a_phone(api, db, factory):
    d = desk(factory, db)
    expect_error(api.get("/api/v1/service/customers", token=d.service.token), 400, "MISSING_FIELD", "phone")


def test_each_role(api, db, factory):
    d = desk(factory, db)
    phone = phone_of(db, d.w.owner_a.id)
    buyer = named_user(factory, db, "买家")
    for person in (d.engineer, d.agent, d.w.owner_b, buyer):
        expect_error(lookup(api, person, phone), 403, "FORBIDDEN")
        expect_error(api.get(f"/api/v1/service/customers/{d.w.owner_a.id}", token=person.token), 403, "FORBIDDEN")
        expect_error(api.post(f"/api/v1/service/customers/{d.w.owner_a.id}/phone", token=person.token,
                              json={"reason": "回拨"}), 403, "FORBIDDEN")
    # Allowed: 客服 and supervisor of the project, admins.
    for person in (d.service, d.w.supervisor, d.admin):
        data = expect_ok(lookup(api, person, phone))
        assert {m["kind"] for m in data["matches"]} == {"user", "owner"}
        expect_ok(api.get(f"/api/v1/service/customers/{d.w.owner_a.id}", token=person.token))
    # 客服 or supervisor of another project: nothing of this project leaks.
    other_sup = named_user(factory, db, "外项目主管", roles=[("supervisor", d.other_project)])
    for person in (d.other, other_sup):
        r = lookup(api, person, phone)
        assert expect_ok(r)["matches"] == [] and d.w.owner_a.id not in [m.get("id") for m in r.json()["data"]["matches"]]
        expect_error(api.get(f"/api/v1/service/customers/{d.w.owner_a.id}", token=person.token), 404, "NOT_FOUND")
    roster_id = db.scalar("SELECT id FROM owners WHERE unit_id = %s", (d.w.unit_a,))
    expect_error(api.get(f"/api/v1/service/customers/{roster_id}", token=d.other.token, params={"kind": "owner"}),
                 404, "NOT_FOUND")
    before = db.scalar("SELECT COUNT(*) FROM audit_log")
    expect_error(api.post(f"/api/v1/service/customers/{d.w.owner_a.id}/phone", token=d.other.token,
                          json={"reason": "回拨"}), 404, "NOT_FOUND")
    assert db.scalar("SELECT COUNT(*) FROM audit_log") == before


def test_the_reveal_writes_an_audit_row(stack, api, db, factory):
    d = desk(factory, db)
    phone = phone_of(db, d.w.owner_a.id)
    reveals = gateway_metric(stack.gateway, "gateway_service_customer_requests_total", action="reveal")
    data = expect_ok(api.post(f"/api/v1/service/customers/{d.w.owner_a.id}/phone", token=d.service.token,
                              json={"reason": "业主来电中断，需回拨"}))
    assert data == {"phone": phone, "phone_masked": masked(phone)}
    row = db.one("SELECT * FROM audit_log WHERE action = 'customer.phone_revealed' AND actor_user_id = %s"
                 " ORDER BY id DESC LIMIT 1", (d.service.id,))
    assert row["target_type"] == "user" and row["target_id"] == d.w.owner_a.id
    assert row["project_id"] == d.w.project_id
    detail = json.loads(row["detail"])
    assert detail["reason"] == "业主来电中断，需回拨" and detail["phone_masked"] == masked(phone)
    assert phone not in row["detail"]
    assert gateway_metric(stack.gateway, "gateway_service_customer_requests_total", action="reveal") == reveals + 1
    # A roster entry's phone, by its own id.
    roster_id = db.scalar("SELECT id FROM owners WHERE unit_id = %s", (d.w.unit_b,))
    data = expect_ok(api.post(f"/api/v1/service/customers/{roster_id}/phone", token=d.w.supervisor.token,
                              json={"kind": "owner", "reason": "核对房号"}))
    assert data["phone"] == phone_of(db, d.w.owner_b.id)
    assert db.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'customer.phone_revealed' AND target_type = 'owner'"
                     " AND target_id = %s AND actor_user_id = %s", (roster_id, d.w.supervisor.id)) == 1


@pytest.mark.parametrize("body,code,field", [
    ({}, "MISSING_FIELD", "reason"),
    ({"reason": "x"}, "INVALID_FIELD", "reason"),
    ({"reason": "   "}, "INVALID_FIELD", "reason"),
    ({"reason": "回拨" * 101}, "INVALID_FIELD", "reason"),
    ({"reason": "回拨", "kind": "vip"}, "INVALID_FIELD", "kind"),
    ({"reason": "回拨", "phone": "1"}, "INVALID_FIELD", "phone"),
])
def test_a_reveal_without_a_good_reason_writes_nothing(api, db, factory, body, code, field):
    d = desk(factory, db)
    before = db.scalar("SELECT COUNT(*) FROM audit_log WHERE actor_user_id = %s", (d.service.id,))
    expect_error(api.post(f"/api/v1/service/customers/{d.w.owner_a.id}/phone", token=d.service.token, json=body),
                 400, code, field)
    assert db.scalar("SELECT COUNT(*) FROM audit_log WHERE actor_user_id = %s", (d.service.id,)) == before


def test_the_one_view_of_a_customer(api, db, factory):
    d = desk(factory, db)
    owner = d.w.owner_a
    phone = phone_of(db, owner.id)
    lead_id = lead(db, d.w.project_id, phone, user_id=owner.id)
    unit2 = factory.unit(building_id=d.w.building_id)
    factory.owner(unit2, phone=phone, user_id=owner.id)
    # Another project's unit and ticket of the same owner: never shown here.
    other_unit = factory.unit(d.other_project)
    factory.owner(other_unit, phone=phone, user_id=owner.id)
    ticket = expect_ok(file_for(api, d.service, filing_body(d)), 201)

    v = expect_ok(api.get(f"/api/v1/service/customers/{owner.id}", token=d.service.token))
    assert v["customer"] == {"kind": "user", "id": owner.id, "user_id": owner.id, "name": "业主",
                             "phone_masked": masked(phone)}
    s = v["sections"]
    assert set(s) == {"units", "repairs", "complaints", "leads", "referrals", "rewards", "notifications", "ratings",
                      "followups"}
    assert sorted(u["unit"]["id"] for u in s["units"]["items"]) == sorted([d.w.unit_a, unit2])
    assert [t["id"] for t in s["repairs"]["items"]] == [ticket["id"]]
    rep = s["repairs"]["items"][0]
    assert rep["state"] == "dispatched" and rep["filed_for_you"] is True
    assert rep["filed_for"]["channel"] == "hotline" and rep["rating"] is None  # not rated yet
    assert [x["id"] for x in s["leads"]["items"]] == [lead_id]
    kinds = {n["kind"] for n in s["notifications"]["items"]}
    assert {"repair.filed_for_you", "repair.dispatched"} <= kinds
    assert all(n["project_id"] == d.w.project_id for n in s["notifications"]["items"])
    assert s["complaints"] == {"items": [], "next_cursor": None}
    assert phone not in json.dumps(v, ensure_ascii=False)
    assert str(other_unit) not in [str(u["unit"]["id"]) for u in s["units"]["items"]]


def test_a_section_pages_on_with_the_list_contract(api, db, factory):
    d = desk(factory, db)
    owner = d.w.owner_a
    phone = phone_of(db, owner.id)
    units = [d.w.unit_a]
    for _ in range(11):
        u = factory.unit(building_id=d.w.building_id)
        factory.owner(u, phone=phone, user_id=owner.id)
        units.append(u)
    v = expect_ok(api.get(f"/api/v1/service/customers/{owner.id}", token=d.service.token))
    first = v["sections"]["units"]
    assert len(first["items"]) == v["section_limit"] == 10 and first["next_cursor"]
    r = api.get(f"/api/v1/service/customers/{owner.id}", token=d.service.token,
                params={"section": "units", "cursor": first["next_cursor"], "limit": 10})
    rest = r.json()
    assert r.status_code == 200 and rest["next_cursor"] is None
    assert sorted([u["unit"]["id"] for u in first["items"]] + [u["unit"]["id"] for u in rest["data"]]) == sorted(units)
    expect_error(api.get(f"/api/v1/service/customers/{owner.id}", token=d.service.token,
                         params={"section": "secrets"}), 400, "INVALID_FIELD", "section")
    expect_error(api.get(f"/api/v1/service/customers/{owner.id}", token=d.service.token,
                         params={"kind": "vip"}), 400, "INVALID_FIELD", "kind")


def test_the_lookup_has_its_own_rate_class(stack, api, db, factory):
    d = desk(factory, db)
    gw = stack.start_gateway({"rate_customers_user": "1/h burst 2"}, name="gw_desk_rate")
    try:
        phone = phone_of(db, d.w.owner_a.id)
        for _ in range(2):
            expect_ok(lookup_on(api, gw, d.service, phone))
        err = expect_error(lookup_on(api, gw, d.service, phone), 429, "RATE_LIMITED")
        assert "user" in err["message"]
        # Other routes of the same user are not limited by it.
        expect_ok(api.get(f"/api/v1/service/customers/{d.w.owner_a.id}", token=d.service.token, base=gw.url))
    finally:
        gw.stop()
        stack.extra_gateways.remove(gw)


def lookup_on(api, gw, person, phone):
    return api.get("/api/v1/service/customers", token=person.token, params={"phone": phone}, base=gw.url)


def test_the_view_lists_the_customers_complaints(api, db, factory):
    d = desk(factory, db)
    owner = d.w.owner_a
    r = api.post("/api/v1/complaints", token=owner.token,
                 headers={"Idempotency-Key": secrets.token_hex(12)},
                 json={"type": "complaint", "category": "noise", "content": "楼上夜里装修，太吵了", "unit_id": d.w.unit_a})
    complaint = expect_ok(r, 201)
    # Another owner's complaint is not this customer's.
    api.post("/api/v1/complaints", token=d.w.owner_b.token, headers={"Idempotency-Key": secrets.token_hex(12)},
             json={"type": "suggestion", "category": "noise", "content": "建议加装隔音", "unit_id": d.w.unit_b})
    v = expect_ok(api.get(f"/api/v1/service/customers/{owner.id}", token=d.service.token))
    items = v["sections"]["complaints"]["items"]
    assert [k["id"] for k in items] == [complaint["id"]]
    assert items[0]["type"] == "complaint" and items[0]["channel"] == "miniprogram"
    assert items[0]["content"] == "楼上夜里装修，太吵了" and items[0]["unit"]["id"] == d.w.unit_a
    assert items[0]["filed_for_you"] == 0
    # The other project's desk sees none of it.
    expect_error(api.get(f"/api/v1/service/customers/{owner.id}", token=d.other.token), 404, "NOT_FOUND")


def test_the_logs_never_hold_the_full_phone(stack, api, db, factory):
    d = desk(factory, db)
    phone = phone_of(db, d.w.owner_a.id)
    expect_ok(lookup(api, d.service, phone))
    expect_ok(api.post(f"/api/v1/service/customers/{d.w.owner_a.id}/phone", token=d.service.token,
                       json={"reason": "回拨"}))
    expect_ok(file_for(api, d.service, filing_body(d)), 201)

    def logged():
        with open(stack.gateway.log, encoding="utf-8", errors="replace") as f:
            text = f.read()
        return text if f"revealed the phone of user {d.w.owner_a.id}" in text else None
    text = wait_for(logged, what="the reveal's log line")
    assert masked(phone) in text
    assert phone not in text
