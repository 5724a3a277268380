"""The first-contact limit: a new lead nobody contacted in time raises one
lead.contact_overdue event per sales manager (the project's supervisors),
once, even with several gateway processes sweeping the same database."""
import json

import pytest

from conftest import unique_phone, wait_for_runs
from lead_support import events, lead_of, new_lead, project_with_agents, submit_lead, wait_for

SHORT = {"lead_first_contact_s": 1, "lead_sweep_interval_ms": 100}


@pytest.fixture(scope="module")
def sweepers(stack):
    """Two more gateways with a 1 s first-contact limit and a fast sweep,
    stopped after this module so they do not run beside other tests."""
    gws = [stack.start_gateway(SHORT, name="gw-leads-a"), stack.start_gateway(SHORT, name="gw-leads-b")]
    yield gws
    for gw in gws:
        stack.extra_gateways.remove(gw)
        assert gw.stop() == 0, f"gateway exited badly; see {gw.log}"


def test_breach_is_reported_once_to_the_supervisor(api, factory, db, sweepers):
    pid, [(agent, atoken)], (sup, _) = project_with_agents(factory, 1, supervisor=True)
    _, token = factory.user()
    phone = unique_phone()
    r = submit_lead(api, token, pid, phone, base=sweepers[0].url)
    lead_id = lead_of(db, r)
    row = db.one("SELECT TIMESTAMPDIFF(MICROSECOND, created_at, first_contact_due_at) AS us FROM leads WHERE id = %s",
                 (lead_id,))
    assert row["us"] == 1_000_000
    ev = wait_for(lambda: events(db, "lead.contact_overdue", ref_id=lead_id))
    assert db.scalar("SELECT contact_overdue_at FROM leads WHERE id = %s", (lead_id,)) is not None
    # Each fast sweeper has run whole since: any second report would be there.
    wait_for_runs(sweepers, "leads-sweeper")
    ev = events(db, "lead.contact_overdue", ref_id=lead_id)
    assert len(ev) == 1
    assert ev[0]["user_id"] == sup and ev[0]["ref_type"] == "lead"
    payload = json.loads(ev[0]["payload"])
    assert payload["lead_id"] == lead_id and payload["project_id"] == pid and payload["agent_user_id"] == agent
    assert payload["customer_name"] == "王*" and payload["due_at"] >= payload["created_at"]
    assert payload["phone_masked"] == phone[:3] + "****" + phone[-4:] and payload["project_name"]
    # Contacting the lead afterwards changes nothing about the report.
    r = api.post(f"/api/v1/leads/{lead_id}/followups", token=atoken, json={"kind": "call"})
    assert r.status_code == 201
    detail = api.get(f"/api/v1/leads/{lead_id}", token=atoken).json()["data"]
    assert detail["contact_overdue_at"] is not None
    assert len(events(db, "lead.contact_overdue", ref_id=lead_id)) == 1


def test_contacted_or_moved_leads_are_not_reported(api, factory, db, sweepers):
    pid, [(_, atoken)], (sup, _) = project_with_agents(factory, 1, supervisor=True)
    _, token = factory.user()
    # Made by the main gateway (30 minute limit), then contacted, then made due.
    contacted = new_lead(api, db, token, pid)
    assert api.post(f"/api/v1/leads/{contacted}/followups", token=atoken, json={"kind": "call"}).status_code == 201
    lost = new_lead(api, db, token, pid)
    assert api.post(f"/api/v1/leads/{lost}/stage", token=atoken,
                    json={"stage": "lost", "reason": "空号"}).status_code == 200
    erased = new_lead(api, db, token, pid)
    assert api.delete(f"/api/v1/me/leads/{erased}", token=token).status_code == 200
    due = new_lead(api, db, token, pid)
    db.exec("UPDATE leads SET first_contact_due_at = NOW(3) - INTERVAL 1 MINUTE WHERE id IN (%s, %s, %s, %s)",
            (contacted, lost, erased, due))
    wait_for(lambda: events(db, "lead.contact_overdue", ref_id=due))
    # Every sweep of the fast sweepers after the change has looked at all three.
    wait_for_runs(sweepers, "leads-sweeper")
    assert events(db, "lead.contact_overdue", ref_id=contacted) == []
    assert events(db, "lead.contact_overdue", ref_id=lost) == []
    assert events(db, "lead.contact_overdue", ref_id=erased) == []  # withdrawn consent: not to be contacted
    assert db.scalar("SELECT contact_overdue_at FROM leads WHERE id = %s", (contacted,)) is None
