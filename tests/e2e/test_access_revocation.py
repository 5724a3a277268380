"""Access follows the role in the object's project, at the time of the
request, and revoking a role hands back what the person held through it.

The role bits of a caller are the union over every project, so each attack
here uses a person who keeps the role in another project (A) and loses it in
the project of the object (B)."""
import json

from conftest import expect_error, expect_ok
from lead_support import new_lead, project_with_agents
from repairs_support import act, events, new_ticket, ticket_row, timeline, world

STAFF = "/api/v1/admin/staff"
NOTIFICATIONS = "/api/v1/admin/notifications"


def admin(factory):
    return factory.user(roles=[("admin", 0)])


def grant(db, user_id, role, project_id):
    db.exec("INSERT INTO staff_roles (user_id, role, project_id) VALUES (%s, %s, %s)", (user_id, role, project_id))


def audit_rows(db, target, action):
    rows = db.query("SELECT actor_user_id, detail FROM audit_log WHERE target_type = 'user' AND target_id = %s"
                    " AND action = %s ORDER BY id", (target, action))
    return [(r["actor_user_id"], json.loads(r["detail"])) for r in rows]


# ---- engineers and repair tickets -----------------------------------------------

def test_engineer_revoked_in_project_loses_its_tickets_and_they_go_back_to_dispatch(api, db, factory):
    b = world(factory, db, engineers=2)  # project B: two engineers in the dispatch group
    e0, e1 = b.engineers
    project_a = factory.project()
    grant(db, e0.id, "engineer", project_a)  # e0 keeps the engineer role in A
    admin_id, admin_token = admin(factory)

    # An open ticket of B (accepted by e0) and a resolved one.
    open_t = new_ticket(api, b)
    assert ticket_row(db, open_t["id"])["engineer_id"] == e0.id
    expect_ok(act(api, e0, open_t["id"], "accept"))
    done_t = new_ticket(api, b, owner=b.owner_b)
    row = ticket_row(db, done_t["id"])
    if row["engineer_id"] != e0.id:  # fewest open tickets: e1 got it; give it to e0
        expect_ok(act(api, b.supervisor, done_t["id"], "assign", {"engineer_id": e0.id}))
    for action, body in (("accept", None), ("start", None), ("resolve", {"note": "已修好"})):
        expect_ok(act(api, e0, done_t["id"], action, body))
    before_events = {r["id"] for r in events(db, open_t["id"])}
    before_timeline = len(timeline(db, open_t["id"]))

    d = expect_ok(api.delete(STAFF, token=admin_token, json={"user_id": e0.id, "role": "engineer",
                                                             "project_id": b.project_id}))
    assert d == {"user_id": e0.id, "role": "engineer", "project_id": b.project_id, "removed": True,
                 "tickets_released": 1}

    # The open ticket went back to dispatch and to the other engineer.
    row = ticket_row(db, open_t["id"])
    assert (row["state"], row["engineer_id"], row["accepted_at"]) == ("dispatched", e1.id, None)
    new_rows = timeline(db, open_t["id"])[before_timeline:]
    assert [(r["action"], r["from_state"], r["to_state"], r["actor_user_id"], r["actor_role"], r["note"])
            for r in new_rows] == [
        ("unassign", "accepted", "submitted", admin_id, "admin", "engineer role revoked"),
        ("dispatch", "submitted", "dispatched", None, "system", None),
    ]
    new_events = [r for r in events(db, open_t["id"]) if r["id"] not in before_events]
    assert sorted((r["kind"], r["user_id"], r["project_id"]) for r in new_events) == sorted([
        ("repair.dispatched", b.owner_a.id, b.project_id),
        ("repair.assigned", e1.id, b.project_id),
    ])
    assert db.scalar("SELECT COUNT(*) FROM repair_declines WHERE ticket_id = %s AND engineer_id = %s",
                     (open_t["id"], e0.id)) == 1
    # The resolved ticket is not open: it keeps its engineer for the record.
    assert ticket_row(db, done_t["id"])["engineer_id"] == e0.id
    assert audit_rows(db, e0.id, "staff.revoke") == [
        (admin_id, {"role": "engineer", "project_id": b.project_id, "tickets_released": 1})]

    # e0 (still an engineer of A) can neither read nor act on B's tickets:
    # not the one they had, not the resolved one that still names them.
    for t in (open_t, done_t):
        expect_error(api.get(f"/api/v1/repairs/{t['id']}", token=e0.token), 404, "NOT_FOUND")
    expect_error(act(api, e0, open_t["id"], "start"), 404, "NOT_FOUND")
    expect_error(act(api, e0, done_t["id"], "decline", {"reason": "不在片区"}), 404, "NOT_FOUND")
    for query in ("", "?state=resolved"):
        assert expect_ok(api.get(f"/api/v1/work/repairs{query}", token=e0.token)) == []
    # The new engineer works it.
    assert [t["id"] for t in expect_ok(api.get("/api/v1/work/repairs", token=e1.token))] == [open_t["id"]]
    expect_ok(act(api, e1, open_t["id"], "accept"))


