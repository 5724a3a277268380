"""The statistics, computed from the event history: GET /api/v1/admin/stats
(every figure of the dashboard), and the repair and lead statistics built on
the same functions. A known history is made through the API (tickets filed,
accepted, resolved, reopened, rated; leads moving through stages; a referral
signing; its reward approved and paid), then its rows are dated on a fixed
calendar, so each figure is known exactly. A period that ends in the middle
of the history gives the figures as they were then, which differ from the
current state."""
import time

import pytest

from conftest import expect_error, expect_ok
from lead_support import buyer_with_phone, new_lead, owner_with_code, set_stage
from repairs_support import act, category, named_user, new_ticket, world

# 2026-01-01 00:00 Asia/Shanghai; the history is dated from here on.
B = 1767196800
H = 3600
D = 86400
FULL = (B, B + 10 * D)
CUT = (B, B + 2 * D)  # ends after day 1: before the rework, the second signing and the reward's approval


def date_rows(db, table, key, key_id, times, expect_kinds=None, kind_col=None):
    """Dates the rows of one object (ordered by id) at the given unix times."""
    rows = db.query(f"SELECT id{', ' + kind_col if kind_col else ''} FROM {table} WHERE {key} = %s ORDER BY id",
                    (key_id,))
    if expect_kinds is not None:
        assert [r[kind_col] for r in rows] == expect_kinds
    assert len(rows) == len(times)
    for r, t in zip(rows, times):
        db.exec(f"UPDATE {table} SET created_at = FROM_UNIXTIME(%s) WHERE id = %s", (t, r["id"]))


def date_ticket(db, tid, actions, times):
    db.exec("UPDATE repair_tickets SET created_at = FROM_UNIXTIME(%s) WHERE id = %s", (times[0], tid))
    date_rows(db, "repair_timeline", "ticket_id", tid, times, actions, "action")


def date_lead(db, lid, stages, times):
    db.exec("UPDATE leads SET created_at = FROM_UNIXTIME(%s) WHERE id = %s", (times[0], lid))
    date_rows(db, "lead_stage_history", "lead_id", lid, times, stages, "to_stage")


def escalate(db, tid, clock, rnd, at):
    """The row the sweeper writes when a clock runs past due (test_repairs_escalation)."""
    db.exec("INSERT INTO repair_escalations (ticket_id, clock, round, kind, step, level, due_at, created_at)"
            " VALUES (%s, %s, %s, 'escalation', 1, 'engineer', FROM_UNIXTIME(%s), FROM_UNIXTIME(%s))",
            (tid, clock, rnd, at - 60, at))


