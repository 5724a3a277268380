"""Repair categories per project through the administration API: the roles,
the defaults a project uses until its first change copies them, tickets and
rules following the copy, inactive categories refused when filing, bad
input refused with nothing written, the audit rows, paging and filters."""
from admin_support import audit_rows, callers, patch, refused, table_rows
from conftest import expect_error, expect_ok, unique
from repairs_support import file_ticket, new_ticket, ticket_body, world

CATS = "/api/v1/admin/repair-categories"


def body(**kw):
    b = {"code": unique("c_")[:20], "name": "空调", "accept_minutes": 60, "arrive_minutes": 600,
         "resolve_minutes": 2880, "warranty_months": 24}
    b.update(kw)
    return b


def own_rows(db, project):
    return table_rows(db, "SELECT * FROM repair_categories WHERE project_id = %s ORDER BY id", (project,))


def test_roles(api, factory, db):
    k = callers(factory)
    refused(api, k, [("GET", CATS, None), ("POST", CATS, body(project_id=k.project)),
                     ("PATCH", f"{CATS}/1", {"name": "x"})])
    # The defaults are read by any supervisor; a project's list by its supervisors and admins.
    for token in (k.admin, k.supervisor, k.other_supervisor):
        assert any(c["code"] == "plumbing_electric" for c in expect_ok(api.get(CATS, params={"limit": 100},
                                                                               token=token)))
    expect_error(api.get(CATS, params={"project": k.project}, token=k.other_supervisor), 403, "FORBIDDEN", "project")
    expect_ok(api.get(CATS, params={"project": k.project}, token=k.supervisor))
    # Changing the defaults is the admin's.
    expect_error(api.post(CATS, json=body(), token=k.supervisor), 403, "FORBIDDEN", "project_id")
    expect_error(api.post(CATS, json=body(project_id=k.project), token=k.other_supervisor), 403, "FORBIDDEN",
                 "project_id")
    assert own_rows(db, k.project) == []
    d = expect_ok(api.post(CATS, json=body(), token=k.admin), 201)
    assert d["project_id"] == 0
    default_id = d["id"]
    expect_error(patch(api, f"{CATS}/{default_id}", json={"name": "改"}, token=k.supervisor), 403, "FORBIDDEN")
    d = expect_ok(patch(api, f"{CATS}/{default_id}", json={"name": "改", "active": False}, token=k.admin))
    assert d["name"] == "改" and d["active"] is False
    [create, update] = audit_rows(db, "repair_category", default_id)
    assert create["action"] == "repair_category.create" and create["detail"]["before"] is None
    assert create["actor_user_id"] == k.admin_id and "project_id" not in create["detail"]
    assert update["detail"]["before"] == {"name": "空调", "active": True}
    assert update["detail"]["after"] == {"name": "改", "active": False}