def test_engineer_whose_role_was_removed_outside_the_api_can_no_longer_act(api, db, factory):
    """A grant deleted directly in the database (no hand-back): the ticket
    stays assigned, but the engineer cannot act on it or read it."""
    b = world(factory, db, engineers=1)
    e0 = b.engineers[0]
    grant(db, e0.id, "engineer", factory.project())
    t = new_ticket(api, b)
    assert ticket_row(db, t["id"])["engineer_id"] == e0.id
    db.exec("DELETE FROM staff_roles WHERE user_id = %s AND role = 'engineer' AND project_id = %s",
            (e0.id, b.project_id))
    expect_error(act(api, e0, t["id"], "accept"), 404, "NOT_FOUND")
    expect_error(api.get(f"/api/v1/repairs/{t['id']}", token=e0.token), 404, "NOT_FOUND")
    assert expect_ok(api.get("/api/v1/work/repairs", token=e0.token)) == []
    row = ticket_row(db, t["id"])
    assert (row["state"], row["engineer_id"]) == ("dispatched", e0.id)


def test_revoking_the_only_engineer_tells_the_supervisors(api, db, factory):
    b = world(factory, db, engineers=1)
    e0 = b.engineers[0]
    _, admin_token = admin(factory)
    t = new_ticket(api, b)
    d = expect_ok(api.delete(STAFF, token=admin_token, json={"user_id": e0.id, "role": "engineer",
                                                             "project_id": b.project_id}))
    assert d["tickets_released"] == 1
    row = ticket_row(db, t["id"])
    assert (row["state"], row["engineer_id"]) == ("submitted", None)
    esc = events(db, t["id"], kind="repair.escalated")
    assert sorted(r["user_id"] for r in esc) == sorted([b.supervisor.id, b.manager.id])
    assert {json.loads(r["payload"])["reason"] for r in esc} == {"no_engineer"}
    assert {r["project_id"] for r in esc} == {b.project_id}


# ---- agents and leads --------------------------------------------------------------

def test_agent_revoked_in_project_loses_its_open_leads_to_the_next_agent(api, db, factory):
    pid, agents, _ = project_with_agents(factory, n_agents=2)
    (a0, a0_token), (a1, _a1_token) = agents
    grant(db, a0, "agent", factory.project())  # a0 keeps the agent role elsewhere
    admin_id, admin_token = admin(factory)
    _, buyer = factory.user()
    lead_id = new_lead(api, db, buyer, pid)
    assert db.scalar("SELECT agent_user_id FROM leads WHERE id = %s", (lead_id,)) == a0
    # A signed lead is done: it keeps its agent.
    _, buyer2 = factory.user()
    signed_id = new_lead(api, db, buyer2, pid)
    db.exec("UPDATE leads SET agent_user_id = %s, stage = 'signed' WHERE id = %s", (a0, signed_id))
    assigned_before = {r["id"] for r in db.query("SELECT id FROM notification_events WHERE kind = 'lead.assigned'"
                                                 " AND ref_id = %s", (lead_id,))}

    d = expect_ok(api.delete(STAFF, token=admin_token, json={"user_id": a0, "role": "agent", "project_id": pid}))
    assert d == {"user_id": a0, "role": "agent", "project_id": pid, "removed": True, "leads_released": 1}

    lead = db.one("SELECT agent_user_id, stage FROM leads WHERE id = %s", (lead_id,))
    assert (lead["agent_user_id"], lead["stage"]) == (a1, "new")
    assert db.scalar("SELECT agent_user_id FROM leads WHERE id = %s", (signed_id,)) == a0
    moves = db.query("SELECT agent_user_id, from_agent_user_id, actor_user_id, reason FROM lead_assignments"
                     " WHERE lead_id = %s ORDER BY id", (lead_id,))
    assert [r["agent_user_id"] for r in moves] == [a0, a1]
    assert (moves[-1]["from_agent_user_id"], moves[-1]["actor_user_id"], moves[-1]["reason"]) == \
        (a0, admin_id, "agent role revoked")
    new_events = db.query("SELECT user_id, project_id, payload FROM notification_events WHERE kind = 'lead.assigned'"
                          " AND ref_id = %s AND id NOT IN (%s)" % ("%s", ",".join(map(str, assigned_before)) or "0"),
                          (lead_id,))
    assert [(r["user_id"], r["project_id"]) for r in new_events] == [(a1, pid)]
    assert "phone_masked" in json.loads(new_events[0]["payload"])
    assert audit_rows(db, a0, "staff.revoke") == [(admin_id, {"role": "agent", "project_id": pid,
                                                              "leads_released": 1})]

    # a0 can no longer read the lead or move it to signed.
    expect_error(api.get(f"/api/v1/leads/{lead_id}", token=a0_token), 404, "NOT_FOUND")
    expect_error(api.post(f"/api/v1/leads/{lead_id}/stage", token=a0_token, json={"stage": "signed"}),
                 404, "NOT_FOUND")
    assert db.scalar("SELECT stage FROM leads WHERE id = %s", (lead_id,)) == "new"


