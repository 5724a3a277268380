"""Sending a survey: the owners of its phase on today's Asia/Shanghai date,
at the phase boundaries; the contact limit shared with follow-up visits
(skipped owners recorded and counted); a sample that the seed fixes; the
invitation through the outbox to the fake WeChat; a send that stopped
part-way finished by sending again, nobody lost or asked twice."""
import datetime

from conftest import expect_error, expect_ok, gateway_metric, wait_for
from notify_support import sends_to, sole_dispatcher  # noqa: F401  (autouse)
from surveys_support import (create, owner_in, recipients, sample_order, send, signed_buyer, today_sh,
                             years_before)

DAY = datetime.timedelta(days=1)


def phase_world(factory, db):
    """A project with owners on each side of each boundary; {name: user_id}."""
    project = factory.project()
    _, sup = factory.user(roles=[("supervisor", project)])
    t = today_sh()
    b = factory.building(project)
    o = {}
    o["no_handover"], _ = owner_in(factory, db, project, None, b)
    o["handover_tomorrow"], _ = owner_in(factory, db, project, t + DAY, b)
    o["signed_buyer"], _ = signed_buyer(factory, db, project)
    o["handover_today"], _ = owner_in(factory, db, project, t, b)
    o["one_year"], _ = owner_in(factory, db, project, years_before(t, 1), b)
    o["one_year_and_a_day"], _ = owner_in(factory, db, project, years_before(t, 1) - DAY, b)
    o["three_years"], _ = owner_in(factory, db, project, years_before(t, 3), b)
    o["three_years_and_a_day"], _ = owner_in(factory, db, project, years_before(t, 3) - DAY, b)
    # two units: one handed over two years ago, one not yet -> from the earliest handed over
    uid, _ = owner_in(factory, db, project, years_before(t, 2), b)
    phone = db.scalar("SELECT phone FROM users WHERE id = %s", (uid,))
    unit = factory.unit(building_id=b, handover_date=None)
    factory.owner(unit, phone=phone, user_id=uid)
    o["two_units"] = uid
    # not chosen: an owner who never logged in, a disabled owner, an owner of another project
    owner_in(factory, db, project, t, b, login=False)
    gone, _ = owner_in(factory, db, project, t, b)
    db.exec("UPDATE users SET disabled = 1 WHERE id = %s", (gone,))
    owner_in(factory, db, factory.project(), t)
    return project, sup, o


EXPECTED = {
    "prospective": {"no_handover", "handover_tomorrow", "signed_buyer"},
    "run_in": {"handover_today", "one_year"},
    "stable": {"one_year_and_a_day", "three_years", "two_units"},
    "veteran": {"three_years_and_a_day"},
}


def phase_sends(api, db, factory):
    """Sends one survey per phase, then one to all, to a fresh phase_world:
    (names, {phase: (answer, recipients)}), or None when the Asia/Shanghai
    day turned meanwhile (the phases then moved under the test)."""
    day = today_sh()
    project, sup, o = phase_world(factory, db)
    sent = {}
    for phase in list(EXPECTED) + ["all"]:
        sid = create(api, sup, project, phase=phase, title=f"问卷{phase}")["id"]
        sent[phase] = (send(api, sup, sid), recipients(db, sid))
    if today_sh() != day:
        return None
    return {uid: name for name, uid in o.items()}, sent


def test_each_phase_gets_exactly_its_owners(api, db, factory):
    # The phases count from today's date: a run that crosses Shanghai's
    # midnight is made again on the new day (it cannot cross it twice).
    got = phase_sends(api, db, factory) or phase_sends(api, db, factory)
    assert got is not None
    names, sent = got
    for phase, expected in EXPECTED.items():
        d, rows = sent[phase]
        assert d["done"] is True and d["survey"]["state"] == "open"
        assert {names[u] for u in rows} == expected, phase
        assert all(r["phase"] == phase and r["status"] == "sent" for r in rows.values())
        assert d["chosen"] == len(expected) and d["sent_now"] == len(expected) and d["skipped_now"] == 0
    # "all": every chosen owner, each with their phase; all were asked today, so all are skipped
    d, rows = sent["all"]
    assert {names[u] for u in rows} == set().union(*EXPECTED.values())
    for phase, expected in EXPECTED.items():
        assert {names[u] for u, r in rows.items() if r["phase"] == phase} == expected
    assert {r["status"] for r in rows.values()} == {"skipped"}
    assert d["sent_now"] == 0 and d["skipped_now"] == len(rows)


