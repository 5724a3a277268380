"""The staff routes of surveys, /api/v1/admin/surveys: each route for each
role (supervisor of the project, of another project, admin, the project's
service desk, agent, engineer, owner, no login); bad input named by its
field with nothing written; drafts edited, sent surveys frozen; closing;
the list's filters, paging and CSV export; the audit rows."""
import json

from admin_support import audit_rows, patch, table_rows
from conftest import expect_error, expect_ok
from surveys_support import QUESTIONS, create, owner_in, send, today_sh
from test_exports import download, parse, run_export

BASE = "/api/v1/admin/surveys"


def world(factory, db):
    project, other = factory.project(), factory.project()
    k = {}
    k["admin_id"], k["admin"] = factory.user(roles=[("admin", 0)])
    k["sup_id"], k["sup"] = factory.user(roles=[("supervisor", project)])
    _, k["other_sup"] = factory.user(roles=[("supervisor", other)])
    _, k["service"] = factory.user(roles=[("service", project)])
    _, k["other_service"] = factory.user(roles=[("service", other)])
    _, k["agent"] = factory.user(roles=[("agent", project)])
    _, k["engineer"] = factory.user(roles=[("engineer", project)])
    _, k["owner"] = owner_in(factory, db, project, today_sh())
    return project, other, k


def survey_tables(db):
    return [table_rows(db, f"SELECT * FROM {t} ORDER BY id") for t in
            ("surveys", "survey_questions", "survey_recipients", "survey_answers")]


def test_each_route_for_each_role(api, db, factory):
    project, other, k = world(factory, db)
    sid = create(api, k["sup"], project)["id"]
    reads = [("GET", BASE, None), ("GET", f"{BASE}/{sid}", None), ("GET", f"{BASE}/{sid}/results", None),
             ("GET", f"{BASE}/{sid}/texts", None)]
    writes = [("POST", BASE, {"project_id": project, "title": "t", "questions": QUESTIONS}),
              ("PATCH", f"{BASE}/{sid}", {"title": "新标题"}),
              ("POST", f"{BASE}/{sid}/send", {}), ("POST", f"{BASE}/{sid}/close", None)]
    for method, path, body in reads + writes:
        expect_error(api.request(method, path, json=body), 401, "UNAUTHENTICATED")
        for who in ("agent", "engineer", "owner"):
            expect_error(api.request(method, path, json=body, token=k[who]), 403, "FORBIDDEN")
    for method, path, body in writes:
        expect_error(api.request(method, path, json=body, token=k["service"]), 403, "FORBIDDEN")
    before = survey_tables(db)
    # another project's supervisor and service desk do not see the survey
    for who in ("other_sup", "other_service"):
        for method, path, body in reads[1:]:
            expect_error(api.request(method, path, json=body, token=k[who]), 404, "NOT_FOUND")
        assert expect_ok(api.get(BASE, token=k[who])) == []
        expect_error(api.get(f"{BASE}?project={project}", token=k[who]), 403, "FORBIDDEN", "project")
    for method, path, body in writes[1:]:
        expect_error(api.request(method, path, json=body, token=k["other_sup"]), 404, "NOT_FOUND")
    expect_error(api.post(BASE, token=k["other_sup"], json=writes[0][2]), 403, "FORBIDDEN", "project_id")
    assert survey_tables(db) == before
    # the project's service desk reads
    for who in ("service", "sup", "admin"):
        for method, path, body in reads:
            assert api.request(method, path, token=k[who]).status_code == 200, (who, path)
    # supervisor and admin write
    expect_ok(patch(api, f"{BASE}/{sid}", token=k["sup"], json={"title": "交付一周年调查"}))
    s2 = create(api, k["admin"], project)["id"]
    expect_ok(patch(api, f"{BASE}/{s2}", token=k["admin"], json={"phase": "run_in"}))
    expect_ok(api.post(f"{BASE}/{sid}/send", token=k["sup"], json={}))
    expect_ok(api.post(f"{BASE}/{s2}/send", token=k["admin"], json={}))
    expect_ok(api.post(f"{BASE}/{sid}/close", token=k["admin"]))
    expect_ok(api.post(f"{BASE}/{s2}/close", token=k["sup"]))
    # the audit rows
    assert [r["action"] for r in audit_rows(db, "survey", sid)] == ["survey.create", "survey.update", "survey.send",
                                                                    "survey.close"]
    rows = audit_rows(db, "survey", sid)
    assert rows[1]["actor_user_id"] == k["sup_id"] and rows[3]["actor_user_id"] == k["admin_id"]
    assert rows[1]["detail"]["before"]["title"] == "业主满意度调查"
    assert rows[1]["detail"]["after"]["title"] == "交付一周年调查"