@pytest.fixture
def history(api, db, factory):
    w = world(factory, db, engineers=2)
    e0, e1 = w.engineers
    other_code, _ = category(db, name="门窗")
    t1, t2 = new_ticket(api, w)["id"], new_ticket(api, w)["id"]
    t3 = new_ticket(api, w, category=other_code)["id"]
    t4 = new_ticket(api, w)["id"]
    eng = {db.scalar("SELECT engineer_id FROM repair_tickets WHERE id = %s", (t,)): t for t in (t1, t2)}
    assert set(eng) == {e0.id, e1.id}
    by = {t1: next(e for e in (e0, e1) if eng[e.id] == t1), t2: next(e for e in (e0, e1) if eng[e.id] == t2)}
    for step, body in (("accept", None), ("start", None), ("resolve", {"note": "好了"})):
        expect_ok(act(api, by[t1], t1, step, body))
        expect_ok(act(api, by[t2], t2, step, body))
    expect_ok(act(api, w.owner_a, t1, "rating", {"score": 5}))
    expect_ok(act(api, w.owner_a, t2, "reopen", {"reason": "还在漏水"}))
    for step, body in (("accept", None), ("start", None), ("resolve", {"note": "再修"})):
        expect_ok(act(api, by[t2], t2, step, body))
    expect_ok(act(api, w.owner_a, t2, "rating", {"score": 2}))
    expect_ok(act(api, w.owner_a, t3, "cancel"))
    full = ["submit", "dispatch", "accept", "start", "resolve"]
    date_ticket(db, t1, full + ["rate"], [B + H, B + H + 1, B + H + 60, B + H + 120, B + 2 * H, B + 3 * H])
    date_ticket(db, t2, full + ["reopen", "accept", "start", "resolve", "rate"],
                [B + 2 * H, B + 2 * H + 1, B + 2 * H + 600, B + 3 * H, B + 4 * H,
                 B + 3 * D, B + 3 * D + 60, B + 3 * D + H, B + 3 * D + 2 * H + 7200, B + 4 * D])
    date_ticket(db, t3, ["submit", "dispatch", "cancel"], [B + 5 * H, B + 5 * H + 1, B + 6 * H])
    date_ticket(db, t4, ["submit", "dispatch"], [B + D, B + D + 1])
    escalate(db, t4, "accept", 0, B + D + 3 * H)
    escalate(db, t2, "resolve", 1, B + 4 * D)

    # Leads of the same project: two agents, a reward rule, a referral.
    pid = w.project_id
    agent = factory.user(roles=[("agent", pid)])
    db.exec("INSERT INTO reward_rules (project_id, kind, amount) VALUES (%s, 'cash', 500000)", (pid,))
    _, _, _, code = owner_with_code(api, factory, pid)
    _, rtoken, rphone = buyer_with_phone(factory)
    assert api.post("/api/v1/referrals/touch", token=rtoken, json={"code": code}).status_code == 201
    _, token = factory.user()
    l1 = new_lead(api, db, token, pid, channel="ad")
    l2 = new_lead(api, db, token, pid, channel="poster")
    l3 = new_lead(api, db, rtoken, pid, rphone)
    l4 = new_lead(api, db, token, pid, channel="walk_in")
    agent_token = agent[1]
    for lid, stages in ((l1, ["contacted", "visited", "signed"]), (l2, ["contacted", "lost"]),
                        (l3, ["contacted", "visited", "subscribed", "signed"])):
        for s in stages:
            set_stage(api, agent_token, lid, s, reason="不买了" if s == "lost" else None)
    date_lead(db, l1, ["new", "contacted", "visited", "signed"], [B + H, B + 2 * H, B + D, B + 3 * D])
    date_lead(db, l2, ["new", "contacted", "lost"], [B + 2 * H, B + 3 * H, B + 5 * H])
    date_lead(db, l3, ["new", "contacted", "visited", "subscribed", "signed"],
              [B + 3 * H, B + 4 * H, B + 5 * H, B + D, B + D + H])
    date_lead(db, l4, ["new"], [B + 3 * D])
    rid = db.scalar("SELECT w.id FROM referral_rewards w JOIN referrals r ON r.id = w.referral_id"
                    " WHERE r.lead_id = %s", (l3,))
    sup2 = named_user(factory, db, "主管二", roles=[("supervisor", pid)])
    expect_ok(api.post(f"/api/v1/admin/rewards/{rid}/approve", token=w.supervisor.token))
    expect_ok(api.post(f"/api/v1/admin/rewards/{rid}/pay", token=sup2.token))
    db.exec("UPDATE referral_rewards SET created_at = FROM_UNIXTIME(%s), approved_at = FROM_UNIXTIME(%s),"
            " paid_at = FROM_UNIXTIME(%s) WHERE id = %s", (B + D + H, B + 3 * D, B + 5 * D, rid))
    return dict(w=w, e0=by[t1], e1=by[t2], code=w.category, other=other_code, tickets=(t1, t2, t3, t4),
                leads=(l1, l2, l3, l4), reward=rid)


def stats(api, token, period, project=None, path="/api/v1/admin/stats"):
    q = f"from={period[0]}&to={period[1]}" + (f"&project={project}" if project else "")
    return expect_ok(api.get(f"{path}?{q}", token=token))


def volume(d):
    return {(r["category_code"], r["state"]): r["tickets"] for r in d["repairs_volume"]}


