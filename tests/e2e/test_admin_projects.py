"""Projects through the administration API: who may create, read and edit
them, bad input refused naming the field with nothing written, the audit
rows (before/after), paging and filters; the reward rule, the managers and
the buildings of a project."""
import json

import pytest

from conftest import expect_error, expect_ok, unique

PROJECTS = "/api/v1/admin/projects"


def code():
    return unique("T-").upper()[:16]


def patch(api, path, **kw):
    return api.request("PATCH", path, **kw)


def audits(db, action, target_id):
    rows = db.query("SELECT actor_user_id, project_id, detail FROM audit_log WHERE action = %s AND target_id = %s"
                    " ORDER BY id", (action, target_id))
    for r in rows:
        r["detail"] = json.loads(r["detail"])
    return rows


@pytest.fixture
def people(factory):
    """Tokens of every role around a fresh project (and another project)."""
    project, other = factory.project(), factory.project()
    p = {"project": project, "other": other}
    p["admin_id"], p["admin"] = factory.user(roles=[("admin", 0)])
    p["sup_id"], p["sup"] = factory.user(roles=[("supervisor", project)])
    _, p["other_sup"] = factory.user(roles=[("supervisor", other)])
    p["agent_id"], p["agent"] = factory.user(roles=[("agent", project)])
    p["eng_id"], p["eng"] = factory.user(roles=[("engineer", project)])
    _, p["owner"], _, _ = factory.owner_user(project)
    return p


def test_create_project_admin_only_with_audit(api, db, people):
    body = {"name": "  天空之城二期 ", "code": code(), "city": "杭州", "address": "文一西路 1 号",
            "open_for_leads": False, "default_handover_date": "2027-06-30"}
    count = db.scalar("SELECT COUNT(*) FROM projects")
    expect_error(api.post(PROJECTS, json=body), 401, "UNAUTHENTICATED")
    for who in ("sup", "other_sup", "agent", "eng", "owner"):
        expect_error(api.post(PROJECTS, json=body, token=people[who]), 403, "FORBIDDEN")
    assert db.scalar("SELECT COUNT(*) FROM projects") == count
    d = expect_ok(api.post(PROJECTS, json=body, token=people["admin"]), 201)["project"]
    assert d["name"] == "天空之城二期" and d["code"] == body["code"] and d["open_for_leads"] is False
    assert d["default_handover_date"] == "2027-06-30" and d["building_count"] == 0
    row = db.one("SELECT name, city, open_for_leads FROM projects WHERE id = %s", (d["id"],))
    assert row == {"name": "天空之城二期", "city": "杭州", "open_for_leads": 0}
    [a] = audits(db, "project.create", d["id"])
    assert a["actor_user_id"] == people["admin_id"] and a["project_id"] == d["id"]
    assert a["detail"]["after"]["code"] == body["code"]
    # Closed for leads: not in the public list, and a lead is refused.
    assert d["id"] not in [p["id"] for p in expect_ok(api.get("/api/v1/projects"))]
    # The code is unique.
    err = expect_error(api.post(PROJECTS, json=dict(body, name="x"), token=people["admin"]), 409, "DUPLICATE", "code")
    assert body["code"] in err["message"]
    assert db.scalar("SELECT COUNT(*) FROM projects") == count + 1


@pytest.mark.parametrize("body, code_, field", [
    ({"code": "AB-1"}, "MISSING_FIELD", "name"),
    ({"name": "x"}, "MISSING_FIELD", "code"),
    ({"name": "   ", "code": "AB-1"}, "INVALID_FIELD", "name"),
    ({"name": "x" * 101, "code": "AB-1"}, "INVALID_FIELD", "name"),
    ({"name": "x", "code": "ab-1"}, "INVALID_FIELD", "code"),
    ({"name": "x", "code": "A"}, "INVALID_FIELD", "code"),
    ({"name": "x", "code": "A" * 17}, "INVALID_FIELD", "code"),
    ({"name": "x", "code": "AB-1", "city": 3}, "INVALID_FIELD", "city"),
    ({"name": "x", "code": "AB-1", "address": "长" * 256}, "INVALID_FIELD", "address"),
    ({"name": "x", "code": "AB-1", "open_for_leads": "yes"}, "INVALID_FIELD", "open_for_leads"),
    ({"name": "x", "code": "AB-1", "default_handover_date": "2027-02-30"}, "INVALID_FIELD", "default_handover_date"),
    ({"name": "x", "code": "AB-1", "owner": "me"}, "INVALID_FIELD", "owner"),
])
def test_create_project_bad_input(api, db, people, body, code_, field):
    count, audit = db.scalar("SELECT COUNT(*) FROM projects"), db.scalar("SELECT COUNT(*) FROM audit_log")
    expect_error(api.post(PROJECTS, json=body, token=people["admin"]), 400, code_, field)
    assert db.scalar("SELECT COUNT(*) FROM projects") == count
    assert db.scalar("SELECT COUNT(*) FROM audit_log") == audit