def test_first_change_copies_the_defaults_and_moves_tickets_and_rules(api, factory, db):
    w = world(factory, db)
    admin_id, admin = factory.user(roles=[("admin", 0)])
    t = new_ticket(api, w)
    rule = db.exec("INSERT INTO repair_dispatch_rules (project_id, building_id, category_id, group_id)"
                   " VALUES (%s, %s, %s, %s)", (w.project_id, w.building_id, w.category_id, w.group_id))
    # Before: the project shows the defaults, marked inherited.
    listed = expect_ok(api.get(CATS, params={"project": w.project_id, "limit": 100}, token=w.supervisor.token))
    mine = [c for c in listed if c["code"] == w.category]
    assert mine and mine[0]["id"] == w.category_id and mine[0]["inherited"] is True
    other = world(factory, db)

    d = expect_ok(patch(api, f"{CATS}/{w.category_id}", params={"project": w.project_id},
                        json={"name": "水电改", "accept_minutes": 30}, token=w.supervisor.token))
    copy_id = d["id"]
    assert copy_id != w.category_id and d["project_id"] == w.project_id and d["code"] == w.category
    assert d["name"] == "水电改" and d["accept_minutes"] == 30 and d["arrive_minutes"] == 1440
    # Every default was copied; the default itself is unchanged.
    defaults = {r["code"] for r in db.query("SELECT code FROM repair_categories WHERE project_id = 0")}
    copied = {r["code"] for r in db.query("SELECT code FROM repair_categories WHERE project_id = %s",
                                          (w.project_id,))}
    assert w.category in copied and "waterproofing" in copied and copied <= defaults
    assert db.one("SELECT name, accept_within_s FROM repair_categories WHERE id = %s", (w.category_id,)) == \
        {"name": db.scalar("SELECT name FROM repair_categories WHERE id = %s", (w.category_id,)), "accept_within_s": 7200}
    # The project's ticket and rule follow the copy; another project's do not.
    assert db.scalar("SELECT category_id FROM repair_tickets WHERE id = %s", (t["id"],)) == copy_id
    assert db.scalar("SELECT category_id FROM repair_dispatch_rules WHERE id = %s", (rule,)) == copy_id
    t2 = new_ticket(api, other)
    assert db.scalar("SELECT category_id FROM repair_tickets WHERE id = %s", (t2["id"],)) == other.category_id
    # The audit row: only what changed, and that the defaults were copied.
    [a] = audit_rows(db, "repair_category", copy_id)
    assert a["actor_user_id"] == w.supervisor.id and a["action"] == "repair_category.update"
    assert a["detail"]["before"] == {"name": mine[0]["name"], "accept_minutes": 120}
    assert a["detail"]["after"] == {"name": "水电改", "accept_minutes": 30}
    assert a["detail"]["copied_defaults"] is True and a["detail"]["project_id"] == w.project_id
    # A second change copies nothing more.
    n = db.scalar("SELECT COUNT(*) FROM repair_categories WHERE project_id = %s", (w.project_id,))
    expect_ok(patch(api, f"{CATS}/{copy_id}", json={"sort_order": 7}, token=w.supervisor.token))
    assert db.scalar("SELECT COUNT(*) FROM repair_categories WHERE project_id = %s", (w.project_id,)) == n
    assert "copied_defaults" not in audit_rows(db, "repair_category", copy_id)[1]["detail"]
    # The default's id no longer names one of the project's categories... but ?project= finds the copy.
    expect_ok(patch(api, f"{CATS}/{w.category_id}", params={"project": w.project_id}, json={"sort_order": 8},
                    token=w.supervisor.token))
    assert db.scalar("SELECT sort_order FROM repair_categories WHERE id = %s", (copy_id,)) == 8

    # The owner's list and filing use the project's own categories.
    own = expect_ok(api.get("/api/v1/repair-categories", params={"unit": w.unit_a}, token=w.owner_a.token))
    assert [c["name"] for c in own if c["code"] == w.category] == ["水电改"]
    t3 = new_ticket(api, w)
    row = db.one("SELECT category_id, TIMESTAMPDIFF(SECOND, clock_started_at, accept_due_at) AS s"
                 " FROM repair_tickets WHERE id = %s", (t3["id"],))
    assert row == {"category_id": copy_id, "s": 1800}
    other_list = expect_ok(api.get("/api/v1/repair-categories", params={"unit": other.unit_a},
                                   token=other.owner_a.token))
    assert [c["id"] for c in other_list if c["code"] == other.category] == [other.category_id]
    expect_error(api.get("/api/v1/repair-categories", params={"unit": other.unit_a}, token=w.owner_a.token),
                 404, "NOT_FOUND", "unit")

    # Inactive: not listed, cannot be chosen.
    expect_ok(patch(api, f"{CATS}/{copy_id}", json={"active": False}, token=admin))
    assert w.category not in [c["code"] for c in expect_ok(api.get("/api/v1/repair-categories",
                                                                   params={"project": w.project_id},
                                                                   token=w.owner_a.token))]
    count = db.scalar("SELECT COUNT(*) FROM repair_tickets WHERE project_id = %s", (w.project_id,))
    expect_error(file_ticket(api, w.owner_a.token, ticket_body(w)), 400, "INVALID_FIELD", "category")
    assert db.scalar("SELECT COUNT(*) FROM repair_tickets WHERE project_id = %s", (w.project_id,)) == count
    assert admin_id


def test_another_projects_supervisor_sees_nothing(api, factory, db):
    k = callers(factory)
    d = expect_ok(api.post(CATS, json=body(project_id=k.project), token=k.supervisor), 201)
    assert d["project_id"] == k.project
    [a] = audit_rows(db, "repair_category", d["id"])
    assert a["detail"]["copied_defaults"] is True and a["detail"]["after"]["code"] == d["code"]
    before = own_rows(db, k.project)
    expect_error(patch(api, f"{CATS}/{d['id']}", json={"name": "偷改"}, token=k.other_supervisor), 404, "NOT_FOUND")
    # Naming another project does not help either.
    expect_error(patch(api, f"{CATS}/{d['id']}", params={"project": k.other_project}, json={"name": "偷改"},
                       token=k.other_supervisor), 404, "NOT_FOUND")
    expect_error(patch(api, f"{CATS}/999999999", json={"name": "x"}, token=k.admin), 404, "NOT_FOUND")
    assert own_rows(db, k.project) == before