def test_every_figure_of_the_whole_history(api, db, history):
    h, w = history, history["w"]
    d = stats(api, w.supervisor.token, FULL, w.project_id)
    assert (d["project_id"], d["from"], d["to"]) == (w.project_id, *FULL)
    # The definitions (an export's header line) name exactly the rows' columns, in order.
    defs = {x["name"]: x for x in d["definitions"]}
    assert list(defs) == ["repairs_volume", "repair_handling_times", "repair_sla", "engineer_satisfaction",
                          "lead_funnel", "referral_signings", "rewards_waiting", "complaints_volume",
                          "complaint_handling_times", "complaint_sla", "complaint_reopen_rate", "complaint_incidents"]
    for name, x in defs.items():
        # This history has no complaints: their figures are in test_complaints_stats.py.
        assert d[name] or name == "complaints_volume", name
        assert all(list(row) == [c["name"] for c in x["columns"]] for row in d[name]), name
        assert all(c["header"] and not c["header"].isascii() for c in x["columns"]), name
    assert defs["repairs_volume"]["title"] == "报修量（类别 × 期末状态）"
    assert volume(d) == {(h["code"], "closed"): 2, (h["code"], "dispatched"): 1, (h["other"], "cancelled"): 1}
    assert {r["state"]: r["state_label"] for r in d["repairs_volume"]}["closed"] == "已完成"
    # Resolved in the period: t1 (accepted after 60 s, resolved after 1 h) and
    # t2 (its last resolve, 3 days and 2 h after filing; first accepted after 600 s).
    assert d["repair_handling_times"] == [
        {"measure": "accept", "label": "响应", "tickets": 2, "avg_s": 330, "p90_s": 600},
        {"measure": "resolve", "label": "完成", "tickets": 2, "avg_s": (3600 + 3 * D + 2 * H) // 2,
         "p90_s": 3 * D + 2 * H}]
    # Rounds started: four filings and t2's reopen; t4's accept and the reworked resolve escalated.
    assert d["repair_sla"] == [
        {"clock": "accept", "label": "响应", "clocks": 5, "breached": 1, "breach_rate": 0.2},
        {"clock": "arrive", "label": "到场", "clocks": 5, "breached": 0, "breach_rate": 0},
        {"clock": "resolve", "label": "完成", "clocks": 5, "breached": 1, "breach_rate": 0.2}]
    sat = {r["engineer_id"]: r for r in d["engineer_satisfaction"]}
    assert sat[h["e0"].id]["engineer_name"].startswith("师傅")
    assert sat[h["e0"].id] == {"engineer_id": h["e0"].id, "engineer_name": sat[h["e0"].id]["engineer_name"],
                               "ratings": 1, "avg_score": 5, "poor": 0, "resolved": 1, "reworked": 0, "rework_rate": 0}
    assert (sat[h["e1"].id]["ratings"], sat[h["e1"].id]["avg_score"], sat[h["e1"].id]["poor"]) == (1, 2, 1)
    assert (sat[h["e1"].id]["resolved"], sat[h["e1"].id]["reworked"], sat[h["e1"].id]["rework_rate"]) == (1, 1, 1)
    assert [r["engineer_id"] for r in d["engineer_satisfaction"]] == [h["e0"].id, h["e1"].id]
    funnel = {r["channel"]: r for r in d["lead_funnel"]}
    row = ("leads", "contacted", "visited", "subscribed", "signed", "lost", "cancelled")
    assert {c: tuple(r[k] for k in row) for c, r in funnel.items()} == {
        "ad": (1, 1, 1, 1, 1, 0, 0), "poster": (1, 1, 0, 0, 0, 1, 0), "referral": (1, 1, 1, 1, 1, 0, 0),
        "walk_in": (1, 0, 0, 0, 0, 0, 0)}
    assert d["referral_signings"] == [{"signed": 2, "from_referrals": 1, "share": 0.5}]
    # Paid on day 5: nothing waits at the period's end.
    assert d["rewards_waiting"] == [
        {"status": "pending", "label": "待审批", "rewards": 0, "cash_fen": 0, "points": 0},
        {"status": "approved", "label": "待发放", "rewards": 0, "cash_fen": 0, "points": 0}]