def test_list_and_get_by_role(api, people):
    project, other = people["project"], people["other"]
    ids = [p["id"] for p in expect_ok(api.get(PROJECTS + "?limit=100", token=people["sup"]))]
    assert ids == [project]
    for who in ("agent", "eng", "owner"):
        expect_error(api.get(PROJECTS, token=people[who]), 403, "FORBIDDEN")
        expect_error(api.get(f"{PROJECTS}/{project}", token=people[who]), 403, "FORBIDDEN")
    expect_error(api.get(PROJECTS), 401, "UNAUTHENTICATED")
    assert expect_ok(api.get(f"{PROJECTS}/{project}", token=people["sup"]))["project"]["id"] == project
    expect_error(api.get(f"{PROJECTS}/{project}", token=people["other_sup"]), 403, "FORBIDDEN")
    expect_error(api.get(f"{PROJECTS}/987654321", token=people["admin"]), 404, "NOT_FOUND")
    # Admin: every project, newest first, paged; filters.
    r = api.get(PROJECTS + "?limit=1", token=people["admin"])
    first = r.json()
    assert len(first["data"]) == 1 and first["next_cursor"]
    second = expect_ok(api.get(PROJECTS + "?limit=1&cursor=" + first["next_cursor"], token=people["admin"]))
    assert second[0]["id"] < first["data"][0]["id"]
    expect_error(api.get(PROJECTS + "?cursor=zz", token=people["admin"]), 400, "INVALID_FIELD", "cursor")
    expect_error(api.get(PROJECTS + "?open_for_leads=maybe", token=people["admin"]), 400, "INVALID_FIELD",
                 "open_for_leads")


def test_patch_project_roles_and_audit(api, db, people):
    project = people["project"]
    url = f"{PROJECTS}/{project}"
    before = db.one("SELECT code, name, city FROM projects WHERE id = %s", (project,))
    for who in ("other_sup", "agent", "eng", "owner"):
        r = patch(api, url, json={"city": "上海"}, token=people[who])
        assert r.status_code == 403, r.text
    # The supervisor runs the project's own fields, not its identity.
    expect_error(patch(api, url, json={"code": code()}, token=people["sup"]), 403, "FORBIDDEN", "code")
    expect_error(patch(api, url, json={"name": "新名"}, token=people["sup"]), 403, "FORBIDDEN", "name")
    assert db.one("SELECT code, name, city FROM projects WHERE id = %s", (project,)) == before
    d = expect_ok(patch(api, url, json={"city": "上海", "open_for_leads": False}, token=people["sup"]))
    assert d["changed"] is True and d["project"]["city"] == "上海" and d["project"]["open_for_leads"] is False
    [a] = audits(db, "project.update", project)
    assert a["actor_user_id"] == people["sup_id"] and a["project_id"] == project
    assert a["detail"]["before"] == {"city": before["city"], "open_for_leads": True}
    assert a["detail"]["after"] == {"city": "上海", "open_for_leads": False}
    # The same again changes nothing and writes no audit row.
    assert expect_ok(patch(api, url, json={"city": "上海"}, token=people["sup"]))["changed"] is False
    assert len(audits(db, "project.update", project)) == 1
    # The admin renames; a taken code is 409 and nothing changes.
    new = code()
    expect_ok(patch(api, url, json={"name": "改名", "code": new}, token=people["admin"]))
    taken = code()
    db.exec("UPDATE projects SET code = %s WHERE id = %s", (taken, people["other"]))
    expect_error(patch(api, url, json={"code": taken}, token=people["admin"]), 409, "DUPLICATE", "code")
    expect_error(patch(api, url, json={"default_handover_date": "soon"}, token=people["admin"]), 400,
                 "INVALID_FIELD", "default_handover_date")
    assert db.scalar("SELECT code FROM projects WHERE id = %s", (project,)) == new
    assert len(audits(db, "project.update", project)) == 2


def test_reward_rule_get_and_put(api, db, people):
    project = people["project"]
    url = f"{PROJECTS}/{project}/reward-rule"
    assert expect_ok(api.get(url, token=people["sup"])) == {"rule": None}
    expect_error(api.get(url, token=people["other_sup"]), 403, "FORBIDDEN")
    expect_error(api.get(url, token=people["agent"]), 403, "FORBIDDEN")
    body = {"kind": "cash", "amount": 500000, "description": "老带新"}
    expect_error(api.put(url, json=body, token=people["sup"]), 403, "FORBIDDEN")
    expect_error(api.put(url, json=dict(body, bonus=1), token=people["admin"]), 400, "INVALID_FIELD", "bonus")
    d = expect_ok(api.put(url, json=body, token=people["admin"]))["rule"]
    assert d["amount_display"] == "¥5000.00" and d["active"] is True
    assert expect_ok(api.get(url, token=people["sup"]))["rule"] == d
    [a] = audits(db, "reward_rule.set", project)
    assert a["detail"]["before"] is None and a["detail"]["after"]["amount"] == 500000


