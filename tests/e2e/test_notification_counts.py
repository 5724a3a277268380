"""GET /api/v1/admin/notifications/counts: the outbox's events per status in
the caller's scope (a supervisor: their projects' events; an admin: all),
with the list's filters; every status is answered, zeros included; other
roles are refused and a bad filter names its field."""
from conftest import expect_error, expect_ok, wait_for
from repairs_support import new_ticket, world

COUNTS = "/api/v1/admin/notifications/counts"
STATUSES = ["pending", "sending", "retrying", "sent", "no_quota", "failed", "dead"]


def park(db, project_id, status):
    """Every event of the project to `status`, once the dispatcher has
    settled them all (dead and no_quota are then left alone, so the counts
    stay put)."""
    wait_for(lambda: db.scalar("SELECT COUNT(*) FROM notification_events WHERE project_id = %s"
                               " AND status IN ('pending', 'sending', 'retrying')", (project_id,)) == 0,
             what="the project's events settled")
    db.exec("UPDATE notification_events SET status = %s WHERE project_id = %s", (status, project_id))
    return db.scalar("SELECT COUNT(*) FROM notification_events WHERE project_id = %s", (project_id,))


def test_counts_per_status_in_the_callers_scope(api, db, factory):
    a = world(factory, db)
    b = world(factory, db)
    new_ticket(api, a)
    new_ticket(api, a)
    new_ticket(api, b)
    n_a = park(db, a.project_id, "dead")
    n_b = park(db, b.project_id, "no_quota")
    assert n_a >= 2 and n_b >= 1
    one = db.scalar("SELECT MIN(id) FROM notification_events WHERE project_id = %s", (a.project_id,))
    db.exec("UPDATE notification_events SET status = 'no_quota' WHERE id = %s", (one,))

    c = expect_ok(api.get(f"{COUNTS}?project={a.project_id}", token=a.supervisor.token))["counts"]
    assert list(c) == STATUSES
    assert c == dict({s: 0 for s in STATUSES}, dead=n_a - 1, no_quota=1)
    # The counts agree with the list.
    listed = expect_ok(api.get(f"/api/v1/admin/notifications?project={a.project_id}&status=dead&limit=100",
                               token=a.supervisor.token))
    assert len(listed) == n_a - 1
    # Another project's events are not counted for this supervisor, even when asked for.
    c = expect_ok(api.get(f"{COUNTS}?project={b.project_id}", token=a.supervisor.token))["counts"]
    assert c == {s: 0 for s in STATUSES}
    # An admin counts them; the kind and user filters apply.
    _, admin = factory.user(roles=[("admin", 0)])
    c = expect_ok(api.get(f"{COUNTS}?project={b.project_id}", token=admin))["counts"]
    assert c["no_quota"] == n_b and sum(c.values()) == n_b
    kind = db.scalar("SELECT kind FROM notification_events WHERE id = %s", (one,))
    user = db.scalar("SELECT user_id FROM notification_events WHERE id = %s", (one,))
    n_kind = db.scalar("SELECT COUNT(*) FROM notification_events WHERE project_id = %s AND kind = %s",
                       (a.project_id, kind))
    c = expect_ok(api.get(f"{COUNTS}?project={a.project_id}&kind={kind}", token=admin))["counts"]
    assert sum(c.values()) == n_kind
    n_user = db.scalar("SELECT COUNT(*) FROM notification_events WHERE project_id = %s AND user_id = %s",
                       (a.project_id, user))
    c = expect_ok(api.get(f"{COUNTS}?project={a.project_id}&user={user}", token=admin))["counts"]
    assert sum(c.values()) == n_user


def test_other_roles_and_bad_filters_are_refused(api, db, factory):
    a = world(factory, db)
    expect_error(api.get(COUNTS, token=a.engineers[0].token), 403, "FORBIDDEN")
    _, owner = factory.user()
    expect_error(api.get(COUNTS, token=owner), 403, "FORBIDDEN")
    for query, field in (("user=abc", "user"), ("project=-1", "project"), ("kind=" + "k" * 49, "kind")):
        err = expect_error(api.get(f"{COUNTS}?{query}", token=a.supervisor.token), 400, "INVALID_FIELD")
        assert err["field"] == field, (query, err)
