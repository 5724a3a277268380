"""Ratings on three dimensions: 响应速度 (speed), 服务态度 (attitude) and
维修质量 (quality), 1-5 each, once a round; bad input names the field and
writes nothing; only the owner who filed the ticket rates it; a poor
dimension opens a follow-up visit assigned to the project's service desk."""
import pytest

from conftest import expect_error, expect_ok
from rating_support import followup_of, rating, resolved_ticket, service_member
from repairs_support import act, events, ticket_row, world


def test_three_dimensions_are_stored_and_shown(api, db, factory):
    w = world(factory, db)
    tid = resolved_ticket(api, w)
    d = expect_ok(act(api, w.owner_a, tid, "rating", rating(4, 5, 3, comment="师傅很专业")))
    assert d["state"] == "closed" and d["close_reason"] == "rated"
    assert (d["rating"]["speed"], d["rating"]["attitude"], d["rating"]["quality"]) == (4, 5, 3)
    assert d["rating"]["score"] == 4 and d["rating"]["comment"] == "师傅很专业"
    row = db.one("SELECT * FROM repair_ratings WHERE ticket_id = %s", (tid,))
    assert (row["round"], row["speed"], row["attitude"], row["quality"]) == (0, 4, 5, 3)
    assert row["engineer_id"] == w.engineers[0].id
    assert ticket_row(db, tid)["rating_score"] == 4
    # The owner's and the supervisor's details agree.
    for who in (w.owner_a, w.supervisor):
        d = expect_ok(api.get(f"/api/v1/repairs/{tid}", token=who.token))
        assert (d["rating"]["speed"], d["rating"]["quality"], d["close_reason"]) == (4, 3, "rated")
    # Once a round.
    expect_error(act(api, w.owner_a, tid, "rating", rating()), 409, "CONFLICT")
    assert db.scalar("SELECT COUNT(*) FROM repair_ratings WHERE ticket_id = %s", (tid,)) == 1
    # A good rating opens no poor-rating follow-up.
    assert events(db, tid, "repair.followup") == []


BAD = [
    ({"attitude": 5, "quality": 5}, "MISSING_FIELD", "speed"),
    ({"speed": 5, "quality": 5}, "MISSING_FIELD", "attitude"),
    ({"speed": 5, "attitude": 5}, "MISSING_FIELD", "quality"),
    (rating(speed=0), "INVALID_FIELD", "speed"),
    (rating(attitude=6), "INVALID_FIELD", "attitude"),
    (rating(quality="5"), "INVALID_FIELD", "quality"),
    (rating(quality=4.5), "INVALID_FIELD", "quality"),
    (rating(comment="长" * 501), "INVALID_FIELD", "comment"),
    ({"score": 5}, "MISSING_FIELD", "speed"),  # the single score of before is no longer read
]


@pytest.mark.parametrize("body,code,field", BAD)
def test_bad_rating_names_the_field_and_writes_nothing(api, db, factory, body, code, field):
    w = world(factory, db)
    tid = resolved_ticket(api, w)
    expect_error(act(api, w.owner_a, tid, "rating", body), 400, code, field)
    assert ticket_row(db, tid)["state"] == "resolved" and ticket_row(db, tid)["rating_score"] is None
    assert db.scalar("SELECT COUNT(*) FROM repair_ratings WHERE ticket_id = %s", (tid,)) == 0
    assert db.scalar("SELECT COUNT(*) FROM followups WHERE subject_id = %s AND kind = 'repair'", (tid,)) == 0


def test_only_the_owner_who_filed_it_rates(api, db, factory):
    w = world(factory, db)
    tid = resolved_ticket(api, w)
    desk = service_member(factory, db, w.project_id)
    other_sup = factory.user(roles=[("supervisor", factory.project())])
    admin = factory.user(roles=[("admin", 0)])
    expect_error(act(api, w.engineers[0], tid, "rating", rating()), 403, "FORBIDDEN")
    expect_error(act(api, w.supervisor, tid, "rating", rating()), 403, "FORBIDDEN")
    expect_error(api.post(f"/api/v1/repairs/{tid}/rating", token=admin[1], json=rating()), 403, "FORBIDDEN")
    expect_error(act(api, w.owner_b, tid, "rating", rating()), 404, "NOT_FOUND")
    expect_error(act(api, desk, tid, "rating", rating()), 404, "NOT_FOUND")
    expect_error(api.post(f"/api/v1/repairs/{tid}/rating", token=other_sup[1], json=rating()), 404, "NOT_FOUND")
    expect_error(api.post(f"/api/v1/repairs/{tid}/rating", json=rating()), 401, "UNAUTHENTICATED")
    assert ticket_row(db, tid)["state"] == "resolved"
    assert db.scalar("SELECT COUNT(*) FROM repair_ratings WHERE ticket_id = %s", (tid,)) == 0


def test_one_poor_dimension_opens_a_follow_up_for_the_desk(api, db, factory):
    w = world(factory, db)
    desk1 = service_member(factory, db, w.project_id, "客服甲")
    desk2 = service_member(factory, db, w.project_id, "客服乙")
    t1 = resolved_ticket(api, w)
    t2 = resolved_ticket(api, w, owner=w.owner_b)
    expect_ok(act(api, w.owner_a, t1, "rating", rating(5, 5, 2, comment="漏水没修好")))
    expect_ok(act(api, w.owner_b, t2, "rating", rating(1, 4, 4)))
    f1, f2 = followup_of(db, t1), followup_of(db, t2)
    assert (f1["reason"], f1["score"], f1["status"], f1["owner_user_id"]) == ("poor_rating", 2, "open", w.owner_a.id)
    assert (f2["reason"], f2["score"]) == ("poor_rating", 1)
    # Least-loaded first: one task each.
    assert {f1["assignee_user_id"], f2["assignee_user_id"]} == {desk1.id, desk2.id}
    assert f1["due_at"] > f1["created_at"]
    # The supervisors are told, as before; the poor rating counts as a contact.
    assert len(events(db, t1, "repair.followup", w.supervisor.id)) == 1
    assert db.scalar("SELECT COUNT(*) FROM owner_contacts WHERE kind = 'followup' AND ref_id = %s", (f1["id"],)) == 1
    # The supervisor's detail shows the task.
    d = expect_ok(api.get(f"/api/v1/repairs/{t1}", token=w.supervisor.token))
    assert d["followup"]["id"] == f1["id"] and d["followup"]["reason"] == "poor_rating"
