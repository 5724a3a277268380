"""Helpers shared by the lead, referral and reward tests."""
from conftest import unique_phone
from conftest import wait_for  # noqa: F401  (the shared poller, for the lead tests)


def lead_body(project_id, phone=None, name="王小明", **extra):
    body = {"project_id": project_id, "name": name, "phone": phone or unique_phone(), "consent": True,
            "interest": {"layout": "三室两厅", "area": "90-110", "budget": "300万"}}
    body.update(extra)
    return body


def submit_lead(api, token, project_id, phone=None, expect=(201,), base=None, **extra):
    r = api.post("/api/v1/leads", token=token, json=lead_body(project_id, phone, **extra), base=base)
    assert r.status_code in expect, r.text
    return r


def lead_of(db, r):
    """The lead a POST /leads response's submission went to (the answer
    itself never names the lead)."""
    return db.scalar("SELECT lead_id FROM lead_submissions WHERE id = %s", (r.json()["data"]["submission"]["id"],))


def new_lead(api, db, token, project_id, phone=None, **extra):
    """Submits a lead and returns its id."""
    return lead_of(db, submit_lead(api, token, project_id, phone, **extra))


def buyer_with_phone(factory):
    """A logged-in user whose bound phone is their own: a lead they leave
    with that phone is verified. Returns (user_id, token, phone)."""
    phone = unique_phone()
    uid, token = factory.user(phone=phone)
    return uid, token, phone


def project_with_agents(factory, n_agents=1, supervisor=False):
    """A fresh project with n agents (ascending user ids); returns
    (project_id, [(agent_id, token), ...], (supervisor_id, token) or None)."""
    pid = factory.project()
    agents = [factory.user(roles=[("agent", pid)]) for _ in range(n_agents)]
    sup = factory.user(roles=[("supervisor", pid)]) if supervisor else None
    return pid, agents, sup


def set_stage(api, token, lead_id, stage, reason=None, expect=200):
    body = {"stage": stage}
    if reason:
        body["reason"] = reason
    r = api.post(f"/api/v1/leads/{lead_id}/stage", token=token, json=body)
    assert r.status_code == expect, r.text
    return r.json()


def events(db, kind, ref_id=None, user_id=None):
    sql = "SELECT * FROM notification_events WHERE kind = %s"
    args = [kind]
    if ref_id is not None:
        sql += " AND ref_id = %s"
        args.append(ref_id)
    if user_id is not None:
        sql += " AND user_id = %s"
        args.append(user_id)
    return db.query(sql + " ORDER BY id", args)


def touch(api, token, code, **extra):
    return api.post("/api/v1/referrals/touch", token=token, json=dict(code=code, **extra))


def owner_with_code(api, factory, project_id):
    """An owner of project_id with a referral code: (user_id, token, phone, code)."""
    uid, token, _unit, phone = factory.owner_user(project_id)
    r = api.get("/api/v1/referrals/code", token=token)
    assert r.status_code == 200, r.text
    return uid, token, phone, r.json()["data"]["code"]
