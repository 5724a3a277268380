"""Display names and titles: PATCH /api/v1/admin/users/{id} (admin; a
supervisor for their projects' staff) and PATCH /api/v1/me (staff, their
own name): roles, bad input refused with nothing written, the audit rows."""
import json

import pytest

from conftest import expect_error, expect_ok


def patch(api, path, **kw):
    return api.request("PATCH", path, **kw)


def names(db, uid):
    return db.one("SELECT display_name, title FROM users WHERE id = %s", (uid,))


def user_audits(db, uid):
    rows = db.query("SELECT actor_user_id, project_id, detail FROM audit_log WHERE action = 'user.update'"
                    " AND target_id = %s ORDER BY id", (uid,))
    return [dict(r, detail=json.loads(r["detail"])) for r in rows]


def test_admin_and_supervisor_set_names(api, db, factory):
    project, other = factory.project(), factory.project()
    admin_id, admin = factory.user(roles=[("admin", 0)])
    sup_id, sup = factory.user(roles=[("supervisor", project)])
    _, other_sup = factory.user(roles=[("supervisor", other)])
    eng_id, eng = factory.user(roles=[("engineer", project)])
    _, agent = factory.user(roles=[("agent", project)])
    _, owner, _, _ = factory.owner_user(project)
    url = f"/api/v1/admin/users/{eng_id}"
    body = {"display_name": " 李师傅 ", "title": "水电工"}
    expect_error(patch(api, url, json=body), 401, "UNAUTHENTICATED")
    for t in (eng, agent, owner):
        expect_error(patch(api, url, json=body, token=t), 403, "FORBIDDEN")
    expect_error(patch(api, url, json=body, token=other_sup), 404, "NOT_FOUND")
    assert names(db, eng_id) == {"display_name": None, "title": None}
    d = expect_ok(patch(api, url, json=body, token=sup))
    assert d == {"user": {"id": eng_id, "display_name": "李师傅", "title": "水电工"}, "changed": True}
    [a] = user_audits(db, eng_id)
    assert a["actor_user_id"] == sup_id and a["project_id"] == project
    assert a["detail"]["before"] == {"display_name": None, "title": None}
    assert a["detail"]["after"] == {"display_name": "李师傅", "title": "水电工"}
    assert expect_ok(patch(api, url, json={"title": ""}, token=admin))["user"]["title"] is None
    assert expect_ok(patch(api, url, json={"title": None}, token=admin))["changed"] is False
    assert len(user_audits(db, eng_id)) == 2
    expect_error(patch(api, "/api/v1/admin/users/987654321", json=body, token=admin), 404, "NOT_FOUND")


@pytest.mark.parametrize("body, code, field", [
    ({"display_name": ""}, "INVALID_FIELD", "display_name"),
    ({"display_name": "   "}, "INVALID_FIELD", "display_name"),
    ({"display_name": "名" * 33}, "INVALID_FIELD", "display_name"),
    ({"display_name": 5}, "INVALID_FIELD", "display_name"),
    ({"title": "长" * 33}, "INVALID_FIELD", "title"),
    ({"phone": "13900000000"}, "INVALID_FIELD", "phone"),
])
def test_bad_names_write_nothing(api, db, factory, body, code, field):
    _, admin = factory.user(roles=[("admin", 0)])
    uid, _ = factory.user(roles=[("engineer", factory.project())])
    audits = db.scalar("SELECT COUNT(*) FROM audit_log")
    expect_error(patch(api, f"/api/v1/admin/users/{uid}", json=body, token=admin), 400, code, field)
    assert names(db, uid) == {"display_name": None, "title": None}
    assert db.scalar("SELECT COUNT(*) FROM audit_log") == audits


def test_staff_set_their_own_display_name(api, db, factory):
    eng_id, eng = factory.user(roles=[("engineer", factory.project())])
    buyer_id, buyer = factory.user()
    expect_error(patch(api, "/api/v1/me", json={"display_name": "买家"}, token=buyer), 403, "FORBIDDEN")
    expect_error(patch(api, "/api/v1/me", json={"display_name": "x"}), 401, "UNAUTHENTICATED")
    expect_error(patch(api, "/api/v1/me", json={"title": "经理"}, token=eng), 400, "INVALID_FIELD", "title")
    assert names(db, buyer_id)["display_name"] is None
    d = expect_ok(patch(api, "/api/v1/me", json={"display_name": "李师傅"}, token=eng))
    assert d["user"]["display_name"] == "李师傅" and d["changed"] is True
    [a] = user_audits(db, eng_id)
    assert a["actor_user_id"] == eng_id and a["detail"]["after"] == {"display_name": "李师傅"}
