"""Answering a survey in the mini-program: the caller's pending surveys,
one survey's questions, answering once (a second answer and the loser of a
race are 409), every answer checked against its question with a 400 naming
the field and nothing written, late answers refused; then the results,
dimension scores and NPS computed exactly on a known set of answers, the
free-text answers paged, and the survey_results statistic."""
import threading
import time

from conftest import expect_error, expect_ok
from test_exports_stats import assert_csv_is_the_api, stat_csv
from surveys_support import answer, create, owner_in, question_ids, send, today_sh


def sent_survey(api, db, factory, owners=5):
    project = factory.project()
    _, sup = factory.user(roles=[("supervisor", project)])
    people = [owner_in(factory, db, project, today_sh()) for _ in range(owners)]
    sid = create(api, sup, project)["id"]
    send(api, sup, sid)
    return project, sup, sid, people


def answer_rows(db, sid):
    return db.query("SELECT question_id, recipient_id, value_int, value_text FROM survey_answers WHERE survey_id = %s"
                    " ORDER BY id", (sid,))


def test_pending_list_and_questions(api, db, factory):
    project, sup, sid, people = sent_survey(api, db, factory, owners=1)
    _, token = people[0]
    items = expect_ok(api.get("/api/v1/surveys", token=token))
    assert [i["id"] for i in items] == [sid]
    assert items[0]["question_count"] == 6 and items[0]["title"] == "业主满意度调查"
    d = expect_ok(api.get(f"/api/v1/surveys/{sid}", token=token))
    assert d["answered"] is False and d["open"] is True and len(d["questions"]) == 6
    assert d["questions"][4]["options"] == ["价格", "质量", "服务"] and d["questions"][5]["required"] is False
    assert "sample_percent" not in d and "phase" not in d
    # someone the survey was not sent to: 404, and their list is empty
    _, stranger = owner_in(factory, db, project, today_sh())
    expect_error(api.get(f"/api/v1/surveys/{sid}", token=stranger), 404, "NOT_FOUND")
    assert expect_ok(api.get("/api/v1/surveys", token=stranger)) == []
    expect_error(api.post(f"/api/v1/surveys/{sid}/answers", token=stranger,
                          json={"answers": []}), 404, "NOT_FOUND")
    # answered: no longer pending
    expect_ok(answer(api, token, sid, [5, 4, 3, 9, 1, "很好"]), 201)
    assert expect_ok(api.get("/api/v1/surveys", token=token)) == []
    assert expect_ok(api.get(f"/api/v1/surveys/{sid}", token=token))["answered"] is True


def test_bad_answers_name_the_field_and_write_nothing(api, db, factory):
    project, sup, sid, people = sent_survey(api, db, factory, owners=1)
    _, token = people[0]
    ids = question_ids(api, token, sid)

    def bad(body, code, field):
        expect_error(api.post(f"/api/v1/surveys/{sid}/answers", token=token, json=body), 400, code, field)

    full = [{"question_id": q, "value": v} for q, v in zip(ids, [5, 4, 3, 9, 1, "好"])]
    def with_value(i, v):
        b = [dict(a) for a in full]
        b[i]["value"] = v
        return {"answers": b}
    bad({}, "MISSING_FIELD", "answers")
    bad({"answers": {}}, "INVALID_FIELD", "answers")
    bad({"answers": full, "extra": 1}, "INVALID_FIELD", "extra")
    bad(with_value(0, 6), "INVALID_FIELD", "answers[0].value")        # scale 1-5
    bad(with_value(2, 0), "INVALID_FIELD", "answers[2].value")
    bad(with_value(1, 4.5), "INVALID_FIELD", "answers[1].value")
    bad(with_value(3, 11), "INVALID_FIELD", "answers[3].value")       # nps 0-10
    bad(with_value(4, 3), "INVALID_FIELD", "answers[4].value")        # 3 options: 0-2
    bad(with_value(5, ""), "INVALID_FIELD", "answers[5].value")
    bad(with_value(5, "字" * 501), "INVALID_FIELD", "answers[5].value")
    bad(with_value(0, "5"), "INVALID_FIELD", "answers[0].value")
    bad({"answers": full[:3] + full[4:]}, "MISSING_FIELD", "answers")  # the required NPS question left out
    bad({"answers": full + [{"question_id": ids[0], "value": 1}]}, "INVALID_FIELD", "answers[6].question_id")
    bad({"answers": full[:5] + [{"question_id": 999999999, "value": 1}]}, "INVALID_FIELD", "answers[5].question_id")
    bad({"answers": [{"value": 1}]}, "MISSING_FIELD", "answers[0].question_id")
    bad({"answers": [{"question_id": ids[0], "value": 1, "note": "x"}]}, "INVALID_FIELD", "answers[0].note")
    assert answer_rows(db, sid) == []
    assert db.scalar("SELECT answered_at FROM survey_recipients WHERE survey_id = %s", (sid,)) is None
    # the optional text may be left out or null
    body = {"answers": full[:5] + [{"question_id": ids[5], "value": None}]}
    d = expect_ok(api.post(f"/api/v1/surveys/{sid}/answers", token=token, json=body), 201)
    assert d["answers"] == 5 and len(answer_rows(db, sid)) == 5