def test_bad_input_names_the_field_and_writes_nothing(api, factory, db):
    k = callers(factory)
    d = expect_ok(api.post(CATS, json=body(project_id=k.project, code="aircon"), token=k.supervisor), 201)
    before = own_rows(db, k.project)
    audits = db.scalar("SELECT COUNT(*) FROM audit_log WHERE target_type = 'repair_category'")
    cases = [
        (body(project_id=k.project, code="aircon"), 409, "DUPLICATE", "code"),
        (body(project_id=k.project, code="Air Con"), 400, "INVALID_FIELD", "code"),
        (body(project_id=k.project, code=""), 400, "INVALID_FIELD", "code"),
        (body(project_id=k.project, name="  "), 400, "INVALID_FIELD", "name"),
        (body(project_id=k.project, name="长" * 33), 400, "INVALID_FIELD", "name"),
        (body(project_id=k.project, accept_minutes=0), 400, "INVALID_FIELD", "accept_minutes"),
        (body(project_id=k.project, arrive_minutes=30), 400, "INVALID_FIELD", "arrive_minutes"),
        (body(project_id=k.project, resolve_minutes=525601), 400, "INVALID_FIELD", "resolve_minutes"),
        (body(project_id=k.project, warranty_months=-1), 400, "INVALID_FIELD", "warranty_months"),
        (body(project_id=k.project, active="yes"), 400, "INVALID_FIELD", "active"),
        (body(project_id=k.project, colour="red"), 400, "INVALID_FIELD", "colour"),
        (body(project_id=999999999), 404, "NOT_FOUND", "project_id"),
    ]
    no_name = body(project_id=k.project)
    del no_name["name"]
    cases.append((no_name, 400, "MISSING_FIELD", "name"))
    for b, status, code, field in cases:
        expect_error(api.post(CATS, json=b, token=k.admin), status, code, field)
    for b, status, code, field in [
        ({"code": "other"}, 400, "INVALID_FIELD", "code"),
        ({"project_id": 1}, 400, "INVALID_FIELD", "project_id"),
        ({"name": ""}, 400, "INVALID_FIELD", "name"),
        ({"accept_minutes": 5000}, 400, "INVALID_FIELD", "arrive_minutes"),
        ({"sort_order": 1.5}, 400, "INVALID_FIELD", "sort_order"),
        ({}, 400, "MISSING_FIELD", None),
    ]:
        expect_error(patch(api, f"{CATS}/{d['id']}", json=b, token=k.admin), status, code, field)
    assert own_rows(db, k.project) == before
    assert db.scalar("SELECT COUNT(*) FROM audit_log WHERE target_type = 'repair_category'") == audits
    # Names are trimmed; warranty null means none.
    d = expect_ok(patch(api, f"{CATS}/{d['id']}", json={"name": " 空调 ", "warranty_months": None},
                        token=k.admin))
    assert d["name"] == "空调" and d["warranty_months"] is None


def test_paging_and_filters(api, factory, db):
    k = callers(factory)
    ids = [expect_ok(api.post(CATS, json=body(project_id=k.project, sort_order=-100 + i, active=i != 1),
                              token=k.supervisor), 201)["id"] for i in range(3)]
    r = api.get(CATS, params={"project": k.project, "limit": 2}, token=k.supervisor).json()
    assert [c["id"] for c in r["data"]] == ids[:2] and r["next_cursor"]
    r2 = api.get(CATS, params={"project": k.project, "limit": 2, "cursor": r["next_cursor"]},
                 token=k.supervisor).json()
    assert r2["data"][0]["id"] == ids[2] and all(c["inherited"] is False for c in r2["data"])
    inactive = expect_ok(api.get(CATS, params={"project": k.project, "active": "false", "limit": 100},
                                 token=k.supervisor))
    assert [c["id"] for c in inactive if c["id"] in ids] == [ids[1]]  # (and inactive defaults copied)
    assert all(c["active"] is False and c["project_id"] == k.project for c in inactive)
    expect_error(api.get(CATS, params={"active": "maybe"}, token=k.admin), 400, "INVALID_FIELD", "active")
    expect_error(api.get(CATS, params={"cursor": "zz"}, token=k.admin), 400, "INVALID_FIELD", "cursor")
