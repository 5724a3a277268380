"""The ticket's detail is one read of the ticket with its timeline and each
timeline row's photos: the rows in order, each row's photos in their
position order, hidden photos to staff only; a ticket with no timeline row
still reads (with an empty timeline), and a ticket the caller may not see is
404 either way."""
from conftest import expect_error, expect_ok
from repairs_support import act, hide_photo, new_ticket, photo, world


def ids(photos):
    return [(p["id"], p.get("hidden", False)) for p in photos]


def test_timeline_rows_and_photos_in_order_hidden_to_staff_only(api, db, factory, stack):
    w = world(factory, db)
    eng = w.engineers[0]
    photos = [photo(api, stack, w.owner_a) for _ in range(3)]
    t = new_ticket(api, w, photo_ids=photos)
    tid = t["id"]
    expect_ok(act(api, eng, tid, "accept"))
    expect_ok(act(api, eng, tid, "start"))
    fixes = [photo(api, stack, eng) for _ in range(2)]
    expect_ok(act(api, eng, tid, "resolve", {"note": "更换地漏密封圈", "photo_ids": fixes}))
    # Reported risky before anyone reads the ticket (no copy of it anywhere).
    hide_photo(db, photos[1])

    staff = expect_ok(api.get(f"/api/v1/repairs/{tid}", token=w.supervisor.token))
    assert [e["action"] for e in staff["timeline"]] == ["submit", "dispatch", "accept", "start", "resolve"]
    assert ids(staff["timeline"][0]["photos"]) == [(photos[0], False), (photos[1], True), (photos[2], False)]
    assert ids(staff["photos"]) == ids(staff["timeline"][0]["photos"])
    assert [e["photos"] for e in staff["timeline"][1:4]] == [[], [], []]
    assert ids(staff["timeline"][4]["photos"]) == [(fixes[0], False), (fixes[1], False)]
    assert staff["timeline"][4]["note"] == "更换地漏密封圈"
    assert all(p["url"] and p["thumb_url"] for e in staff["timeline"] for p in e["photos"])
    assert "escalations" in staff and "followup" in staff

    owner = expect_ok(api.get(f"/api/v1/repairs/{tid}", token=w.owner_a.token))
    assert ids(owner["timeline"][0]["photos"]) == [(photos[0], False), (photos[2], False)]
    assert ids(owner["photos"]) == [(photos[0], False), (photos[2], False)]
    assert owner["timeline"][0]["actor"]["name"] == "业主"
    assert ids(owner["timeline"][4]["photos"]) == [(fixes[0], False), (fixes[1], False)]
    assert "escalations" not in owner and "owner_user_id" not in owner
    expect_error(api.get(f"/api/v1/repairs/{tid}", token=w.owner_b.token), 404, "NOT_FOUND")


def test_a_ticket_without_timeline_rows_still_reads(api, db, factory):
    w = world(factory, db)
    tid = new_ticket(api, w)["id"]
    db.exec("DELETE p FROM repair_timeline_photos p JOIN repair_timeline tl ON tl.id = p.timeline_id"
            " WHERE tl.ticket_id = %s", (tid,))
    db.exec("DELETE FROM repair_timeline WHERE ticket_id = %s", (tid,))

    d = expect_ok(api.get(f"/api/v1/repairs/{tid}", token=w.supervisor.token))
    assert (d["id"], d["timeline"], d["photos"]) == (tid, [], [])
    assert d["state"] == "dispatched" and d["engineer"]["id"] == w.engineers[0].id
    expect_error(api.get(f"/api/v1/repairs/{tid}", token=w.owner_b.token), 404, "NOT_FOUND")
    expect_error(api.get("/api/v1/repairs/999999999", token=w.supervisor.token), 404, "NOT_FOUND")
