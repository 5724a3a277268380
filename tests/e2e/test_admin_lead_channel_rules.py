"""Lead channel rules through the administration API: who may read and
change them, bad input refused with nothing written, the audit rows, paging
and filters, and that a rule written here routes the next lead."""
from admin_support import audit_rows, callers, patch, refused, table_rows
from conftest import expect_error, expect_ok, unique_phone
from lead_support import submit_lead

RULES = "/api/v1/admin/lead-channel-rules"


def rules_of(db, project):
    return table_rows(db, "SELECT id, project_id, channel, agent_user_id FROM lead_channel_rules"
                          " WHERE project_id = %s ORDER BY id", (project,))


def test_roles_create_update_delete_and_audit(api, factory, db):
    k = callers(factory)
    agent_id, _ = factory.user(roles=[("agent", k.project)])
    agent2_id, _ = factory.user(roles=[("agent", k.project)])
    body = {"project_id": k.project, "channel": "poster", "agent_user_id": agent_id}

    refused(api, k, [("POST", RULES, body), ("GET", RULES, None), ("PATCH", f"{RULES}/1", {"channel": "ad"}),
                     ("DELETE", f"{RULES}/1", None)])
    expect_error(api.post(RULES, json=body, token=k.other_supervisor), 403, "FORBIDDEN", "project_id")
    assert rules_of(db, k.project) == []

    rule = expect_ok(api.post(RULES, json=body, token=k.supervisor), 201)
    assert rule["project_id"] == k.project and rule["channel"] == "poster"
    assert rule["agent"] == {"id": agent_id, "name": None, "holds_role": True}
    rid = rule["id"]
    assert db.one("SELECT project_id, channel, agent_user_id FROM lead_channel_rules WHERE id = %s", (rid,)) == \
        {"project_id": k.project, "channel": "poster", "agent_user_id": agent_id}
    [row] = audit_rows(db, "lead_channel_rule", rid)
    assert row["actor_user_id"] == k.supervisor_id and row["action"] == "lead_channel_rule.create"
    assert row["detail"]["before"] is None and row["detail"]["project_id"] == k.project
    assert row["detail"]["after"]["channel"] == "poster" and row["detail"]["after"]["agent"]["id"] == agent_id

    # Another project's supervisor does not see it: 404 as if absent.
    for token in (k.other_supervisor,):
        expect_error(patch(api, f"{RULES}/{rid}", json={"agent_user_id": agent2_id}, token=token), 404, "NOT_FOUND")
        expect_error(api.delete(f"{RULES}/{rid}", token=token), 404, "NOT_FOUND")
    assert expect_ok(api.get(RULES, token=k.other_supervisor)) == []

    # The admin changes the agent: before/after of the changed field only.
    d = expect_ok(patch(api, f"{RULES}/{rid}", json={"agent_user_id": agent2_id}, token=k.admin))
    assert d["agent"]["id"] == agent2_id and d["channel"] == "poster"
    upd = audit_rows(db, "lead_channel_rule", rid)[1]
    assert upd["action"] == "lead_channel_rule.update" and upd["actor_user_id"] == k.admin_id
    assert upd["detail"]["before"] == {"agent": {"id": agent_id, "name": None, "holds_role": True}}
    assert upd["detail"]["after"] == {"agent": {"id": agent2_id, "name": None, "holds_role": True}}

    expect_ok(api.delete(f"{RULES}/{rid}", token=k.supervisor))
    assert rules_of(db, k.project) == []
    dele = audit_rows(db, "lead_channel_rule", rid)[2]
    assert dele["action"] == "lead_channel_rule.delete" and dele["detail"]["after"] is None
    assert dele["detail"]["before"]["channel"] == "poster"
    expect_error(api.delete(f"{RULES}/{rid}", token=k.supervisor), 404, "NOT_FOUND")


