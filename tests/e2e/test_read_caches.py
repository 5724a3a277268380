"""The two read caches: the caller's roles (auth_cache_ms) and the owner's
view of a repair ticket (repair_cache_*). What they promise, from the
outside: a change made through this gateway process is seen by the very
next request; a change made elsewhere (another process, SQL) within the
documented bound; staff and other users never get an owner's copy; and a
cached detail turns `overdue` when its due time passes."""
import re
import time

from conftest import expect_error, expect_ok
from repairs_support import act, new_ticket, ticket_row, wait_for, world

STAFF = "/api/v1/admin/staff"
WORK = "/api/v1/work/repairs"


def cache_lookups(api, cache, result, base=None):
    text = api.get("/metrics", base=base).text
    m = re.search(r'^gateway_cache_lookups_total\{cache="%s",result="%s"\} (\d+)$' % (cache, result), text, re.M)
    assert m, text
    return int(m.group(1))


def detail(api, person, tid, base=None):
    return expect_ok(api.get(f"/api/v1/repairs/{tid}", token=person.token, base=base))


def detail_from_memory(api, person, tid):
    """Reads until a read is answered from memory (the poll evicts a ticket
    changed in the last two seconds, such as one just filed); returns it."""
    def once():
        hits = cache_lookups(api, "repair_detail", "hit")
        d = detail(api, person, tid)
        return d if cache_lookups(api, "repair_detail", "hit") == hits + 1 else None
    return wait_for(once, timeout=10, what="a read answered from memory")


# ---- the owner's view of a ticket ----------------------------------------------------------

def test_owner_reads_from_memory_and_sees_a_change_at_once(api, db, factory):
    w = world(factory, db)
    tid = new_ticket(api, w)["id"]
    first = detail(api, w.owner_a, tid)  # read from the database, kept
    again = detail_from_memory(api, w.owner_a, tid)
    assert again == first and again["state"] == "dispatched" and again["accepted_at"] is None
    assert "escalations" not in again

    accepted = expect_ok(act(api, w.engineers[0], tid, "accept"))
    assert accepted["state"] == "accepted"
    now = detail(api, w.owner_a, tid)  # the very next read
    assert now["state"] == "accepted" and now["accepted_at"] == accepted["accepted_at"]
    assert [e["action"] for e in now["timeline"]] == ["submit", "dispatch", "accept"]
    assert ticket_row(db, tid)["state"] == "accepted"


def test_a_change_through_another_process_is_seen_after_the_poll(api, db, factory, stack):
    gw2 = stack.start_gateway(name="gw_cache_other")
    w = world(factory, db)
    tid = new_ticket(api, w)["id"]
    assert detail_from_memory(api, w.owner_a, tid)["state"] == "dispatched"

    expect_ok(api.post(f"/api/v1/repairs/{tid}/accept", token=w.engineers[0].token, json={}, base=gw2.url))
    assert ticket_row(db, tid)["state"] == "accepted"
    # repair_cache_poll_ms is 250 ms by default; allow for a loaded machine.
    seen = wait_for(lambda: detail(api, w.owner_a, tid)["state"] == "accepted", timeout=10,
                    what="the other process's change in this process's detail")
    assert seen


def test_staff_and_other_users_never_get_the_owners_copy(api, db, factory):
    w = world(factory, db)
    tid = new_ticket(api, w)["id"]
    owners_view = detail_from_memory(api, w.owner_a, tid)

    supervisors_view = detail(api, w.supervisor, tid)
    assert supervisors_view["escalations"] == [] and supervisors_view["owner_user_id"] == w.owner_a.id
    assert "content_check" in supervisors_view
    engineers_view = detail(api, w.engineers[0], tid)
    assert "escalations" not in engineers_view and engineers_view["id"] == tid
    expect_error(api.get(f"/api/v1/repairs/{tid}", token=w.owner_b.token), 404, "NOT_FOUND")
    assert detail(api, w.owner_a, tid) == owners_view


def test_a_kept_detail_turns_overdue_when_its_due_time_passes(api, db, factory):
    # 8 s: well past the poll's look-back (2 s) that evicts a ticket just
    # changed (filed), so the copy the test reads is ended by the due time.
    w = world(factory, db, accept_s=8)
    t = new_ticket(api, w)
    tid = t["id"]
    assert t["overdue"] is False and t["due"]["accept_by"] is not None
    assert detail_from_memory(api, w.owner_a, tid)["overdue"] is False
    # Nothing writes the ticket meanwhile: only the due time can end the copy
    # (repair_cache_max_age_s is 30 s).
    wait_for(lambda: detail(api, w.owner_a, tid)["overdue"] is True, timeout=15, what="overdue from memory")
    row = ticket_row(db, tid)
    assert row["state"] == "dispatched"
    assert db.scalar("SELECT accept_due_at < NOW(3) FROM repair_tickets WHERE id = %s", (tid,)) == 1


# ---- the caller's roles --------------------------------------------------------------------

def test_a_role_granted_or_revoked_through_the_api_applies_to_the_next_request(api, db, factory):
    pid = factory.project()
    _, admin = factory.user(roles=[("admin", 0)])
    uid, token = factory.user()
    expect_error(api.get(WORK, token=token), 403, "FORBIDDEN")  # the roles are now kept

    grant = {"user_id": uid, "role": "engineer", "project_id": pid}
    expect_ok(api.post(STAFF, token=admin, json=grant), 201)
    assert expect_ok(api.get(WORK, token=token)) == []
    assert db.scalar("SELECT COUNT(*) FROM staff_roles WHERE user_id = %s AND role = 'engineer'", (uid,)) == 1

    expect_ok(api.delete(STAFF, token=admin, json=grant))
    expect_error(api.get(WORK, token=token), 403, "FORBIDDEN")
    assert db.scalar("SELECT COUNT(*) FROM staff_roles WHERE user_id = %s", (uid,)) == 0


def test_a_user_disabled_elsewhere_is_refused_within_auth_cache_ms(api, db, factory):
    uid, token = factory.user()
    hits = cache_lookups(api, "auth", "hit")
    assert expect_ok(api.get("/api/v1/me", token=token))["id"] == uid
    assert expect_ok(api.get("/api/v1/me", token=token))["id"] == uid
    assert cache_lookups(api, "auth", "hit") >= hits + 1

    db.exec("UPDATE users SET disabled = 1 WHERE id = %s", (uid,))  # not through this process
    # auth_cache_ms is 1 s by default; allow for a loaded machine.
    wait_for(lambda: api.get("/api/v1/me", token=token).status_code == 403, timeout=10,
             what="the disabled user refused")
    expect_error(api.get("/api/v1/me", token=token), 403, "USER_DISABLED")
    assert db.scalar("SELECT disabled FROM users WHERE id = %s", (uid,)) == 1


def test_a_busy_callers_roles_are_reloaded_ahead_of_expiry(api, factory):
    uid, token = factory.user()
    assert expect_ok(api.get("/api/v1/me", token=token))["id"] == uid  # loaded and kept
    misses = cache_lookups(api, "auth", "miss")
    hits = cache_lookups(api, "auth", "hit")
    deadline = time.monotonic() + 4.0  # four times auth_cache_ms
    n = 0
    while time.monotonic() < deadline:
        assert expect_ok(api.get("/api/v1/me", token=token))["id"] == uid
        n += 1
        time.sleep(0.05)
    # Without the refresh every second would start with a miss (3 or 4);
    # one is allowed for a refresh job delayed on a loaded machine.
    assert cache_lookups(api, "auth", "miss") - misses <= 1
    assert cache_lookups(api, "auth", "hit") - hits >= n - 1
