"""The 问卷 page in headless Chromium (tests/browser/surveys_console.mjs): a
supervisor creates a survey (a save without a title shows the field's
error and writes nothing), sends it to a sample of two of three owners;
the owners answer through the API as the mini-program would; the results
drawer then shows the API's and the database's numbers: recipients,
responses, response rate, NPS and the dimension scores."""
import datetime

from conftest import expect_ok

from config_support import run_driver, screenshots

SH = datetime.timezone(datetime.timedelta(hours=8))


def test_create_send_answer_and_see_the_results(stack, api, factory, db):
    project = factory.project()
    sup_id, sup = factory.user(roles=[("supervisor", project)])
    today = datetime.datetime.now(SH).date()
    owners = {}
    for _ in range(3):
        unit = factory.unit(project, handover_date=today)
        phone = factory.owner(unit)
        uid, token = factory.user(phone=phone)
        owners[uid] = token

    rep = run_driver(stack, "surveys_console.mjs", sup, STEP="create", PROJECT_ID=project, TITLE="交付满意度调查",
                     SAMPLE=2)
    sid = rep["survey_id"]
    assert rep["listed_title"] == "交付满意度调查" and "标题" in rep["title_error"]
    assert rep["counts"] == "2 / 0 / 0"
    survey = db.one("SELECT title, phase, state, sample_count FROM surveys WHERE id = %s", (sid,))
    assert survey == {"title": "交付满意度调查", "phase": "run_in", "state": "open", "sample_count": 2}
    assert db.scalar("SELECT COUNT(*) FROM surveys WHERE project_id = %s", (project,)) == 1  # the bad save wrote nothing
    qs = db.query("SELECT kind, dimension FROM survey_questions WHERE survey_id = %s ORDER BY position", (sid,))
    assert [(q["kind"], q["dimension"]) for q in qs] == [("scale", "house_quality"), ("nps", "overall")]

    # the chosen owners answer in the mini-program
    chosen = [r["user_id"] for r in db.query("SELECT user_id FROM survey_recipients WHERE survey_id = %s"
                                             " AND status = 'sent' ORDER BY user_id", (sid,))]
    assert len(chosen) == 2
    for uid, (score, nps) in zip(chosen, [(5, 10), (2, 4)]):
        d = expect_ok(api.get(f"/api/v1/surveys/{sid}", token=owners[uid]))
        body = {"answers": [{"question_id": d["questions"][0]["id"], "value": score},
                            {"question_id": d["questions"][1]["id"], "value": nps}]}
        expect_ok(api.post(f"/api/v1/surveys/{sid}/answers", token=owners[uid], json=body), 201)

    rep2 = run_driver(stack, "surveys_console.mjs", sup, STEP="results", PROJECT_ID=project, SURVEY_ID=sid)
    r = expect_ok(api.get(f"/api/v1/admin/surveys/{sid}/results", token=sup))
    assert (rep2["recipients"], rep2["skipped"], rep2["responses"], rep2["rate"]) == (2, 0, 2, 1)
    assert (r["recipients"], r["responses"], r["response_rate"]) == (2, 2, 1)
    assert rep2["nps"] == r["nps"] and r["nps"]["nps"] == 0  # one promoter, one detractor
    assert rep2["dimensions"] == [{"dimension": "house_quality", "answers": 2, "non_response": 0, "average": 3.5}]
    assert db.scalar("SELECT AVG(a.value_int) FROM survey_answers a JOIN survey_questions q ON q.id = a.question_id"
                     " WHERE a.survey_id = %s AND q.kind = 'scale'", (sid,)) == 3.5
    assert rep2["q1"] == "2 / 0" and rep2["texts"] == 0
    screenshots(rep, "surveys-editor.png", "surveys-list.png", "surveys-list-tablet.png")
    screenshots(rep2, "surveys-results.png", "surveys-results-tablet.png")