# ---- supervisors and the notification outbox ----------------------------------------

def test_supervisor_sees_and_retries_only_their_projects_notifications(api, db, factory):
    a = world(factory, db)
    b = world(factory, db)
    sup = a.supervisor
    grant(db, sup.id, "supervisor", b.project_id)
    admin_id, admin_token = admin(factory)
    ta, tb = new_ticket(api, a), new_ticket(api, b)
    ev_a = events(db, ta["id"], kind="repair.dispatched")[0]
    ev_b = events(db, tb["id"], kind="repair.dispatched")[0]
    assert (ev_a["project_id"], ev_b["project_id"]) == (a.project_id, b.project_id)
    no_project = db.exec("INSERT INTO notification_events (kind, user_id, ref_type, ref_id, payload, status)"
                         " VALUES ('repair.dispatched', %s, 'other', 1, '{}', 'dead')", (sup.id,))
    db.exec("UPDATE notification_events SET status = 'dead' WHERE id IN (%s, %s)", (ev_a["id"], ev_b["id"]))

    def listed(token, **q):
        query = "&".join(f"{k}={v}" for k, v in dict(q, limit=100).items())
        return {e["id"]: e for e in expect_ok(api.get(f"{NOTIFICATIONS}?status=dead&{query}", token=token))}

    # While supervisor of both projects: both projects' events, never the one without a project.
    seen = listed(sup.token)
    assert ev_a["id"] in seen and ev_b["id"] in seen and no_project not in seen
    assert seen[ev_b["id"]]["project_id"] == b.project_id

    d = expect_ok(api.delete(STAFF, token=admin_token, json={"user_id": sup.id, "role": "supervisor",
                                                             "project_id": b.project_id}))
    assert d == {"user_id": sup.id, "role": "supervisor", "project_id": b.project_id, "removed": True}

    seen = listed(sup.token)
    assert ev_a["id"] in seen and ev_b["id"] not in seen and no_project not in seen
    assert all(e["project_id"] == a.project_id for e in seen.values()), seen
    assert listed(sup.token, project=b.project_id) == {}
    for eid in (ev_b["id"], no_project):
        expect_error(api.post(f"{NOTIFICATIONS}/{eid}/retry", token=sup.token), 404, "NOT_FOUND")
        assert db.scalar("SELECT status FROM notification_events WHERE id = %s", (eid,)) == "dead"
    assert db.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'notification.retry' AND target_id IN (%s, %s)",
                     (ev_b["id"], no_project)) == 0
    # Their own project's event can be retried.
    assert expect_ok(api.post(f"{NOTIFICATIONS}/{ev_a['id']}/retry", token=sup.token))["status"] == "pending"
    # B's tickets are out of reach too.
    expect_error(api.get(f"/api/v1/repairs/{tb['id']}", token=sup.token), 404, "NOT_FOUND")
    expect_error(act(api, sup, tb["id"], "assign", {"engineer_id": b.engineers[0].id}), 404, "NOT_FOUND")

    # Admins see every event, with or without a project, and retry them.
    seen = listed(admin_token)
    assert ev_b["id"] in seen and no_project in seen and seen[no_project]["project_id"] is None
    assert expect_ok(api.post(f"{NOTIFICATIONS}/{no_project}/retry", token=admin_token))["status"] == "pending"


def test_events_carry_the_project_of_what_they_refer_to(api, db, factory):
    """Leads, referrals and rewards get their project without any change to
    their emitters: from the payload, else from the row they refer to."""
    pid, agents, _ = project_with_agents(factory, n_agents=1)
    _, buyer = factory.user()
    lead_id = new_lead(api, db, buyer, pid)
    rows = db.query("SELECT project_id FROM notification_events WHERE kind = 'lead.assigned' AND ref_id = %s",
                    (lead_id,))
    assert [r["project_id"] for r in rows] == [pid]
