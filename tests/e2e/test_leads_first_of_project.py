"""A project's first lead: the intake's first statement finds no assignment
cursor, the attempt is rolled back having written nothing, the cursor is
created on its own and the second attempt stores the lead once, assigned,
with one submission, one assignment row and one lead.assigned event."""
from conftest import unique_phone
from lead_support import events, new_lead, project_with_agents


def test_first_lead_of_a_project_creates_the_cursor_and_is_stored_once(api, factory, db):
    pid, [(a1, _), (a2, _)], _ = project_with_agents(factory, 2)
    assert db.scalar("SELECT COUNT(*) FROM lead_assignment_cursors WHERE project_id = %s", (pid,)) == 0
    _, token = factory.user()
    lead = new_lead(api, db, token, pid, unique_phone())

    assert db.scalar("SELECT COUNT(*) FROM leads WHERE project_id = %s", (pid,)) == 1
    assert db.scalar("SELECT COUNT(*) FROM lead_submissions WHERE lead_id = %s", (lead,)) == 1
    assert db.scalar("SELECT COUNT(*) FROM lead_stage_history WHERE lead_id = %s", (lead,)) == 1
    agent = db.scalar("SELECT agent_user_id FROM leads WHERE id = %s", (lead,))
    assert agent == min(a1, a2)
    assert db.query("SELECT agent_user_id, method FROM lead_assignments WHERE lead_id = %s", (lead,)) == \
        [{"agent_user_id": agent, "method": "round_robin"}]
    assert db.scalar("SELECT last_agent_user_id FROM lead_assignment_cursors WHERE project_id = %s", (pid,)) == agent
    assert [e["user_id"] for e in events(db, "lead.assigned", ref_id=lead)] == [agent]

    # The next lead takes the cursor as it is: the other agent.
    second = new_lead(api, db, token, pid, unique_phone())
    assert db.scalar("SELECT agent_user_id FROM leads WHERE id = %s", (second,)) == max(a1, a2)
