"""Roles: 401 vs 403, granting and revoking staff roles (applied on the
user's next request, no new login), the last-admin guard, the audit log and
input validation."""
import json
import subprocess

import pytest

from conftest import expect_error, expect_ok, unique, unique_phone

STAFF = "/api/v1/admin/staff"


def roles_of(api, token):
    return expect_ok(api.get("/api/v1/me", token=token))["roles"]


def audit_rows(db, target_id):
    rows = db.query("SELECT actor_user_id, action, target_type, target_id, detail FROM audit_log"
                    " WHERE target_type = 'user' AND target_id = %s ORDER BY id", (target_id,))
    for r in rows:
        r["detail"] = json.loads(r["detail"])
    return rows


def test_admin_route_401_without_token_403_for_buyer(api, factory, db):
    uid, token = factory.user()
    project = factory.project()
    _, agent_token = factory.user(roles=[("agent", project)])
    grants = db.scalar("SELECT COUNT(*) FROM staff_roles")
    body = {"user_id": uid, "role": "admin"}
    expect_error(api.post(STAFF, json=body), 401, "UNAUTHENTICATED")
    expect_error(api.post(STAFF, json=body, token=token), 403, "FORBIDDEN")
    expect_error(api.delete(STAFF, json=body, token=token), 403, "FORBIDDEN")
    # A staff role that is not admin is not enough either.
    expect_error(api.post(STAFF, json=body, token=agent_token), 403, "FORBIDDEN")
    assert db.scalar("SELECT COUNT(*) FROM staff_roles") == grants
    assert roles_of(api, token) == ["buyer"]


def test_grant_and_revoke_apply_on_next_request(api, factory, db):
    admin_id, admin = factory.user(roles=[("admin", 0)])
    project = factory.project()
    uid, token = factory.user()

    # A project role.
    r = api.post(STAFF, token=admin, json={"user_id": uid, "role": "agent", "project_id": project})
    assert expect_ok(r, 201) == {"user_id": uid, "role": "agent", "project_id": project, "created": True}
    assert db.one("SELECT role, project_id, granted_by FROM staff_roles WHERE user_id = %s", (uid,)) == \
        {"role": "agent", "project_id": project, "granted_by": admin_id}
    assert roles_of(api, token) == ["buyer", "agent"]  # same token, no new login

    # Granting again changes nothing and writes no second audit row.
    r = api.post(STAFF, token=admin, json={"user_id": uid, "role": "agent", "project_id": project})
    assert expect_ok(r, 200)["created"] is False
    assert db.scalar("SELECT COUNT(*) FROM staff_roles WHERE user_id = %s", (uid,)) == 1

    # admin, global: the user can use admin routes at once.
    expect_error(api.post(STAFF, token=token, json={"user_id": uid, "role": "engineer", "project_id": project}),
                 403, "FORBIDDEN")
    r = api.post(STAFF, token=admin, json={"user_id": uid, "role": "admin"})
    assert expect_ok(r, 201) == {"user_id": uid, "role": "admin", "project_id": None, "created": True}
    assert db.scalar("SELECT project_id FROM staff_roles WHERE user_id = %s AND role = 'admin'", (uid,)) == 0
    r = api.post(STAFF, token=token, json={"user_id": uid, "role": "engineer", "project_id": project})
    expect_ok(r, 201)
    assert roles_of(api, token) == ["buyer", "agent", "engineer", "admin"]

    # Revoke admin: the next admin request is refused.
    r = api.delete(STAFF, token=admin, json={"user_id": uid, "role": "admin"})
    assert expect_ok(r) == {"user_id": uid, "role": "admin", "project_id": None, "removed": True}
    assert db.scalar("SELECT COUNT(*) FROM staff_roles WHERE user_id = %s AND role = 'admin'", (uid,)) == 0
    expect_error(api.post(STAFF, token=token, json={"user_id": uid, "role": "admin"}), 403, "FORBIDDEN")
    assert roles_of(api, token) == ["buyer", "agent", "engineer"]

    # Revoking what the user does not hold: 404, nothing written.
    expect_error(api.delete(STAFF, token=admin, json={"user_id": uid, "role": "supervisor", "project_id": project}),
                 404, "NOT_FOUND")

    rows = audit_rows(db, uid)
    assert [(r["actor_user_id"], r["action"], r["detail"]["role"], r["detail"]["project_id"]) for r in rows] == [
        (admin_id, "staff.grant", "agent", project),
        (admin_id, "staff.grant", "admin", 0),
        (uid, "staff.grant", "engineer", project),
        (admin_id, "staff.revoke", "admin", 0),
    ]


