"""The dispatch preview: who would get a ticket for this unit and category
now, and why; the same choice the real dispatch then makes, nothing written
by asking; the roles and bad input."""
from admin_support import callers
from conftest import expect_error, expect_ok, unique
from repairs_support import named_user, new_ticket, ticket_row, world

PREVIEW = "/api/v1/admin/dispatch-preview"


def state(db):
    """What a preview must not change."""
    return [db.scalar(f"SELECT COUNT(*) FROM {t}") for t in
            ("repair_tickets", "repair_timeline", "notification_events", "audit_log", "repair_declines")]


def ask(api, w, token=None, category=None):
    return expect_ok(api.get(PREVIEW, params={"unit": w.unit_a, "category": category or w.category},
                             token=token or w.supervisor.token))


def test_preview_is_the_choice_dispatch_makes(api, factory, db):
    w = world(factory, db, engineers=2)
    first, second = sorted(w.engineers, key=lambda e: e.id)
    rule = db.scalar("SELECT id FROM repair_dispatch_rules WHERE project_id = %s", (w.project_id,))
    before = state(db)
    p = ask(api, w)
    assert state(db) == before  # asking writes nothing
    assert p["unit"]["id"] == w.unit_a and p["unit"]["building"]["id"] == w.building_id
    assert p["unit"]["project_id"] == w.project_id
    assert p["category"] == {"id": w.category_id, "code": w.category, "name": p["category"]["name"]}
    assert p["rule"] == {"id": rule, "building_id": 0, "category_id": 0}
    assert p["group"]["id"] == w.group_id
    assert p["engineer"] == {"id": first.id, "name": "师傅0" if first is w.engineers[0] else "师傅1", "open_load": 0}
    assert (p["via"], p["reason"], p["outcome"]) == ("group", "rule_group", "dispatched")
    # The category by id answers the same.
    assert ask(api, w, category=str(w.category_id)) == p

    t = new_ticket(api, w)
    assert ticket_row(db, t["id"])["engineer_id"] == p["engineer"]["id"]
    # The least loaded now is the other one; the preview follows.
    p2 = ask(api, w)
    assert p2["engineer"]["id"] == second.id and p2["engineer"]["open_load"] == 0
    t2 = new_ticket(api, w, owner=w.owner_b)
    assert ticket_row(db, t2["id"])["engineer_id"] == second.id


def test_the_reasons(api, factory, db):
    # No rule: any engineer of the project.
    w = world(factory, db, engineers=1, rule=False)
    p = ask(api, w)
    assert p["rule"] is None and p["group"] is None and p["engineer"]["id"] == w.engineers[0].id
    assert (p["via"], p["reason"], p["outcome"]) == ("project", "no_rule", "dispatched")
    # A rule whose group has nobody eligible: any engineer of the project.
    empty = db.exec("INSERT INTO repair_engineer_groups (project_id, name) VALUES (%s, %s)",
                    (w.project_id, unique("空组")))
    rid = db.exec("INSERT INTO repair_dispatch_rules (project_id, building_id, category_id, group_id)"
                  " VALUES (%s, %s, 0, %s)", (w.project_id, w.building_id, empty))
    p = ask(api, w)
    assert p["rule"]["id"] == rid and p["group"]["id"] == empty and p["engineer"]["id"] == w.engineers[0].id
    assert (p["via"], p["reason"]) == ("project", "group_nobody_eligible")
    # Nobody at all: the ticket would wait for a supervisor, as the real one does.
    db.exec("DELETE FROM staff_roles WHERE user_id = %s AND role = 'engineer'", (w.engineers[0].id,))
    p = ask(api, w)
    assert p["engineer"] is None and p["via"] is None
    assert (p["reason"], p["outcome"]) == ("no_engineer", "waits_for_supervisor")
    t = new_ticket(api, w)
    assert ticket_row(db, t["id"])["state"] == "submitted"


def test_roles_and_bad_input(api, factory, db):
    w = world(factory, db)
    k = callers(factory)  # another project's staff
    admin = named_user(factory, db, "管理员", roles=[("admin", 0)])
    ask(api, w, token=admin.token)
    params = {"unit": w.unit_a, "category": w.category}
    expect_error(api.get(PREVIEW, params=params), 401, "UNAUTHENTICATED")
    # The project's own engineer and owner, and an agent.
    for token in (w.engineers[0].token, w.owner_a.token, k.agent):
        expect_error(api.get(PREVIEW, params=params, token=token), 403, "FORBIDDEN")
    expect_error(api.get(PREVIEW, params=params, token=k.supervisor), 404, "NOT_FOUND")
    expect_error(api.get(PREVIEW, params={"unit": 999999999, "category": w.category}, token=admin.token),
                 404, "NOT_FOUND")
    expect_error(api.get(PREVIEW, params={"category": w.category}, token=admin.token), 400, "MISSING_FIELD", "unit")
    expect_error(api.get(PREVIEW, params={"unit": w.unit_a}, token=admin.token), 400, "MISSING_FIELD", "category")
    expect_error(api.get(PREVIEW, params={"unit": "x", "category": w.category}, token=admin.token),
                 400, "INVALID_FIELD", "unit")
    expect_error(api.get(PREVIEW, params={"unit": w.unit_a, "category": "no_such"}, token=admin.token),
                 400, "INVALID_FIELD", "category")
    db.exec("UPDATE repair_categories SET active = 0 WHERE id = %s", (w.category_id,))
    expect_error(api.get(PREVIEW, params=params, token=admin.token), 400, "INVALID_FIELD", "category")
