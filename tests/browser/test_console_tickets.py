"""The tickets board in the console (tests/browser/flow_assign_ticket.mjs):
an owner files a ticket with a photo through the API; a supervisor, logged
in through the ticket flow, finds it on the board filtered by project and
state, sees its photo (a signed /media URL, allowed by the console's CSP)
and its timeline, and assigns it to another engineer. The owner then reads
the assignment in the ticket's timeline through the API, the board shows
the new engineer, and the ticket's row holds them."""
from browser_support import run_flow, screenshots_exist
from repairs_support import new_ticket, photo, ticket_row, world


def test_assign_a_ticket_and_the_owner_sees_it(stack, api, factory, db):
    w = world(factory, db, engineers=2)
    pid = photo(api, stack, w.owner_a)
    t = new_ticket(api, w, photo_ids=[pid])
    first = ticket_row(db, t["id"])["engineer_id"]
    assert t["state"] == "dispatched" and first in (w.engineers[0].id, w.engineers[1].id)
    other = next(e for e in w.engineers if e.id != first)
    other_name = db.scalar("SELECT display_name FROM users WHERE id = %s", (other.id,))

    report = run_flow(stack, "flow_assign_ticket.mjs", SUP_TOKEN=w.supervisor.token, TICKET_ID=t["id"],
                      PROJECT_ID=w.project_id, ENGINEER_ID=other.id, ENGINEER_NAME=other_name)

    first_name = db.scalar("SELECT display_name FROM users WHERE id = %s", (first,))
    assert report["before"] == first_name
    assert report["after"] == other_name and report["reloaded"] == other_name
    assert "state=dispatched" in report["filters"] and f"project={w.project_id}" in report["filters"]
    assert report["photos"] == [f"/media/{pid}/thumb"]
    assert report["timeline_before"] == 2  # submit, dispatch
    # The owner's view: the assignment is in the timeline, with the new engineer.
    r = api.get(f"/api/v1/repairs/{t['id']}", token=w.owner_a.token)
    assert r.status_code == 200, r.text
    d = r.json()["data"]
    assert [e["action"] for e in d["timeline"]] == ["submit", "dispatch", "assign"]
    assert d["engineer"]["id"] == other.id and d["state"] == "dispatched"
    # The row changed, by the supervisor.
    assert ticket_row(db, t["id"])["engineer_id"] == other.id
    assert db.scalar("SELECT actor_user_id FROM repair_timeline WHERE ticket_id = %s AND action = 'assign'",
                     (t["id"],)) == w.supervisor.id
    screenshots_exist(report, "repairs-board", "repairs-detail", "repairs-assign")


def test_filter_the_board_by_engineer_across_pages(stack, api, factory, db):
    """The engineer filter is the API's: the board shows every ticket of that
    engineer (more than one page of 20) and none of another's, the same
    tickets the API answers for the same filter."""
    w = world(factory, db, engineers=2)
    e0, e1 = w.engineers
    seed = new_ticket(api, w)["id"]
    # 25 more tickets of the project, copies of the filed one: 21 of them
    # and the seed for the first engineer, 4 for the second.
    for i in range(25):
        tid = db.exec("INSERT INTO repair_tickets (user_id, unit_id, building_id, project_id, category_id,"
                      " description, state, content_check, clock_started_at, accept_due_at, arrive_due_at,"
                      " resolve_due_at, engineer_id)"
                      " SELECT user_id, unit_id, building_id, project_id, category_id, description, 'dispatched',"
                      " content_check, clock_started_at, accept_due_at, arrive_due_at, resolve_due_at, %s"
                      " FROM repair_tickets WHERE id = %s", ((e1 if i % 6 == 5 else e0).id, seed))
        db.exec("UPDATE repair_tickets SET ticket_no = CONCAT('BX', LPAD(id, 8, '0')) WHERE id = %s", (tid,))
    db.exec("UPDATE repair_tickets SET engineer_id = %s WHERE id = %s", (e0.id, seed))
    e0_name = db.scalar("SELECT display_name FROM users WHERE id = %s", (e0.id,))

    report = run_flow(stack, "flow_filter_engineer.mjs", SUP_TOKEN=w.supervisor.token, PROJECT_ID=w.project_id,
                      ENGINEER_ID=e0.id)

    # What the API answers for the same filter, every page.
    want, cursor = [], None
    while True:
        r = api.get(f"/api/v1/admin/repairs?project={w.project_id}&engineer={e0.id}&limit=100"
                    + (f"&cursor={cursor}" if cursor else ""), token=w.supervisor.token)
        assert r.status_code == 200, r.text
        want += [x["id"] for x in r.json()["data"]]
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    mine = db.query("SELECT id FROM repair_tickets WHERE engineer_id = %s ORDER BY id DESC", (e0.id,))
    assert want == [row["id"] for row in mine] and len(want) == 22
    assert report["unfiltered"] == 20  # the first page of the project's 26
    assert [x["id"] for x in report["rows"]] == want and report["count"] == 22
    assert all(x["engineer"] == e0_name for x in report["rows"]), report["rows"]
    assert f"engineer={e0.id}" in report["requested"] and f"project={w.project_id}" in report["requested"]
    assert f"engineer={e0.id}" in report["filters"] and f"project={w.project_id}" in report["filters"]
    screenshots_exist(report, "repairs-board-engineer")