def test_bad_input_names_the_field_and_writes_nothing(api, db, factory):
    project, other, k = world(factory, db)
    sup = k["sup"]
    ok = {"project_id": project, "title": "调查", "phase": "stable", "questions": QUESTIONS}

    def q(i, **change):
        qs = [dict(x) for x in QUESTIONS]
        qs[i].update(change)
        for key, v in change.items():
            if v is None:
                del qs[i][key]
        return dict(ok, questions=qs)
    cases = [
        ({**ok, "title": ""}, "INVALID_FIELD", "title"),
        ({**ok, "title": "题" * 61}, "INVALID_FIELD", "title"),
        ({k2: v for k2, v in ok.items() if k2 != "title"}, "MISSING_FIELD", "title"),
        ({k2: v for k2, v in ok.items() if k2 != "project_id"}, "MISSING_FIELD", "project_id"),
        ({**ok, "phase": "old"}, "INVALID_FIELD", "phase"),
        ({**ok, "intro": "字" * 501}, "INVALID_FIELD", "intro"),
        ({**ok, "colour": "red"}, "INVALID_FIELD", "colour"),
        ({**ok, "questions": []}, "INVALID_FIELD", "questions"),
        ({**ok, "questions": QUESTIONS * 6}, "INVALID_FIELD", "questions"),
        (q(1, text="问" * 201), "INVALID_FIELD", "questions[1].text"),
        (q(2, dimension="noise"), "INVALID_FIELD", "questions[2].dimension"),
        (q(3, kind="stars"), "INVALID_FIELD", "questions[3].kind"),
        (q(0, required="yes"), "INVALID_FIELD", "questions[0].required"),
        (q(4, options=["只有一个"]), "INVALID_FIELD", "questions[4].options"),
        (q(4, options=[str(i) for i in range(11)]), "INVALID_FIELD", "questions[4].options"),
        (q(4, options=["价格", "选" * 51]), "INVALID_FIELD", "questions[4].options[1]"),
        (q(0, options=["a", "b"]), "INVALID_FIELD", "questions[0].options"),
        (q(4, options=None), "INVALID_FIELD", "questions[4].options"),
    ]
    before = survey_tables(db)
    for body, code, field in cases:
        expect_error(api.post(BASE, token=sup, json=body), 400, code, field)
    expect_error(api.post(BASE, token=sup, json={**ok, "project_id": 999999999}), 404, "NOT_FOUND", "project_id")
    assert survey_tables(db) == before
    assert db.scalar("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'survey.%%' AND actor_user_id = %s",
                     (k["sup_id"],)) == 0
    # an edit checks the same way; a draft without questions cannot be sent
    sid = expect_ok(api.post(BASE, token=sup, json={"project_id": project, "title": "草稿"}), 201)["id"]
    before = survey_tables(db)
    expect_error(patch(api, f"{BASE}/{sid}", token=sup, json={}), 400, "MISSING_FIELD")
    expect_error(patch(api, f"{BASE}/{sid}", token=sup, json={"project_id": other}), 400, "INVALID_FIELD",
                 "project_id")
    expect_error(patch(api, f"{BASE}/{sid}", token=sup, json=q(2, dimension="noise")), 400, "INVALID_FIELD")
    expect_error(api.post(f"{BASE}/{sid}/send", token=sup, json={}), 422, "UNPROCESSABLE", "questions")
    for body, field in [({"sample_percent": 0}, "sample_percent"), ({"sample_percent": 101}, "sample_percent"),
                        ({"sample_count": 0}, "sample_count"), ({"sample_percent": 10, "sample_count": 5},
                                                                 "sample_count"),
                        ({"open_days": 0}, "open_days"), ({"seed": -1}, "seed"), ({"when": 1}, "when")]:
        expect_error(api.post(f"{BASE}/{sid}/send", token=sup, json=body), 400, "INVALID_FIELD", field)
    expect_error(api.post(f"{BASE}/{sid}/close", token=sup), 409, "CONFLICT")
    expect_error(api.get(f"{BASE}?state=done", token=sup), 400, "INVALID_FIELD", "state")
    expect_error(api.get(f"{BASE}?phase=x", token=sup), 400, "INVALID_FIELD", "phase")
    expect_error(api.get(f"{BASE}/{sid}/texts?question=x", token=sup), 400, "INVALID_FIELD", "question")
    assert survey_tables(db) == before
    expect_error(api.get(f"{BASE}/0", token=sup), 404, "NOT_FOUND")