def test_bad_input_names_the_field_and_writes_nothing(api, factory, db):
    k = callers(factory)
    agent_id, _ = factory.user(roles=[("agent", k.project)])
    outsider_id, _ = factory.user(roles=[("agent", k.other_project)])
    good = {"project_id": k.project, "channel": "ad", "agent_user_id": agent_id}
    audit_before = db.scalar("SELECT COUNT(*) FROM audit_log WHERE target_type = 'lead_channel_rule'")
    cases = [
        ({**good, "channel": "tv"}, 400, "INVALID_FIELD", "channel"),
        ({**good, "channel": "  "}, 400, "INVALID_FIELD", "channel"),
        ({k: v for k, v in good.items() if k != "channel"}, 400, "MISSING_FIELD", "channel"),
        ({**good, "project_id": "x"}, 400, "INVALID_FIELD", "project_id"),
        ({k: v for k, v in good.items() if k != "agent_user_id"}, 400, "MISSING_FIELD", "agent_user_id"),
        ({**good, "agent_user_id": outsider_id}, 422, "UNPROCESSABLE", "agent_user_id"),
        ({**good, "agent_user_id": k.supervisor_id}, 422, "UNPROCESSABLE", "agent_user_id"),
        ({**good, "colour": "red"}, 400, "INVALID_FIELD", "colour"),
        ({**good, "project_id": 999999999}, 404, "NOT_FOUND", "project_id"),
    ]
    for body, status, code, field in cases:
        expect_error(api.post(RULES, json=body, token=k.admin), status, code, field)
    assert rules_of(db, k.project) == []

    rid = expect_ok(api.post(RULES, json={**good, "channel": " ad "}, token=k.admin), 201)["id"]
    assert db.scalar("SELECT channel FROM lead_channel_rules WHERE id = %s", (rid,)) == "ad"  # trimmed
    before = rules_of(db, k.project)
    expect_error(api.post(RULES, json=good, token=k.admin), 409, "DUPLICATE", "channel")
    expect_ok(api.post(RULES, json={**good, "channel": "poster"}, token=k.admin), 201)
    before = rules_of(db, k.project)
    for body, status, code, field in [
        ({"channel": "poster"}, 409, "DUPLICATE", "channel"),
        ({"agent_user_id": outsider_id}, 422, "UNPROCESSABLE", "agent_user_id"),
        ({"project_id": k.other_project}, 400, "INVALID_FIELD", "project_id"),
        ({}, 400, "MISSING_FIELD", "agent_user_id"),
    ]:
        expect_error(patch(api, f"{RULES}/{rid}", json=body, token=k.admin), status, code, field)
    assert rules_of(db, k.project) == before
    assert db.scalar("SELECT COUNT(*) FROM audit_log WHERE target_type = 'lead_channel_rule'") == audit_before + 2


def test_paging_and_filters(api, factory, db):
    k = callers(factory)
    agent_id, _ = factory.user(roles=[("agent", k.project)])
    other_agent, _ = factory.user(roles=[("agent", k.other_project)])
    ids = [expect_ok(api.post(RULES, json={"project_id": k.project, "channel": ch, "agent_user_id": agent_id},
                              token=k.supervisor), 201)["id"] for ch in ("poster", "ad", "walk_in")]
    oid = expect_ok(api.post(RULES, json={"project_id": k.other_project, "channel": "ad",
                                          "agent_user_id": other_agent}, token=k.admin), 201)["id"]
    # The supervisor sees their project's rules only, newest first, two a page.
    r = api.get(RULES, params={"limit": 2}, token=k.supervisor).json()
    assert [x["id"] for x in r["data"]] == ids[::-1][:2] and r["next_cursor"]
    r2 = api.get(RULES, params={"limit": 2, "cursor": r["next_cursor"]}, token=k.supervisor).json()
    assert [x["id"] for x in r2["data"]] == [ids[0]] and r2.get("next_cursor") is None
    assert [x["id"] for x in expect_ok(api.get(RULES, params={"channel": "ad"}, token=k.supervisor))] == [ids[1]]
    # The admin filters by project.
    assert [x["id"] for x in expect_ok(api.get(RULES, params={"project": k.other_project}, token=k.admin))] == [oid]
    expect_error(api.get(RULES, params={"project": k.other_project}, token=k.supervisor), 403, "FORBIDDEN", "project")
    expect_error(api.get(RULES, params={"channel": "tv"}, token=k.admin), 400, "INVALID_FIELD", "channel")
    expect_error(api.get(RULES, params={"limit": 0}, token=k.admin), 400, "INVALID_FIELD", "limit")


def test_a_rule_routes_the_next_lead(api, factory, db):
    k = callers(factory)
    first, _ = factory.user(roles=[("agent", k.project)])
    chosen, _ = factory.user(roles=[("agent", k.project)])
    expect_ok(api.post(RULES, json={"project_id": k.project, "channel": "poster", "agent_user_id": chosen},
                       token=k.supervisor), 201)
    _, buyer = factory.user(phone=unique_phone())
    submit_lead(api, buyer, k.project, channel="poster")
    assert db.scalar("SELECT agent_user_id FROM leads WHERE project_id = %s ORDER BY id DESC LIMIT 1",
                     (k.project,)) == chosen
