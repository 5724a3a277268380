"""Withdrawing consent (PIPL): a user lists their own leads (those they left,
and those about their bound phone) and erases one. The personal fields go,
the row stays for the numbers, an audit row is written, and the phone is
free for a new lead."""
from conftest import expect_error, expect_ok, unique_phone
from lead_support import buyer_with_phone, lead_of, new_lead, project_with_agents, submit_lead


def masked(phone):
    return phone[:3] + "****" + phone[-4:]


def test_own_leads_are_listed_to_their_submitter_and_to_the_phones_holder(api, factory, db):
    p1, _, _ = project_with_agents(factory, 1)
    p2, _, _ = project_with_agents(factory, 1)
    submitter, token = factory.user()
    phone = unique_phone()
    first = new_lead(api, db, token, p1, phone, name="郑十", note="想看样板间")
    second = new_lead(api, db, token, p2, unique_phone())
    r = api.get("/api/v1/me/leads", token=token)
    data = expect_ok(r)
    assert [x["id"] for x in data] == [second, first] and r.json()["next_cursor"] is None
    item = data[1]
    assert item["project"]["id"] == p1 and item["name"] == "郑十" and item["note"] == "想看样板间"
    assert item["phone_masked"] == masked(phone) and phone not in r.text
    assert item["submitted_by_me"] is True and item["phone_verified"] is False and item["stage"] == "new"
    assert item["consent"]["privacy_notice_version"] == "2025-01" and item["consent"]["at"] > 0
    page = api.get("/api/v1/me/leads?limit=1", token=token).json()
    assert [x["id"] for x in page["data"]] == [second] and page["next_cursor"]  # opaque
    rest = api.get(f"/api/v1/me/leads?limit=1&cursor={page['next_cursor']}", token=token).json()
    assert [x["id"] for x in rest["data"]] == [first] and rest["next_cursor"] is None
    # The person whose phone it is sees it too; a stranger sees nothing.
    _, holder = factory.user(phone=phone)
    assert [(x["id"], x["submitted_by_me"]) for x in api.get("/api/v1/me/leads", token=holder).json()["data"]] == \
        [(first, False)]
    assert api.get("/api/v1/me/leads", token=factory.user()[1]).json()["data"] == []


def test_withdrawing_consent_erases_the_personal_fields_and_keeps_the_numbers(api, factory, db):
    pid, [(agent, atoken)], (_, stoken) = project_with_agents(factory, 1, supervisor=True)
    submitter, token = factory.user()
    phone = unique_phone()
    lead_id = new_lead(api, db, token, pid, phone, name="冯十一", note="晚上联系", channel="poster",
                       interest={"layout": "三室", "area": "120", "budget": "400万"})
    assert api.post(f"/api/v1/leads/{lead_id}/followups", token=atoken,
                    json={"kind": "call", "note": "客户说下周来"}).status_code == 201
    stats_before = api.get(f"/api/v1/admin/leads/stats?project={pid}", token=stoken).json()["data"]
    # Nobody else can erase it.
    _, stranger = factory.user()
    expect_error(api.delete(f"/api/v1/me/leads/{lead_id}", token=stranger), 404, "NOT_FOUND")
    expect_error(api.delete("/api/v1/me/leads/99999999", token=token), 404, "NOT_FOUND")
    assert db.scalar("SELECT name FROM leads WHERE id = %s", (lead_id,)) == "冯十一"

    r = api.delete(f"/api/v1/me/leads/{lead_id}", token=token)
    d = expect_ok(r)
    assert d["lead"]["id"] == lead_id and d["lead"]["erased"] is True and d["lead"]["erased_at"] > 0
    row = db.one("SELECT * FROM leads WHERE id = %s", (lead_id,))
    assert (row["name"], row["phone"], row["open_phone"], row["note"], row["interest_layout"], row["interest_area"],
            row["interest_budget"], row["consent_at"], row["privacy_notice_version"], row["user_id"],
            row["submitted_by_user_id"]) == ("", None, None, None, None, None, None, None, None, None, None)
    assert row["erased_at"] is not None
    assert (row["project_id"], row["channel"], row["stage"], row["agent_user_id"]) == (pid, "poster", "new", agent)
    assert row["created_at"] is not None and row["first_contacted_at"] is not None
    assert db.query("SELECT kind, note FROM lead_followups WHERE lead_id = %s", (lead_id,)) == \
        [{"kind": "call", "note": ""}]
    audit = db.one("SELECT actor_user_id, JSON_VALUE(detail, '$.project_id') AS p, JSON_VALUE(detail, '$.reason') AS"
                   " reason, JSON_VALUE(detail, '$.by') AS who FROM audit_log"
                   " WHERE action = 'lead.erase' AND target_type = 'lead' AND target_id = %s", (lead_id,))
    assert audit == {"actor_user_id": submitter, "p": str(pid), "reason": "consent_withdrawn", "who": "submitter"}
    assert phone not in str(db.query("SELECT detail FROM audit_log WHERE target_type = 'lead' AND target_id = %s",
                                     (lead_id,)))
    # The numbers are unchanged.
    stats_after = api.get(f"/api/v1/admin/leads/stats?project={pid}", token=stoken).json()["data"]
    assert (stats_after["total"], stats_after["by_channel"], stats_after["funnel"]) == \
        (stats_before["total"], stats_before["by_channel"], stats_before["funnel"])
    # Staff see an erased lead; no follow-ups can be added.
    detail = api.get(f"/api/v1/leads/{lead_id}", token=atoken).json()["data"]
    assert (detail["name"], detail["phone"], detail["phone_masked"], detail["note"]) == ("", None, None, None)
    assert detail["erased_at"] > 0 and "冯十一" not in str(detail)
    r = api.post(f"/api/v1/leads/{lead_id}/followups", token=atoken, json={"kind": "call"})
    assert expect_error(r, 409, "CONFLICT") and "erased" in r.json()["error"]["message"]
    assert next(x for x in api.get("/api/v1/leads", token=atoken).json()["data"] if x["id"] == lead_id)["erased"]
    # It is no longer the user's; erasing again finds nothing.
    assert api.get("/api/v1/me/leads", token=token).json()["data"] == []
    expect_error(api.delete(f"/api/v1/me/leads/{lead_id}", token=token), 404, "NOT_FOUND")
    # The phone's open-lead key is free: the same phone makes a new lead.
    again = lead_of(db, submit_lead(api, token, pid, phone))
    assert again != lead_id
    assert db.scalar("SELECT COUNT(*) FROM leads WHERE project_id = %s", (pid,)) == 2


def test_the_phones_holder_erases_a_lead_someone_else_filed(api, factory, db):
    pid, _, _ = project_with_agents(factory, 1)
    holder, htoken, phone = buyer_with_phone(factory)
    _, filer = factory.user()
    lead_id = new_lead(api, db, filer, pid, phone, name="冒名")
    r = api.delete(f"/api/v1/me/leads/{lead_id}", token=htoken)
    expect_ok(r)
    assert db.one("SELECT name, phone, erased_at IS NOT NULL AS erased FROM leads WHERE id = %s", (lead_id,)) == \
        {"name": "", "phone": None, "erased": 1}
    assert db.scalar("SELECT JSON_VALUE(detail, '$.by') FROM audit_log WHERE action = 'lead.erase'"
                     " AND target_id = %s AND actor_user_id = %s", (lead_id, holder)) == "phone_holder"
    assert api.get("/api/v1/me/leads", token=filer).json()["data"] == []
