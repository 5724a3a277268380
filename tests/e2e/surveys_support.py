"""Shared by the survey tests: a project with its callers, owners in a given
phase, a questionnaire, sending it and answering it."""
import datetime
import hashlib

from conftest import expect_ok, unique_phone

SH = datetime.timezone(datetime.timedelta(hours=8))

QUESTIONS = [
    {"text": "您对房屋质量满意吗", "dimension": "house_quality", "kind": "scale"},
    {"text": "您对门窗质量满意吗", "dimension": "house_quality", "kind": "scale"},
    {"text": "您对维修服务满意吗", "dimension": "repair_service", "kind": "scale"},
    {"text": "您愿意向亲友推荐我们吗", "dimension": "overall", "kind": "nps"},
    {"text": "您最关注哪方面", "dimension": "overall", "kind": "choice", "options": ["价格", "质量", "服务"]},
    {"text": "还有什么建议", "dimension": "overall", "kind": "text", "required": False},
]


def today_sh():
    return datetime.datetime.now(SH).date()


def years_before(d, n):
    """The date n years before d, 29 February becoming 28 February."""
    try:
        return d.replace(year=d.year - n)
    except ValueError:
        return d.replace(year=d.year - n, day=28)


def owner_in(factory, db, project, handover, building=None, login=True):
    """A logged-in owner of a new unit of project handed over on `handover`
    (a date, or None): (user_id, token)."""
    b = building or factory.building(project)
    unit = factory.unit(building_id=b, handover_date=handover)
    phone = factory.owner(unit)
    uid, token = factory.user(phone=phone) if login else (None, None)
    return uid, token


def signed_buyer(factory, db, project):
    """A logged-in buyer with a signed lead of project and no unit: (user_id, token)."""
    phone = unique_phone()
    uid, token = factory.user(phone=phone)
    db.exec("INSERT INTO leads (project_id, name, phone, user_id, stage) VALUES (%s, %s, %s, %s, 'signed')",
            (project, "签约客户", phone, uid))
    return uid, token


def create(api, token, project, questions=None, phase="all", title="业主满意度调查", status=201):
    body = {"project_id": project, "title": title, "phase": phase,
            "questions": QUESTIONS if questions is None else questions}
    return expect_ok(api.post("/api/v1/admin/surveys", token=token, json=body), status)


def send(api, token, sid, status=200, **body):
    return expect_ok(api.post(f"/api/v1/admin/surveys/{sid}/send", token=token, json=body), status)


def recipients(db, sid):
    return {r["user_id"]: r for r in db.query(
        "SELECT user_id, status, skip_reason, phase, answered_at FROM survey_recipients WHERE survey_id = %s", (sid,))}


def sample_order(seed, user_ids):
    """The order a send takes owners in under seed: SHA-256 of "seed:user_id"."""
    return sorted(user_ids, key=lambda u: (hashlib.sha256(f"{seed}:{u}".encode()).hexdigest(), u))


def question_ids(api, token, sid):
    d = expect_ok(api.get(f"/api/v1/surveys/{sid}", token=token))
    return [q["id"] for q in d["questions"]]


def answer(api, token, sid, values):
    """POSTs answers: values in question order (None: left out)."""
    ids = question_ids(api, token, sid)
    body = {"answers": [{"question_id": q, "value": v} for q, v in zip(ids, values) if v is not None]}
    return api.post(f"/api/v1/surveys/{sid}/answers", token=token, json=body)