def test_answer_once_and_a_race_has_one_winner(api, db, factory):
    project, sup, sid, people = sent_survey(api, db, factory, owners=2)
    _, token = people[0]
    expect_ok(answer(api, token, sid, [5, 5, 5, 10, 0, None]), 201)
    expect_error(answer(api, token, sid, [1, 1, 1, 0, 0, None]), 409, "SURVEY_ANSWERED")
    assert [r["value_int"] for r in answer_rows(db, sid)] == [5, 5, 5, 10, 0]
    # two answers of one owner at the same moment
    _, token2 = people[1]
    ids = question_ids(api, token2, sid)
    results = []
    barrier = threading.Barrier(2)

    def go(score):
        body = {"answers": [{"question_id": q, "value": v} for q, v in zip(ids, [score, score, score, 9, 1])]}
        barrier.wait()
        results.append(api.post(f"/api/v1/surveys/{sid}/answers", token=token2, json=body))
    threads = [threading.Thread(target=go, args=(s,)) for s in (2, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in results) == [201, 409]
    loser = next(r for r in results if r.status_code == 409)
    assert loser.json()["error"]["code"] == "SURVEY_ANSWERED"
    rec = db.scalar("SELECT id FROM survey_recipients WHERE survey_id = %s AND user_id = %s", (sid, people[1][0]))
    rows = [r for r in answer_rows(db, sid) if r["recipient_id"] == rec]
    assert len(rows) == 5 and len({r["value_int"] for r in rows[:3]}) == 1


def test_late_and_closed_surveys_refuse_answers(api, db, factory):
    project, sup, sid, people = sent_survey(api, db, factory, owners=2)
    db.exec("UPDATE surveys SET deadline_at = NOW(3) - INTERVAL 1 SECOND WHERE id = %s", (sid,))
    expect_error(answer(api, people[0][1], sid, [5, 5, 5, 10, 0, None]), 409, "SURVEY_CLOSED")
    assert expect_ok(api.get("/api/v1/surveys", token=people[0][1])) == []
    assert expect_ok(api.get(f"/api/v1/surveys/{sid}", token=people[0][1]))["open"] is False
    db.exec("UPDATE surveys SET deadline_at = NOW(3) + INTERVAL 1 DAY WHERE id = %s", (sid,))
    expect_ok(api.post(f"/api/v1/admin/surveys/{sid}/close", token=sup))
    expect_error(answer(api, people[1][1], sid, [5, 5, 5, 10, 0, None]), 409, "SURVEY_CLOSED")
    assert answer_rows(db, sid) == []


def test_results_and_nps_on_known_answers(api, db, factory):
    project, sup, sid, people = sent_survey(api, db, factory, owners=6)
    # q1, q2 house_quality scale; q3 repair_service scale; q4 nps; q5 choice; q6 text (optional)
    given = [
        [5, 4, 3, 10, 0, "很满意"],
        [4, 4, 2, 9, 1, None],
        [3, 2, 5, 7, 1, "门窗漏风"],
        [1, 5, 4, 3, 2, "希望加快维修"],
        [5, 5, 1, 6, 1, None],
    ]
    for (uid, token), values in zip(people, given):
        expect_ok(answer(api, token, sid, values), 201)
    r = expect_ok(api.get(f"/api/v1/admin/surveys/{sid}/results", token=sup))
    assert (r["recipients"], r["skipped"], r["responses"], r["non_response"]) == (6, 0, 5, 1)
    assert r["response_rate"] == 0.8333
    dims = {d["dimension"]: d for d in r["dimensions"]}
    # house_quality: q1 5,4,3,1,5 and q2 4,4,2,5,5: 38 / 10
    hq = dims["house_quality"]
    assert (hq["questions"], hq["answers"], hq["non_response"], hq["average"]) == (2, 10, 2, 3.8)
    assert [x["count"] for x in hq["distribution"]] == [1, 1, 1, 3, 4]
    assert hq["response_rate"] == 0.8333 and hq["label"] == "房屋质量"
    rs = dims["repair_service"]  # 3, 2, 5, 4, 1
    assert (rs["answers"], rs["non_response"], rs["average"]) == (5, 1, 3.0)
    assert set(dims) == {"house_quality", "repair_service"}
    # NPS: 10, 9 promoters; 7 passive; 3, 6 detractors: (2 - 2) / 5 = 0
    assert r["nps"] == {"questions": 1, "answers": 5, "non_response": 1, "response_rate": 0.8333, "promoters": 2,
                        "passives": 1, "detractors": 2, "nps": 0}
    qs = r["questions"]
    assert qs[0]["average"] == 3.6 and qs[0]["answers"] == 5 and qs[0]["non_response"] == 1
    assert [(x["label"], x["count"]) for x in qs[4]["distribution"]] == [("价格", 1), ("质量", 3), ("服务", 1)]
    assert (qs[5]["answers"], qs[5]["non_response"]) == (3, 3)
    # the same figures as the database holds
    assert db.scalar("SELECT COUNT(*) FROM survey_answers WHERE survey_id = %s", (sid,)) == 28
    # a sixth owner: 10 -> promoters 3 of 6, detractors 2: 16.7
    expect_ok(answer(api, people[5][1], sid, [5, 5, 5, 10, 2, None]), 201)
    r = expect_ok(api.get(f"/api/v1/admin/surveys/{sid}/results", token=sup))
    assert (r["nps"]["promoters"], r["nps"]["detractors"], r["nps"]["nps"]) == (3, 2, 16.7)
    assert r["non_response"] == 0 and r["response_rate"] == 1
    # the free texts, newest first, paged, without their writers
    page = api.get(f"/api/v1/admin/surveys/{sid}/texts?limit=2", token=sup)
    body = page.json()
    assert [t["text"] for t in body["data"]] == ["希望加快维修", "门窗漏风"] and body["next_cursor"]
    assert set(body["data"][0]) == {"id", "question_id", "question_position", "text", "created_at"}
    rest = expect_ok(api.get(f"/api/v1/admin/surveys/{sid}/texts?limit=2&cursor={body['next_cursor']}", token=sup))
    assert [t["text"] for t in rest] == ["很满意"]


def test_survey_results_statistic(api, db, factory):
    project, sup, sid, people = sent_survey(api, db, factory, owners=3)
    expect_ok(answer(api, people[0][1], sid, [5, 5, 5, 10, 0, None]), 201)
    expect_ok(answer(api, people[1][1], sid, [1, 1, 1, 0, 0, "差"]), 201)
    now = int(time.time())
    d = expect_ok(api.get(f"/api/v1/admin/stats?project={project}&from={now - 86400}&to={now + 60}", token=sup))
    rows = d["survey_results"]
    assert len(rows) == 1
    row = rows[0]
    assert (row["survey_id"], row["recipients"], row["skipped"], row["responses"]) == (sid, 3, 0, 2)
    assert row["response_rate"] == 0.6667 and row["avg_score"] == 3 and row["nps"] == 0
    assert any(x["name"] == "survey_results" for x in d["definitions"])
    # its CSV export holds the same rows
    period = (now - 86400, now + 60)
    _, csv_rows = stat_csv(api, sup, "survey_results", period, project)
    assert_csv_is_the_api(csv_rows, d, "survey_results")
    # a period before the send holds nothing
    d = expect_ok(api.get(f"/api/v1/admin/stats?project={project}&from={now - 2 * 86400}&to={now - 86400}",
                          token=sup))
    assert d["survey_results"] == []
