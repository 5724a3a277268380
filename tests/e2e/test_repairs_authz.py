"""Who may see and act on a repair ticket: its owner, its assigned engineer,
supervisors of its project and admins. Everyone else gets 404, as if the
ticket did not exist."""
from conftest import expect_error, expect_ok
from repairs_support import (act, file_ticket, named_user, new_ticket, photo, ticket_body, ticket_row, timeline,
                             world)


def test_visibility_matrix(api, db, factory):
    w = world(factory, db, engineers=2)
    assigned, other_engineer = w.engineers
    t = new_ticket(api, w)
    tid = t["id"]
    assert ticket_row(db, tid)["engineer_id"] == assigned.id
    other_project = factory.project()
    outsider_sup = named_user(factory, db, "别的主管", roles=[("supervisor", other_project)])
    outsider_eng = named_user(factory, db, "别的师傅", roles=[("engineer", other_project)])
    admin = named_user(factory, db, "管理员", roles=[("admin", 0)])
    buyer = named_user(factory, db, "路人")

    for who in (w.owner_a, assigned, w.supervisor, admin):
        d = expect_ok(api.get(f"/api/v1/repairs/{tid}", token=who.token))
        assert d["id"] == tid
    for who in (w.owner_b, other_engineer, outsider_sup, outsider_eng, buyer):
        err = expect_error(api.get(f"/api/v1/repairs/{tid}", token=who.token), 404, "NOT_FOUND")
        assert str(tid) not in err["message"]
    # A ticket that does not exist looks the same.
    expect_error(api.get("/api/v1/repairs/999999999", token=w.owner_a.token), 404, "NOT_FOUND")
    # Staff-only parts.
    assert "escalations" in expect_ok(api.get(f"/api/v1/repairs/{tid}", token=w.supervisor.token))
    assert "escalations" not in expect_ok(api.get(f"/api/v1/repairs/{tid}", token=assigned.token))
    # Lists: each sees their own.
    assert [x["id"] for x in expect_ok(api.get("/api/v1/work/repairs", token=assigned.token))] == [tid]
    assert expect_ok(api.get("/api/v1/work/repairs", token=other_engineer.token)) == []
    assert expect_ok(api.get("/api/v1/admin/repairs", token=outsider_sup.token)) == []
    assert tid in [x["id"] for x in expect_ok(api.get("/api/v1/admin/repairs", token=w.supervisor.token))]
    assert tid in [x["id"] for x in expect_ok(api.get(f"/api/v1/admin/repairs?project={w.project_id}",
                                                      token=admin.token))]
    expect_error(api.get("/api/v1/work/repairs", token=w.owner_a.token), 403, "FORBIDDEN")


def test_action_matrix(api, db, factory):
    w = world(factory, db, engineers=2)
    assigned, other_engineer = w.engineers
    tid = new_ticket(api, w)["id"]
    other_project = factory.project()
    outsider_sup = named_user(factory, db, "别的主管", roles=[("supervisor", other_project)])

    # Owner actions: another owner 404; the engineer has no owner rights (403: they can see it).
    expect_error(act(api, w.owner_b, tid, "cancel"), 404, "NOT_FOUND")
    expect_error(act(api, assigned, tid, "cancel"), 403, "FORBIDDEN")
    # Engineer actions: an owner lacks the role (403); an unassigned engineer cannot see it (404);
    # the supervisor can see it but is not the assignee (403).
    expect_error(act(api, w.owner_a, tid, "accept"), 403, "FORBIDDEN")
    expect_error(act(api, other_engineer, tid, "accept"), 404, "NOT_FOUND")
    sup_eng = named_user(factory, db, "兼职主管", roles=[("supervisor", w.project_id), ("engineer", w.project_id)])
    expect_error(act(api, sup_eng, tid, "accept"), 403, "FORBIDDEN")
    # Assign: supervisors of another project cannot see it.
    expect_error(api.post(f"/api/v1/repairs/{tid}/assign", token=outsider_sup.token,
                          json={"engineer_id": other_engineer.id}), 404, "NOT_FOUND")
    expect_error(api.post(f"/api/v1/repairs/{tid}/assign", token=assigned.token,
                          json={"engineer_id": other_engineer.id}), 403, "FORBIDDEN")
    row = ticket_row(db, tid)
    assert row["state"] == "dispatched" and row["engineer_id"] == assigned.id
    assert len(timeline(db, tid)) == 2
    # The rightful actors.
    expect_ok(api.post(f"/api/v1/repairs/{tid}/assign", token=w.supervisor.token,
                       json={"engineer_id": other_engineer.id}))
    expect_error(act(api, assigned, tid, "accept"), 404, "NOT_FOUND")
    expect_ok(act(api, other_engineer, tid, "accept"))
    assert ticket_row(db, tid)["state"] == "accepted"


def test_photos_must_be_the_callers_and_unattached(api, db, factory, stack):
    w = world(factory, db)
    theirs = photo(api, stack, w.owner_b)
    r = file_ticket(api, w.owner_a.token, ticket_body(w, photo_ids=[theirs]))
    expect_error(r, 422, "UNPROCESSABLE", "photo_ids")
    assert db.scalar("SELECT ticket_id FROM uploads WHERE id = %s", (theirs,)) is None
    assert db.scalar("SELECT COUNT(*) FROM repair_tickets WHERE user_id = %s", (w.owner_a.id,)) == 0
    mine = photo(api, stack, w.owner_a)
    first = new_ticket(api, w, photo_ids=[mine])
    r = file_ticket(api, w.owner_a.token, ticket_body(w, photo_ids=[mine]))
    expect_error(r, 422, "UNPROCESSABLE", "photo_ids")
    assert db.scalar("SELECT ticket_id FROM uploads WHERE id = %s", (mine,)) == first["id"]
    assert db.scalar("SELECT COUNT(*) FROM repair_tickets WHERE user_id = %s", (w.owner_a.id,)) == 1