@pytest.fixture
def only_admin(db, factory):
    """Makes a fresh user the only admin for the test, putting the other
    admin grants back afterwards."""
    others = db.query("SELECT user_id, role, project_id, granted_by, created_at FROM staff_roles"
                      " WHERE role = 'admin'")
    admin_id, token = factory.user()
    db.exec("DELETE FROM staff_roles WHERE role = 'admin'")
    db.exec("INSERT INTO staff_roles (user_id, role, project_id) VALUES (%s, 'admin', 0)", (admin_id,))
    try:
        yield admin_id, token
    finally:
        db.exec("DELETE FROM staff_roles WHERE role = 'admin' AND user_id = %s", (admin_id,))
        for r in others:
            db.exec("INSERT IGNORE INTO staff_roles (user_id, role, project_id, granted_by, created_at)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    (r["user_id"], r["role"], r["project_id"], r["granted_by"], r["created_at"]))


def test_last_admin_cannot_be_revoked(api, db, factory, only_admin):
    admin_id, admin = only_admin
    r = api.delete(STAFF, token=admin, json={"user_id": admin_id, "role": "admin"})
    err = expect_error(r, 409, "CONFLICT", "user_id")
    assert "last admin" in err["message"]
    assert db.scalar("SELECT COUNT(*) FROM staff_roles WHERE role = 'admin'") == 1
    assert audit_rows(db, admin_id) == []

    # With a second admin, the first may step down.
    second_id, second = factory.user()
    expect_ok(api.post(STAFF, token=admin, json={"user_id": second_id, "role": "admin"}), 201)
    expect_ok(api.delete(STAFF, token=second, json={"user_id": admin_id, "role": "admin"}))
    assert db.scalar("SELECT user_id FROM staff_roles WHERE role = 'admin'") == second_id
    # ... and now the second is the last one.
    expect_error(api.delete(STAFF, token=second, json={"user_id": second_id, "role": "admin"}),
                 409, "CONFLICT", "user_id")
    db.exec("DELETE FROM staff_roles WHERE role = 'admin' AND user_id = %s", (second_id,))


@pytest.mark.parametrize("body, status, code, field", [
    ({"role": "agent", "project_id": "P"}, 400, "MISSING_FIELD", "user_id"),
    ({"user_id": "1", "role": "agent"}, 400, "INVALID_FIELD", "user_id"),
    ({"user_id": 0, "role": "agent"}, 400, "INVALID_FIELD", "user_id"),
    ({"user_id": 1.5, "role": "agent"}, 400, "INVALID_FIELD", "user_id"),
    ({"user_id": "U"}, 400, "MISSING_FIELD", "role"),
    ({"user_id": "U", "role": "janitor", "project_id": "P"}, 400, "INVALID_FIELD", "role"),
    ({"user_id": "U", "role": "owner", "project_id": "P"}, 400, "INVALID_FIELD", "role"),
    ({"user_id": "U", "role": "buyer"}, 400, "INVALID_FIELD", "role"),
    ({"user_id": "U", "role": 3}, 400, "INVALID_FIELD", "role"),
    ({"user_id": "U", "role": "agent"}, 400, "MISSING_FIELD", "project_id"),
    ({"user_id": "U", "role": "agent", "project_id": 0}, 400, "MISSING_FIELD", "project_id"),
    ({"user_id": "U", "role": "agent", "project_id": -1}, 400, "INVALID_FIELD", "project_id"),
    ({"user_id": "U", "role": "agent", "project_id": "x"}, 400, "INVALID_FIELD", "project_id"),
    ({"user_id": "U", "role": "admin", "project_id": "P"}, 400, "INVALID_FIELD", "project_id"),
    ({"user_id": 987654321, "role": "agent", "project_id": "P"}, 404, "NOT_FOUND", "user_id"),
    ({"user_id": "U", "role": "agent", "project_id": 987654321}, 404, "NOT_FOUND", "project_id"),
])
def test_grant_rejects_bad_input_naming_the_field(api, db, factory, body, status, code, field):
    _, admin = factory.user(roles=[("admin", 0)])
    uid, _ = factory.user()
    project = factory.project()
    body = {k: uid if v == "U" else project if v == "P" else v for k, v in body.items()}
    grants, audits = db.scalar("SELECT COUNT(*) FROM staff_roles"), db.scalar("SELECT COUNT(*) FROM audit_log")
    expect_error(api.post(STAFF, token=admin, json=body), status, code, field)
    if status == 400:  # the same checks guard revocation
        expect_error(api.delete(STAFF, token=admin, json=body), status, code, field)
    assert db.scalar("SELECT COUNT(*) FROM staff_roles") == grants
    assert db.scalar("SELECT COUNT(*) FROM audit_log") == audits


# ---- the grant command (first admin of an installation) ------------------------------

def grant_cli(stack, *args):
    return subprocess.run([stack.binary, "--config", stack.config_path, "grant", *args], capture_output=True,
                          text=True, timeout=60)


def test_grant_command(stack, api, db, factory):
    openid = unique("o_cli_")
    p = grant_cli(stack, "--openid", openid, "--role", "admin")
    assert p.returncode == 0, p.stderr
    uid = db.scalar("SELECT id FROM users WHERE openid = %s", (openid,))
    assert uid and f"user {uid} has role admin" in p.stdout
    assert db.query("SELECT role, project_id FROM staff_roles WHERE user_id = %s", (uid,)) == \
        [{"role": "admin", "project_id": 0}]
    assert [(r["actor_user_id"], r["action"], r["detail"]["role"], r["detail"]["project_id"])
            for r in audit_rows(db, uid)] == [(None, "staff.grant", "admin", 0)]
    # Logging in later finds the same user, already an admin.
    token, user = api.login(openid)
    assert user["id"] == uid and "admin" in user["roles"]

    # A project role on an existing project; granting twice changes nothing.
    project = factory.project()
    for _ in range(2):
        p = grant_cli(stack, "--openid", openid, "--role", "engineer", "--project", str(project))
        assert p.returncode == 0, p.stderr
    assert db.scalar("SELECT COUNT(*) FROM staff_roles WHERE user_id = %s AND role = 'engineer'"
                     " AND project_id = %s", (uid, project)) == 1
    assert len(audit_rows(db, uid)) == 2
    assert roles_of(api, token) == ["buyer", "engineer", "admin"]


@pytest.mark.parametrize("args, message", [
    (["--role", "agent"], "--project"),
    (["--role", "agent", "--project", "0"], "--project"),
    (["--role", "agent", "--project", "987654321"], "does not exist"),
    (["--role", "admin", "--project", "P"], "global"),
    (["--role", "owner"], "--role"),
    (["--role", "janitor"], "--role"),
])
def test_grant_command_refuses_bad_input(stack, db, factory, args, message):
    openid = unique("o_cli_bad_")
    project = factory.project()
    users, grants = db.scalar("SELECT COUNT(*) FROM users"), db.scalar("SELECT COUNT(*) FROM staff_roles")
    p = grant_cli(stack, "--openid", openid, *[str(project) if a == "P" else a for a in args])
    assert p.returncode == 1
    assert message in p.stderr and p.stderr.startswith("grant: ")
    assert db.scalar("SELECT COUNT(*) FROM users") == users
    assert db.scalar("SELECT COUNT(*) FROM staff_roles") == grants


# ---- the staff directory -----------------------------------------------------------


@pytest.fixture
def directory(factory, db):
    """Two fresh projects with named staff; every caller's token."""
    project, other = factory.project(), factory.project()
    d = {"project": project, "other": other, "tag": unique("名")[:12]}

    def staff(name, roles, phone=None):
        uid, token = factory.user(roles=roles, phone=phone)
        db.exec("UPDATE users SET display_name = %s, title = '水电工' WHERE id = %s", (d["tag"] + name, uid))
        return uid, token

    d["phone"] = unique_phone()
    d["admin_id"], d["admin"] = staff("管理员", [("admin", 0)])
    d["sup_id"], d["sup"] = staff("主管", [("supervisor", project)])
    d["other_sup_id"], d["other_sup"] = staff("别的主管", [("supervisor", other)])
    d["eng_id"], d["eng"] = staff("李师傅", [("engineer", project), ("engineer", other)], phone=d["phone"])
    d["agent_id"], d["agent"] = staff("顾问", [("agent", project)])
    _, d["owner"], _, _ = factory.owner_user(project)
    return d


def staff_ids(api, token, query=""):
    return [s["user_id"] for s in expect_ok(api.get(STAFF + "?limit=100&" + query, token=token))]


def test_directory_roles_and_visibility(api, directory):
    d = directory
    q = "q=" + d["tag"]
    expect_error(api.get(STAFF), 401, "UNAUTHENTICATED")
    for who in ("agent", "eng", "owner"):
        expect_error(api.get(STAFF, token=d[who]), 403, "FORBIDDEN")
    # Admin: every staff member; supervisor: their projects' staff only (no admin, no other project's supervisor).
    assert staff_ids(api, d["admin"], q) == sorted(
        [d["admin_id"], d["sup_id"], d["other_sup_id"], d["eng_id"], d["agent_id"]])
    assert staff_ids(api, d["sup"], q) == sorted([d["sup_id"], d["eng_id"], d["agent_id"]])
    assert staff_ids(api, d["other_sup"], q) == sorted([d["other_sup_id"], d["eng_id"]])
    items = {s["user_id"]: s for s in expect_ok(api.get(STAFF + "?limit=100&" + q, token=d["admin"]))}
    eng = items[d["eng_id"]]
    assert eng["display_name"] == d["tag"] + "李师傅" and eng["title"] == "水电工" and eng["disabled"] is False
    assert eng["phone_masked"] == d["phone"][:3] + "****" + d["phone"][-4:] and "phone" not in eng
    assert sorted((r["role"], r["project"]["id"]) for r in eng["roles"]) == sorted(
        [("engineer", d["project"]), ("engineer", d["other"])])
    assert all(r["project"]["name"] for r in eng["roles"])
    assert items[d["admin_id"]]["roles"] == [{"role": "admin", "project": None}]
    assert items[d["admin_id"]]["phone_masked"] is None
    # A supervisor sees only the roles in their projects.
    mine = {s["user_id"]: s for s in expect_ok(api.get(STAFF + "?limit=100&" + q, token=d["sup"]))}
    assert [(r["role"], r["project"]["id"]) for r in mine[d["eng_id"]]["roles"]] == [("engineer", d["project"])]


def test_directory_filters_and_paging(api, db, directory):
    d = directory
    q = "q=" + d["tag"]
    assert staff_ids(api, d["admin"], q + "&role=engineer") == [d["eng_id"]]
    assert staff_ids(api, d["admin"], q + "&role=supervisor") == sorted([d["sup_id"], d["other_sup_id"]])
    assert staff_ids(api, d["admin"], q + f"&project={d['other']}") == sorted([d["other_sup_id"], d["eng_id"]])
    assert staff_ids(api, d["admin"], q + f"&project={d['project']}&role=agent") == [d["agent_id"]]
    assert staff_ids(api, d["admin"], "q=" + d["tag"] + "李师") == [d["eng_id"]]
    assert staff_ids(api, d["sup"], q + f"&project={d['project']}") == sorted([d["sup_id"], d["eng_id"], d["agent_id"]])
    expect_error(api.get(STAFF + f"?project={d['other']}", token=d["sup"]), 403, "FORBIDDEN", "project")
    expect_error(api.get(STAFF + "?project=987654321", token=d["admin"]), 404, "NOT_FOUND", "project")
    # A disabled user is listed, flagged.
    db.exec("UPDATE users SET disabled = 1 WHERE id = %s", (d["agent_id"],))
    [agent] = expect_ok(api.get(STAFF + "?role=agent&" + q, token=d["admin"]))
    assert agent["user_id"] == d["agent_id"] and agent["disabled"] is True
    # Paging by the one contract.
    first = api.get(STAFF + "?limit=2&" + q, token=d["admin"]).json()
    assert len(first["data"]) == 2 and first["next_cursor"]
    seen = [s["user_id"] for s in first["data"]]
    cursor = first["next_cursor"]
    while cursor:
        page = api.get(STAFF + "?limit=2&cursor=" + cursor + "&" + q, token=d["admin"]).json()
        seen += [s["user_id"] for s in page["data"]]
        cursor = page["next_cursor"]
    assert seen == staff_ids(api, d["admin"], q)
    for query, field in [("role=owner", "role"), ("project=x", "project"), ("limit=0", "limit"),
                         ("cursor=zz", "cursor"), ("q=" + "名" * 33, "q")]:
        expect_error(api.get(STAFF + "?" + query, token=d["admin"]), 400, "INVALID_FIELD", field)


def test_directory_phone_search_full_number_only(api, db, directory):
    d = directory
    phone = d["phone"]
    [eng] = expect_ok(api.get(STAFF + "?phone=" + phone, token=d["admin"]))
    assert eng["user_id"] == d["eng_id"] and eng["phone_masked"] == phone[:3] + "****" + phone[-4:]
    assert phone not in json.dumps(eng)
    # The same number written another way is the same number.
    assert staff_ids(api, d["sup"], "phone=%2B86" + phone) == [d["eng_id"]]
    assert staff_ids(api, d["sup"], "phone=" + phone[:3] + "-" + phone[3:7] + "-" + phone[7:]) == [d["eng_id"]]
    # Another number finds nobody; a part of a number is refused, so phones cannot be enumerated.
    assert staff_ids(api, d["admin"], "phone=" + phone[:-1] + str((int(phone[-1]) + 1) % 10)) == []
    for part in (phone[:7], phone[3:], phone[:-1], "138%25", phone + "0"):
        expect_error(api.get(STAFF + "?phone=" + part, token=d["admin"]), 400, "INVALID_FIELD", "phone")
    # The masked number as the directory shows it finds the same user (it tells nothing the list did not);
    # any other pattern of stars is refused.
    # (An admin sees every staff member of the test database: another may share the masked form.)
    masked = phone[:3] + "****" + phone[-4:]
    found = expect_ok(api.get(STAFF + "?phone=" + masked, token=d["admin"]))
    assert d["eng_id"] in [u["user_id"] for u in found] and {u["phone_masked"] for u in found} == {masked}
    other_tail = phone[:3] + "****" + str((int(phone[-4:]) + 1) % 10000).zfill(4)
    assert d["eng_id"] not in staff_ids(api, d["admin"], "phone=" + other_tail)
    for part in (phone[:3] + "***" + phone[-4:], phone[:2] + "****" + phone[-4:], "*******" + phone[-4:],
                 phone[:3] + "****" + phone[-3:], phone[:3] + "%25%25%25%25" + phone[-4:], "+8****1234"):
        expect_error(api.get(STAFF + "?phone=" + part, token=d["admin"]), 400, "INVALID_FIELD", "phone")
    # A supervisor finds by phone only the staff of their projects.
    assert staff_ids(api, d["other_sup"], "phone=" + phone) == [d["eng_id"]]
    assert staff_ids(api, d["other_sup"], "phone=" + masked) == [d["eng_id"]]
    stranger = unique_phone()
    db.exec("UPDATE users SET phone = %s WHERE id = %s", (stranger, d["other_sup_id"]))
    assert staff_ids(api, d["admin"], "phone=" + stranger) == [d["other_sup_id"]]
    assert staff_ids(api, d["sup"], "phone=" + stranger) == []


def test_service_role_is_granted_per_project(api, factory, db):
    admin_id, admin = factory.user(roles=[("admin", 0)])
    project = factory.project()
    uid, token = factory.user()
    # Like supervisor, 客服 needs a project.
    expect_error(api.post(STAFF, token=admin, json={"user_id": uid, "role": "service"}), 400, "MISSING_FIELD",
                 field="project_id")
    assert db.scalar("SELECT COUNT(*) FROM staff_roles WHERE user_id = %s", (uid,)) == 0
    r = api.post(STAFF, token=admin, json={"user_id": uid, "role": "service", "project_id": project})
    assert expect_ok(r, 201) == {"user_id": uid, "role": "service", "project_id": project, "created": True}
    assert db.one("SELECT role, project_id FROM staff_roles WHERE user_id = %s", (uid,)) == \
        {"role": "service", "project_id": project}
    assert roles_of(api, token) == ["buyer", "service"]
    # A service member names themselves like any staff member.
    expect_ok(api.request("PATCH", "/api/v1/me", token=token, json={"display_name": "前台小李"}))
    assert db.scalar("SELECT display_name FROM users WHERE id = %s", (uid,)) == "前台小李"
    # The directory lists and filters by the role.
    items = expect_ok(api.get(f"{STAFF}?role=service&project={project}", token=admin))
    assert [(u["user_id"], [(g["role"], g["project"]["id"]) for g in u["roles"]]) for u in items] == \
        [(uid, [("service", project)])]
    r = api.delete(STAFF, token=admin, json={"user_id": uid, "role": "service", "project_id": project})
    assert expect_ok(r)["removed"] is True
    assert roles_of(api, token) == ["buyer"]
    assert [a["action"] for a in audit_rows(db, uid)] == ["staff.grant", "user.update", "staff.revoke"]