def test_contact_limit_skips_owners_asked_recently(stack, api, db, factory):
    project = factory.project()
    _, sup = factory.user(roles=[("supervisor", project)])
    owners = [owner_in(factory, db, project, today_sh())[0] for _ in range(4)]
    # one was visited (回访) 10 days ago, one 40 days ago
    db.exec("INSERT INTO owner_contacts (user_id, project_id, kind, ref_id, contacted_at)"
            " VALUES (%s, %s, 'followup', 1, NOW(3) - INTERVAL 10 DAY)", (owners[0], project))
    db.exec("INSERT INTO owner_contacts (user_id, project_id, kind, ref_id, contacted_at)"
            " VALUES (%s, %s, 'followup', 2, NOW(3) - INTERVAL 40 DAY)", (owners[1], project))
    sid = create(api, sup, project)["id"]
    before = [gateway_metric(stack.gateway, "gateway_survey_recipients_total", status=s) for s in ("sent", "skipped")]
    d = send(api, sup, sid)
    after = [gateway_metric(stack.gateway, "gateway_survey_recipients_total", status=s) for s in ("sent", "skipped")]
    assert (after[0] - before[0], after[1] - before[1]) == (3, 1)
    got = recipients(db, sid)
    assert got[owners[0]]["status"] == "skipped" and got[owners[0]]["skip_reason"] == "contacted_recently"
    assert all(got[u]["status"] == "sent" and got[u]["skip_reason"] is None for u in owners[1:])
    assert (d["sent_now"], d["skipped_now"]) == (3, 1)
    assert (d["survey"]["recipients"], d["survey"]["skipped"]) == (3, 1)
    # the sent ones claimed the contact, the skipped one did not
    claimed = {r["user_id"] for r in db.query(
        "SELECT user_id FROM owner_contacts WHERE kind = 'survey' AND ref_id = %s", (sid,))}
    assert claimed == set(owners[1:])
    # only the asked owners have an invitation in the outbox
    invited = {r["user_id"] for r in db.query(
        "SELECT user_id FROM notification_events WHERE kind = 'survey.invite' AND ref_id = %s", (sid,))}
    assert invited == set(owners[1:])
    # results count the skipped apart
    r = expect_ok(api.get(f"/api/v1/admin/surveys/{sid}/results", token=sup))
    assert (r["recipients"], r["skipped"], r["responses"], r["non_response"]) == (3, 1, 0, 3)


def test_sample_is_fixed_by_its_seed(api, db, factory):
    project = factory.project()
    _, sup = factory.user(roles=[("supervisor", project)])
    owners = [owner_in(factory, db, project, today_sh())[0] for _ in range(10)]
    s1 = create(api, sup, project)["id"]
    d = send(api, sup, s1, sample_count=4, seed=42)
    assert d["chosen"] == 4
    assert set(recipients(db, s1)) == set(sample_order(42, owners)[:4])
    assert db.scalar("SELECT sample_seed FROM surveys WHERE id = %s", (s1,)) == 42
    # the same seed chooses the same owners (now skipped: asked by the first)
    s2 = create(api, sup, project)["id"]
    send(api, sup, s2, sample_count=4, seed=42)
    assert set(recipients(db, s2)) == set(recipients(db, s1))
    # a percentage rounds up: 25% of 10 is 3
    s3 = create(api, sup, project)["id"]
    d = send(api, sup, s3, sample_percent=25, seed=7)
    assert set(recipients(db, s3)) == set(sample_order(7, owners)[:3]) and d["chosen"] == 3
    # a count larger than the owners takes them all
    s4 = create(api, sup, project)["id"]
    assert send(api, sup, s4, sample_count=50, seed=1)["chosen"] == 10
    # the seed is in the send's audit row
    row = db.one("SELECT detail FROM audit_log WHERE action = 'survey.send' AND target_id = %s", (s1,))
    assert '"seed": 42' in row["detail"] or '"seed":42' in row["detail"]