def test_a_period_that_cuts_the_history_gives_the_figures_as_they_were(api, db, history):
    h, w = history, history["w"]
    t1, t2, t3, t4 = h["tickets"]
    d = stats(api, w.supervisor.token, CUT, w.project_id)
    # Now t2 is closed and the reward paid; at the end of day 1 t2 waited for
    # its rating and the reward for approval.
    assert db.scalar("SELECT state FROM repair_tickets WHERE id = %s", (t2,)) == "closed"
    assert db.scalar("SELECT status FROM referral_rewards WHERE id = %s", (h["reward"],)) == "paid"
    assert volume(d) == {(h["code"], "closed"): 1, (h["code"], "resolved"): 1, (h["code"], "dispatched"): 1,
                         (h["other"], "cancelled"): 1}
    assert d["repair_handling_times"][0]["tickets"] == 2 and d["repair_handling_times"][0]["avg_s"] == 330
    assert d["repair_handling_times"][1] == {"measure": "resolve", "label": "完成", "tickets": 2, "avg_s": 5400,
                                             "p90_s": 7200}
    assert [(r["clocks"], r["breached"]) for r in d["repair_sla"]] == [(4, 1), (4, 0), (4, 0)]
    assert d["repair_sla"][0]["breach_rate"] == 0.25
    sat = {r["engineer_id"]: r for r in d["engineer_satisfaction"]}
    assert (sat[h["e0"].id]["ratings"], sat[h["e0"].id]["avg_score"]) == (1, 5)
    # e1 resolved t2 on day 0; its reopen (day 3) is after the period, and its rating too.
    assert sat[h["e1"].id] == {"engineer_id": h["e1"].id, "engineer_name": sat[h["e1"].id]["engineer_name"],
                               "ratings": 0, "avg_score": None, "poor": 0, "resolved": 1, "reworked": 0,
                               "rework_rate": 0}
    funnel = {r["channel"]: (r["leads"], r["contacted"], r["visited"], r["subscribed"], r["signed"], r["lost"])
              for r in d["lead_funnel"]}
    assert funnel == {"ad": (1, 1, 1, 0, 0, 0), "poster": (1, 1, 0, 0, 0, 1), "referral": (1, 1, 1, 1, 1, 0)}
    assert d["referral_signings"] == [{"signed": 1, "from_referrals": 1, "share": 1}]
    assert [(r["status"], r["rewards"], r["cash_fen"]) for r in d["rewards_waiting"]] == \
        [("pending", 1, 500000), ("approved", 0, 0)]
    # Day 2 to day 10: t1 alone was signed in it; e1's second resolve, not reworked.
    later = stats(api, w.supervisor.token, (B + 2 * D, FULL[1]), w.project_id)
    assert later["referral_signings"] == [{"signed": 1, "from_referrals": 0, "share": 0}]
    assert volume(later) == {}
    sat = {r["engineer_id"]: r for r in later["engineer_satisfaction"]}
    assert (sat[h["e1"].id]["ratings"], sat[h["e1"].id]["resolved"], sat[h["e1"].id]["reworked"]) == (1, 1, 0)
    # Approved on day 3, paid on day 5: at the end of day 3 it waits for payment.
    mid = stats(api, w.supervisor.token, (B, B + 4 * D), w.project_id)
    assert [(r["status"], r["rewards"], r["cash_fen"]) for r in mid["rewards_waiting"]] == \
        [("pending", 0, 0), ("approved", 1, 500000)]


def test_the_older_routes_give_the_same_numbers(api, db, history):
    h, w = history, history["w"]
    d = stats(api, w.supervisor.token, CUT, w.project_id)
    r = stats(api, w.supervisor.token, CUT, w.project_id, "/api/v1/admin/repairs/stats")
    assert r["total"] == 4
    assert {c["code"]: c["count"] for c in r["by_category"]} == {h["code"]: 3, h["other"]: 1}
    assert {s["state"]: s["count"] for s in r["by_state"] if s["count"]} == \
        {"dispatched": 1, "resolved": 1, "closed": 1, "cancelled": 1}
    times = d["repair_handling_times"]
    assert r["time_to_accept"] == {"count": times[0]["tickets"], "avg_s": times[0]["avg_s"], "p90_s": times[0]["p90_s"]}
    assert r["time_to_resolve"] == {"count": 2, "avg_s": 5400, "p90_s": 7200}
    assert (r["clocks"], r["breached"], r["breach_rate"]) == (12, 1, pytest.approx(1 / 12))
    assert r["sla"] == d["repair_sla"] and r["satisfaction"] == d["engineer_satisfaction"]
    leads = stats(api, w.supervisor.token, CUT, w.project_id, "/api/v1/admin/leads/stats")
    assert leads["total"] == 3 and [f["count"] for f in leads["funnel"]] == [3, 3, 2, 1, 1]
    assert (leads["lost"], leads["cancelled"]) == (1, 0)
    assert {c["channel"]: (c["leads"], c["signed"]) for c in leads["by_channel"]} == \
        {"ad": (1, 0), "poster": (1, 0), "referral": (1, 1)}
    assert leads["referrals"] == {"signed": 1, "signed_from_referrals": 1, "share": 1}


