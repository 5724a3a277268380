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