def test_managers(api, db, people):
    project = people["project"]
    url = f"{PROJECTS}/{project}/managers"
    assert expect_ok(api.get(url, token=people["sup"]))["managers"] == []
    expect_error(api.get(url, token=people["other_sup"]), 403, "FORBIDDEN")
    expect_error(api.put(url, json={"user_ids": [people["eng_id"]]}, token=people["other_sup"]), 403, "FORBIDDEN")
    expect_error(api.put(url, json={"user_ids": [people["eng_id"]]}, token=people["agent"]), 403, "FORBIDDEN")
    db.exec("UPDATE users SET display_name = '王经理' WHERE id = %s", (people["sup_id"],))
    d = expect_ok(api.put(url, json={"user_ids": [people["sup_id"], people["eng_id"]]}, token=people["sup"]))
    assert d["changed"] is True
    assert [m["user_id"] for m in d["managers"]] == sorted([people["sup_id"], people["eng_id"]])
    assert {m["user_id"]: m["display_name"] for m in d["managers"]}[people["sup_id"]] == "王经理"
    [a] = audits(db, "project.managers.set", project)
    assert a["detail"]["before"] == {"user_ids": []}
    assert a["detail"]["after"] == {"user_ids": sorted([people["sup_id"], people["eng_id"]])}
    # Someone without a role in the project, a repeated id, a bad list: refused, nothing written.
    for body, status, code_ in [({"user_ids": [people["admin_id"]]}, 422, "UNPROCESSABLE"),
                                ({"user_ids": [people["eng_id"], people["eng_id"]]}, 400, "INVALID_FIELD"),
                                ({"user_ids": "1"}, 400, "INVALID_FIELD"), ({"user_ids": [0]}, 400, "INVALID_FIELD"),
                                ({}, 400, "MISSING_FIELD")]:
        expect_error(api.put(url, json=body, token=people["admin"]), status, code_, "user_ids")
    assert db.scalar("SELECT COUNT(*) FROM project_managers WHERE project_id = %s", (project,)) == 2
    assert expect_ok(api.put(url, json={"user_ids": []}, token=people["admin"]))["managers"] == []
    assert len(audits(db, "project.managers.set", project)) == 2


def test_buildings_of_a_project(api, db, people):
    project = people["project"]
    url = f"{PROJECTS}/{project}/buildings"
    expect_ok(patch(api, f"{PROJECTS}/{project}", json={"default_handover_date": "2026-12-31"},
                    token=people["admin"]))
    for who in ("other_sup", "agent", "eng", "owner"):
        assert api.post(url, json={"name": "1栋"}, token=people[who]).status_code == 403
    b = expect_ok(api.post(url, json={"name": " 1栋 "}, token=people["sup"]), 201)["building"]
    assert b["name"] == "1栋" and b["handover_date"] == "2026-12-31" and b["project_id"] == project
    b2 = expect_ok(api.post(url, json={"name": "2栋", "handover_date": None}, token=people["sup"]), 201)["building"]
    assert b2["handover_date"] is None
    expect_error(api.post(url, json={"name": "1栋"}, token=people["sup"]), 409, "DUPLICATE", "name")
    expect_error(api.post(url, json={"name": ""}, token=people["sup"]), 400, "INVALID_FIELD", "name")
    expect_error(api.post(url, json={"name": "3栋", "floors": 3}, token=people["sup"]), 400, "INVALID_FIELD", "floors")
    [a] = audits(db, "building.create", b["id"])
    assert a["project_id"] == project and a["detail"]["after"]["name"] == "1栋"
    page = api.get(url + "?limit=1&q=栋", token=people["sup"]).json()
    assert [x["id"] for x in page["data"]] == [b["id"]] and page["data"][0]["unit_count"] == 0
    rest = expect_ok(api.get(url + "?q=栋&limit=1&cursor=" + page["next_cursor"], token=people["sup"]))
    assert [x["id"] for x in rest] == [b2["id"]]
    assert [x["id"] for x in expect_ok(api.get(url + "?q=2栋", token=people["sup"]))] == [b2["id"]]
    expect_error(api.get(url, token=people["other_sup"]), 403, "FORBIDDEN")
    assert db.scalar("SELECT COUNT(*) FROM buildings WHERE project_id = %s AND name LIKE '%%栋'", (project,)) == 2
