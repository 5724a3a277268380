"""The two read caches: the caller's roles (auth_cache_ms) and the owner's
view of a repair ticket (repair_cache_*). What they promise, from the
outside: a change made through this gateway process is seen by the very
next request; a change made elsewhere (another process, SQL) within the
documented bound; staff and other users never get an owner's copy; and a
cached detail turns `overdue` when its due time passes."""
import re

from conftest import expect_error, expect_ok, gateway_metric
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
    return wait_for(once, what="a read answered from memory")


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
    try:
        w = world(factory, db)
        tid = new_ticket(api, w)["id"]
        assert detail_from_memory(api, w.owner_a, tid)["state"] == "dispatched"

        expect_ok(api.post(f"/api/v1/repairs/{tid}/accept", token=w.engineers[0].token, json={}, base=gw2.url))
        assert ticket_row(db, tid)["state"] == "accepted"
        # Seen once the poll (every repair_cache_poll_ms) has run.
        seen = wait_for(lambda: detail(api, w.owner_a, tid)["state"] == "accepted",
                        what="the other process's change in this process's detail")
        assert seen
    finally:  # its background jobs must not run beside later tests
        assert gw2.stop() == 0


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
    w = world(factory, db)
    t = new_ticket(api, w)
    tid = t["id"]
    assert t["overdue"] is False and t["due"]["accept_by"] is not None
    # Due in 10 s, and dated as changed long ago: the poll's look-back (which
    # evicts a ticket changed in the last two seconds, such as one just filed)
    # passes it by, so the first read keeps the detail and the second is
    # answered from memory, both well before the due time.
    db.exec("UPDATE repair_tickets SET accept_due_at = NOW(3) + INTERVAL 10 SECOND,"
            " updated_at = NOW(3) - INTERVAL 1 HOUR WHERE id = %s", (tid,))
    assert detail_from_memory(api, w.owner_a, tid)["overdue"] is False
    # Nothing writes the ticket meanwhile: only the due time can end the copy
    # (repair_cache_max_age_s is 30 s).
    wait_for(lambda: detail(api, w.owner_a, tid)["overdue"] is True, what="overdue from memory")
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

    def answered_from_memory():  # a second read within auth_cache_ms of the first
        before = cache_lookups(api, "auth", "hit")
        assert expect_ok(api.get("/api/v1/me", token=token))["id"] == uid
        return cache_lookups(api, "auth", "hit") == before + 1

    wait_for(answered_from_memory, what="the roles kept")
    assert cache_lookups(api, "auth", "hit") >= hits + 1

    db.exec("UPDATE users SET disabled = 1 WHERE id = %s", (uid,))  # not through this process
    # Refused once the kept roles expire (auth_cache_ms).
    wait_for(lambda: api.get("/api/v1/me", token=token).status_code == 403, what="the disabled user refused")
    expect_error(api.get("/api/v1/me", token=token), 403, "USER_DISABLED")
    assert db.scalar("SELECT disabled FROM users WHERE id = %s", (uid,)) == 1


def test_a_busy_callers_roles_are_reloaded_ahead_of_expiry(api, factory, stack):
    # A process of its own, with auth_cache_ms = 4 s: its refresh job runs
    # every second and reloads a busy caller's roles once less than 2 s are
    # left, so only a job held up for over a second could let them expire.
    gw = stack.start_gateway({"auth_cache_ms": 4000}, name="gw_auth_refresh")
    try:
        uid, token = factory.user()
        assert expect_ok(api.get("/api/v1/me", token=token, base=gw.url))["id"] == uid  # loaded and kept
        misses = cache_lookups(api, "auth", "miss", base=gw.url)
        hits = cache_lookups(api, "auth", "hit", base=gw.url)
        refreshed = gateway_metric(gw, "gateway_cache_refreshes_total", cache="auth")
        n = 0

        def reloaded_twice():  # the caller keeps calling meanwhile
            nonlocal n
            assert expect_ok(api.get("/api/v1/me", token=token, base=gw.url))["id"] == uid
            n += 1
            return gateway_metric(gw, "gateway_cache_refreshes_total", cache="auth") >= refreshed + 2

        wait_for(reloaded_twice, what="the roles reloaded twice ahead of expiry")
        # Without the refresh every 4 s would start with a miss; one is
        # allowed for a refresh job held up on a loaded machine.
        assert cache_lookups(api, "auth", "miss", base=gw.url) - misses <= 1
        assert cache_lookups(api, "auth", "hit", base=gw.url) - hits >= n - 1
    finally:
        assert gw.stop() == 0