def test_invitation_reaches_wechat(api, db, factory, fake):
    project = factory.project()
    _, sup = factory.user(roles=[("supervisor", project)])
    uid, token = owner_in(factory, db, project, today_sh())
    openid = db.scalar("SELECT openid FROM users WHERE id = %s", (uid,))
    expect_ok(api.post("/api/v1/subscriptions", token=token, json={"accepted": ["TPL_SURVEY"]}))
    sid = create(api, sup, project, title="交付满意度")["id"]
    send(api, sup, sid)
    msg = wait_for(lambda: sends_to(fake, openid), what="the survey invitation")[0]["body"]
    assert msg["template_id"] == "TPL_SURVEY"
    assert msg["page"] == f"pages/survey/detail?id={sid}"
    assert msg["data"]["thing1"]["value"] == "交付满意度"
    pname = db.scalar("SELECT name FROM projects WHERE id = %s", (project,))
    assert msg["data"]["thing2"]["value"] == pname[:20]
    deadline = db.scalar("SELECT DATE_FORMAT(CONVERT_TZ(deadline_at, '+00:00', '+08:00'), '%%Y-%%m-%%d %%H:%%i')"
                         " FROM surveys WHERE id = %s", (sid,))
    assert msg["data"]["time3"]["value"] == deadline
    # the inbox shows it too
    inbox = expect_ok(api.get("/api/v1/notifications", token=token))
    assert any(n["kind"] == "survey.invite" and n["ref_id"] == sid for n in inbox), inbox


def test_a_stopped_send_finishes_without_losing_or_doubling(api, db, factory):
    project = factory.project()
    _, sup = factory.user(roles=[("supervisor", project)])
    owners = [owner_in(factory, db, project, today_sh())[0] for _ in range(6)]
    sid = create(api, sup, project)["id"]
    send(api, sup, sid, seed=5)
    order = sample_order(5, owners)
    # As if the process died after the first batches committed: the last
    # three owners' batch never committed (its recipient rows, contacts and
    # events are not there) and the survey is still sending.
    lost = order[3:]
    fmt = ", ".join(["%s"] * len(lost))
    db.exec(f"DELETE FROM notification_events WHERE kind = 'survey.invite' AND ref_id = %s AND user_id IN ({fmt})",
            (sid, *lost))
    db.exec(f"DELETE FROM owner_contacts WHERE kind = 'survey' AND ref_id = %s AND user_id IN ({fmt})", (sid, *lost))
    db.exec(f"DELETE FROM survey_recipients WHERE survey_id = %s AND user_id IN ({fmt})", (sid, *lost))
    db.exec("UPDATE surveys SET state = 'sending' WHERE id = %s", (sid,))
    d = send(api, sup, sid, seed=999)  # a resumed send keeps the stored sample and seed
    assert d["done"] and d["sent_now"] == 3 and d["survey"]["state"] == "open"
    got = recipients(db, sid)
    assert set(got) == set(owners) and all(r["status"] == "sent" for r in got.values())
    counts = db.query("SELECT user_id, COUNT(*) AS n FROM notification_events WHERE kind = 'survey.invite'"
                      " AND ref_id = %s GROUP BY user_id", (sid,))
    assert {r["user_id"]: r["n"] for r in counts} == {u: 1 for u in owners}
    assert db.scalar("SELECT sample_seed FROM surveys WHERE id = %s", (sid,)) == 5
    # an open survey is not sent again
    expect_error(api.post(f"/api/v1/admin/surveys/{sid}/send", token=sup, json={}), 409, "CONFLICT")
