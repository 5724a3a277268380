"""lead_assign_release_agent, the leads side of revoking an agent's role:
in the revoking transaction, the agent's open leads of the project go to the
next agents (or become unassigned), each with a timeline row and an event.
The revocation route itself belongs to the staff administration; this runs
the function directly against the test database (tests/db/lead_release.c)."""
import json
import os
import subprocess

from conftest import GATEWAY_BIN
from lead_support import events, new_lead, project_with_agents, set_stage


def release(stack, agent, project, actor):
    binary = os.path.join(os.path.dirname(os.path.dirname(GATEWAY_BIN)), "tests", "db", "lead_release")
    out = subprocess.run([binary, stack.config_path, str(agent), str(project), str(actor)],
                         capture_output=True, text=True, timeout=60, cwd=stack.dir)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout.strip()


def test_an_agents_open_leads_go_to_the_other_agents(stack, api, factory, db):
    pid, [(a1, t1), (a2, t2), (a3, t3)], (sup, _) = project_with_agents(factory, 3, supervisor=True)
    # Round robin: leads 0 and 3 go to a1. A walk-in rule names a1 too.
    db.exec("INSERT INTO lead_channel_rules (project_id, channel, agent_user_id) VALUES (%s, 'walk_in', %s)",
            (pid, a1))
    leads = [new_lead(api, db, factory.user()[1], pid) for _ in range(4)]
    walk_in = new_lead(api, db, factory.user()[1], pid, channel="walk_in")
    lost = new_lead(api, db, factory.user()[1], pid, channel="walk_in")
    mine = [leads[0], leads[3], walk_in, lost]
    assert [db.scalar("SELECT agent_user_id FROM leads WHERE id = %s", (i,)) for i in mine] == [a1] * 4
    assert api.post(f"/api/v1/leads/{leads[3]}/followups", token=t1, json={"kind": "call"}).status_code == 201
    set_stage(api, t1, lost, "lost", reason="空号")
    db.exec("UPDATE leads SET first_contact_due_at = NOW(3) - INTERVAL 1 HOUR, contact_overdue_at = NOW(3)"
            " WHERE id = %s", (leads[0],))
    contacted_at = db.scalar("SELECT first_contacted_at FROM leads WHERE id = %s", (leads[3],))

    assert release(stack, a1, pid, sup) == "released 3"

    got = {i: db.scalar("SELECT agent_user_id FROM leads WHERE id = %s", (i,)) for i in mine}
    # Turns continue after the cursor (a1 got lead 3 last): a2, a3, a2; never a1.
    assert [got[leads[0]], got[leads[3]], got[walk_in]] == [a2, a3, a2]
    assert got[lost] == a1  # closed leads stay
    for lead_id in (leads[0], leads[3], walk_in):
        row = db.query("SELECT agent_user_id, method, from_agent_user_id, actor_user_id, reason FROM lead_assignments"
                       " WHERE lead_id = %s ORDER BY id", (lead_id,))[-1]
        assert row == {"agent_user_id": got[lead_id], "method": "round_robin", "from_agent_user_id": a1,
                       "actor_user_id": sup, "reason": "agent role revoked"}
        ev = events(db, "lead.assigned", ref_id=lead_id)
        assert [e["user_id"] for e in ev][-1] == got[lead_id]
        assert json.loads(ev[-1]["payload"])["lead_id"] == lead_id
    # The uncontacted lead gets the whole first-contact time again; the contacted one keeps its contact.
    assert db.one("SELECT contact_overdue_at, first_contact_due_at > NOW(3) AS fresh FROM leads WHERE id = %s",
                  (leads[0],)) == {"contact_overdue_at": None, "fresh": 1}
    assert db.scalar("SELECT first_contacted_at FROM leads WHERE id = %s", (leads[3],)) == contacted_at
    # The new agents work them.
    tokens = {a2: t2, a3: t3}
    for lead_id in (leads[0], leads[3], walk_in):
        assert api.get(f"/api/v1/leads/{lead_id}", token=tokens[got[lead_id]]).status_code == 200
    # Nothing left to release.
    assert release(stack, a1, pid, sup) == "released 0"


def test_with_no_agent_left_the_leads_wait_unassigned(stack, api, factory, db):
    pid, [(a1, _)], (sup, stoken) = project_with_agents(factory, 1, supervisor=True)
    lead_id = new_lead(api, db, factory.user()[1], pid)
    assert release(stack, a1, pid, sup) == "released 1"
    assert db.one("SELECT agent_user_id, assigned_at FROM leads WHERE id = %s", (lead_id,)) == \
        {"agent_user_id": None, "assigned_at": None}
    assert db.query("SELECT agent_user_id, method, from_agent_user_id FROM lead_assignments WHERE lead_id = %s"
                    " ORDER BY id", (lead_id,))[-1] == {"agent_user_id": None, "method": "unassigned",
                                                        "from_agent_user_id": a1}
    assert [e["user_id"] for e in events(db, "lead.assigned", ref_id=lead_id)] == [a1]
    r = api.get(f"/api/v1/admin/leads?project_id={pid}&agent_user_id=0", token=stoken)
    assert [x["id"] for x in r.json()["data"]] == [lead_id]