def test_who_may_see_the_numbers(api, db, factory, history):
    w = history["w"]
    path = f"/api/v1/admin/stats?from={FULL[0]}&to={FULL[1]}"
    # A supervisor without ?project= sees their projects: this one only.
    mine = stats(api, w.supervisor.token, FULL)
    assert mine["project_id"] is None and volume(mine) == volume(stats(api, w.supervisor.token, FULL, w.project_id))
    # An admin sees every project; naming this one gives its numbers.
    boss = named_user(factory, db, "管理员", roles=[("admin", 0)])
    assert volume(stats(api, boss.token, FULL, w.project_id)) == volume(mine)
    assert sum(r["tickets"] for r in stats(api, boss.token, FULL)["repairs_volume"]) >= 4
    # Another project's supervisor: refused for this project, and sees none of it without one.
    _, other = factory.user(roles=[("supervisor", factory.project())])
    expect_error(api.get(f"{path}&project={w.project_id}", token=other), 403, "FORBIDDEN", "project")
    theirs = stats(api, other, FULL)
    assert theirs["repairs_volume"] == [] and theirs["lead_funnel"] == []
    assert theirs["referral_signings"] == [{"signed": 0, "from_referrals": 0, "share": None}]
    # Owners, engineers and agents: 403.
    expect_error(api.get(path, token=w.owner_a.token), 403, "FORBIDDEN")
    expect_error(api.get(path, token=w.engineers[0].token), 403, "FORBIDDEN")


@pytest.mark.parametrize("query, field", [
    ("from=soon", "from"), ("to=2026-01-01", "to"), ("from=2000&to=1000", "from"), ("from=1000&to=1000", "from"),
    ("to=99999999999", "to"), ("project=abc", "project"), ("project=-3", "project"),
])
def test_bad_parameters_name_the_parameter(api, factory, query, field):
    _, token = factory.user(roles=[("supervisor", factory.project())])
    expect_error(api.get(f"/api/v1/admin/stats?{query}", token=token), 400, "INVALID_FIELD", field)


def test_default_period_is_the_30_days_before_now(api, factory):
    _, token = factory.user(roles=[("supervisor", factory.project())])
    before = int(time.time())
    d = expect_ok(api.get("/api/v1/admin/stats", token=token))
    assert d["to"] - d["from"] == 30 * D and d["to"] > before
    assert [r["status"] for r in d["rewards_waiting"]] == ["pending", "approved"]


@pytest.mark.parametrize("seconds, avg, p90", [
    ([10 * i for i in range(1, 11)], 55, 90),  # rank ceil(0.9 * 10) = 9
    ([1, 2], 2, 2),  # 1.5 rounds up; rank ceil(1.8) = 2
    ([300], 300, 300),
    ([5, 1, 4, 2, 3, 9, 8, 7, 6, 10, 11], 6, 10),  # rank ceil(9.9) = 10 of 11, whatever the order of filing
])
def test_average_and_p90_are_exact(api, db, factory, seconds, avg, p90):
    w = world(factory, db)
    for i, s in enumerate(seconds):
        tid = new_ticket(api, w)["id"]
        filed = B + i * H
        db.exec("UPDATE repair_tickets SET created_at = FROM_UNIXTIME(%s) WHERE id = %s", (filed, tid))
        # The rows the engineer's accept and resolve write, dated.
        for action, at in (("accept", filed + s), ("resolve", filed + 2 * s)):
            db.exec("INSERT INTO repair_timeline (ticket_id, action, from_state, to_state, actor_user_id, actor_role,"
                    " created_at) VALUES (%s, %s, 'x', 'y', %s, 'engineer', FROM_UNIXTIME(%s))",
                    (tid, action, w.engineers[0].id, at))
    d = stats(api, w.supervisor.token, FULL, w.project_id)
    assert d["repair_handling_times"] == [
        {"measure": "accept", "label": "响应", "tickets": len(seconds), "avg_s": avg, "p90_s": p90},
        {"measure": "resolve", "label": "完成", "tickets": len(seconds),
         "avg_s": (2 * sum(seconds) * 2 + len(seconds)) // (2 * len(seconds)), "p90_s": 2 * p90}]