def test_drafts_edit_sent_surveys_are_frozen(api, db, factory):
    project, other, k = world(factory, db)
    sup = k["sup"]
    sid = create(api, sup, project)["id"]
    new_q = [{"text": "总体满意度", "dimension": "property_service", "kind": "scale", "required": False}]
    d = expect_ok(patch(api, f"{BASE}/{sid}", token=sup, json={"questions": new_q, "intro": "请花一分钟"}))
    assert [(q["text"], q["dimension_label"], q["required"]) for q in d["questions"]] == [
        ("总体满意度", "物业服务", False)]
    assert d["intro"] == "请花一分钟" and d["title"] == "业主满意度调查" and d["state"] == "draft"
    assert db.scalar("SELECT COUNT(*) FROM survey_questions WHERE survey_id = %s", (sid,)) == 1
    assert expect_ok(patch(api, f"{BASE}/{sid}", token=sup, json={"intro": None}))["intro"] is None  # null clears
    expect_ok(api.post(f"{BASE}/{sid}/send", token=sup, json={"open_days": 3}))
    deadline = db.scalar("SELECT TIMESTAMPDIFF(HOUR, sent_at, deadline_at) FROM surveys WHERE id = %s", (sid,))
    assert deadline == 72
    before = survey_tables(db)
    for body in ({"questions": QUESTIONS}, {"title": "改名"}):
        expect_error(patch(api, f"{BASE}/{sid}", token=sup, json=body), 409, "CONFLICT")
    assert survey_tables(db) == before
    expect_ok(api.post(f"{BASE}/{sid}/close", token=sup))
    expect_error(api.post(f"{BASE}/{sid}/close", token=sup), 409, "CONFLICT")
    row = db.one("SELECT state, closed_at, deadline_at <= NOW(3) AS ended FROM surveys WHERE id = %s", (sid,))
    assert row["state"] == "closed" and row["closed_at"] is not None and row["ended"] == 1


def test_list_filters_paging_and_csv(api, db, factory):
    project, other, k = world(factory, db)
    sup = k["sup"]
    ids = [create(api, sup, project, title=f"问卷{i}", phase="run_in" if i % 2 else "all")["id"] for i in range(5)]
    owner_in(factory, db, project, today_sh())
    send(api, sup, ids[4])
    other_id = create(api, k["admin"], other)["id"]
    page = api.get(f"{BASE}?project={project}&limit=2", token=sup).json()
    assert [s["id"] for s in page["data"]] == [ids[4], ids[3]] and page["next_cursor"]
    first = page["data"][0]
    assert (first["state"], first["recipients"], first["question_count"], first["phase_label"]) == ("open", 2, 6,
                                                                                                     "全部")
    rest = expect_ok(api.get(f"{BASE}?project={project}&limit=10&cursor={page['next_cursor']}", token=sup))
    assert [s["id"] for s in rest] == ids[2::-1]
    assert [s["id"] for s in expect_ok(api.get(f"{BASE}?phase=run_in", token=sup))] == [ids[3], ids[1]]
    assert [s["id"] for s in expect_ok(api.get(f"{BASE}?state=open", token=sup))] == [ids[4]]
    admin_ids = [s["id"] for s in expect_ok(api.get(f"{BASE}?limit=100", token=k["admin"]))]
    assert other_id in admin_ids and ids[0] in admin_ids
    assert other_id not in [s["id"] for s in expect_ok(api.get(BASE, token=k["service"]))]
    # the CSV holds the list's rows
    e = run_export(api, sup, "surveys", {"project": project})
    rows = parse(download(api, sup, e).content)
    assert rows[0][:4] == ["编号", "项目编号", "项目", "问卷"]
    assert [int(r[0]) for r in rows[1:]] == ids[::-1]
    assert rows[1][4] == "全部" and rows[1][7] == "2"
