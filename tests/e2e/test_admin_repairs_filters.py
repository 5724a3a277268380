"""The staff's tickets board filters on the server: GET /api/v1/admin/repairs
takes category (code), engineer (user id) and from/to (filing time, Unix
seconds, [from, to)) besides project, state and overdue. Every combination
pages (limit 2) through exactly the matching tickets, each once, newest
first; a bad value is a 400 naming its parameter; a supervisor's scope still
applies."""
import itertools

import pytest

from conftest import Api, Db, Factory, expect_error, expect_ok
from repairs_support import category, new_ticket, world

BASE = 1_000_000_000  # 2001-09-09: before any ticket the other tests file now


@pytest.fixture(scope="module")
def board(stack):
    """One project with two engineers, two categories and eight tickets whose
    engineer, category, state and filing time the test sets, the filing
    times out of id order (the filter reads created_at, not ids)."""
    with open(stack.db.password_file) as f:
        db = Db(stack.db.socket, stack.db.user, f.read().strip(), stack.db.database)
    api = Api(stack.url, stack.ca_cert)
    w = world(Factory(db, api), db, engineers=2)
    other_code, other_cid = category(db)
    e0, e1 = w.engineers
    # (engineer, category id, state, hours after BASE)
    plan = [(e0, w.category_id, "dispatched", 5), (e1, w.category_id, "accepted", 1),
            (e0, other_cid, "in_progress", 7), (None, other_cid, "submitted", 2),
            (e1, other_cid, "dispatched", 6), (e0, w.category_id, "closed", 3),
            (e0, other_cid, "dispatched", 0), (e1, w.category_id, "resolved", 4)]
    tickets = []
    for i, (eng, cid, state, hours) in enumerate(plan):
        tid = new_ticket(api, w, owner=w.owner_a if i % 2 else w.owner_b)["id"]
        db.exec("UPDATE repair_tickets SET engineer_id = %s, category_id = %s, state = %s,"
                " created_at = FROM_UNIXTIME(%s) WHERE id = %s",
                (eng.id if eng else None, cid, state, BASE + hours * 3600, tid))
        tickets.append({"id": tid, "engineer": eng.id if eng else None,
                        "category": w.category if cid == w.category_id else other_code,
                        "state": state, "at": BASE + hours * 3600})
    yield w, tickets, other_code
    api.session.close()
    db.close()


def all_pages(api, token, query, limit=2):
    """Every page of the list for query; asserts each id comes once."""
    seen, cursor = [], None
    for _ in range(50):
        r = api.get(f"/api/v1/admin/repairs?{query}&limit={limit}" + (f"&cursor={cursor}" if cursor else ""),
                    token=token)
        items = expect_ok(r)
        assert len(items) <= limit
        seen += items
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    ids = [x["id"] for x in seen]
    assert len(ids) == len(set(ids)), ids
    return seen


def expected(tickets, engineer=None, code=None, state=None, frm=None, to=None):
    return sorted((t["id"] for t in tickets
                   if (engineer is None or t["engineer"] == engineer) and (code is None or t["category"] == code)
                   and (state is None or t["state"] == state) and (frm is None or t["at"] >= frm)
                   and (to is None or t["at"] < to)), reverse=True)


def query_of(engineer=None, code=None, state=None, frm=None, to=None):
    parts = [f"{k}={v}" for k, v in (("engineer", engineer), ("category", code), ("state", state),
                                     ("from", frm), ("to", to)) if v is not None]
    return "&".join(parts)


def test_each_filter_alone_and_combined_pages_through_exactly_the_matches(api, board):
    w, tickets, other_code = board
    e0, e1 = w.engineers
    engineers = (None, e0.id, e1.id)
    codes = (None, w.category, other_code)
    states = (None, "dispatched")
    windows = ((None, None), (BASE + 2 * 3600, None), (None, BASE + 5 * 3600), (BASE + 1 * 3600, BASE + 6 * 3600))
    checked = 0
    for eng, code, state, (frm, to) in itertools.product(engineers, codes, states, windows):
        want = expected(tickets, eng, code, state, frm, to)
        q = query_of(eng, code, state, frm, to)
        # One project, and every project the supervisor supervises (this one).
        for scope in (f"project={w.project_id}", "x=1"):
            got = all_pages(api, w.supervisor.token, f"{scope}&{q}")
            assert [x["id"] for x in got] == want, (scope, q, got)
            for x in got:
                if eng is not None:
                    assert x["engineer"]["id"] == eng
                if code is not None:
                    assert x["category"]["code"] == code
        checked += 1
    assert checked == 3 * 3 * 2 * 4
    # The filters combine with overdue: only late tickets are marked.
    assert all_pages(api, w.supervisor.token, f"project={w.project_id}&overdue=true&engineer={e0.id}") == []


def test_an_admin_filters_across_every_project(api, factory, board):
    w, tickets, other_code = board
    e0 = w.engineers[0]
    _, admin = factory.user(roles=[("admin", 0)])
    got = [x["id"] for x in all_pages(api, admin, f"engineer={e0.id}")]
    assert got == expected(tickets, engineer=e0.id)
    got = [x["id"] for x in all_pages(api, admin, f"category={other_code}&engineer={e0.id}")]
    assert got == expected(tickets, engineer=e0.id, code=other_code)
    got = [x["id"] for x in all_pages(api, admin, f"category={w.category}&from={BASE}&to={BASE + 4 * 3600}")]
    assert got == expected(tickets, code=w.category, frm=BASE, to=BASE + 4 * 3600)


def test_a_supervisor_sees_only_their_projects_whatever_the_filter(api, factory, db, board):
    w, tickets, other_code = board
    e0 = w.engineers[0]
    stranger = world(factory, db)
    # Another project's supervisor: nothing of this project, by any filter.
    for q in (f"engineer={e0.id}", f"category={w.category}", f"from={BASE}&to={BASE + 86400}"):
        assert all_pages(api, stranger.supervisor.token, q) == [], q
        expect_error(api.get(f"/api/v1/admin/repairs?project={w.project_id}&{q}", token=stranger.supervisor.token),
                     403, "FORBIDDEN", "project")
    # An engineer is no supervisor: refused whatever the filter.
    expect_error(api.get(f"/api/v1/admin/repairs?engineer={e0.id}", token=e0.token), 403, "FORBIDDEN")


@pytest.mark.parametrize("query, field", [
    ("engineer=abc", "engineer"), ("engineer=0", "engineer"), ("engineer=-3", "engineer"),
    ("category=" + "x" * 33, "category"), ("category=%FF", "category"),
    ("from=yesterday", "from"), ("from=-1", "from"), ("to=1.5", "to"), ("to=99999999999", "to"),
    ("from=2000&to=2000", "from"), ("from=3000&to=2000", "from"),
])
def test_bad_values_are_refused_naming_the_parameter(api, board, query, field):
    w, _, _ = board
    err = expect_error(api.get(f"/api/v1/admin/repairs?project={w.project_id}&{query}", token=w.supervisor.token),
                       400, "INVALID_FIELD", field)
    assert field in err["message"], err


def test_the_csv_export_applies_the_same_filters(api, board):
    """The board's export (kind "repairs") reads the list's own definition:
    the same filters give the same tickets, in the same order."""
    import csv
    import io

    from conftest import wait_for
    w, tickets, other_code = board
    e0, _ = w.engineers
    params = {"project": w.project_id, "engineer": e0.id, "category": other_code, "from": BASE}
    e = expect_ok(api.post("/api/v1/admin/exports", token=w.supervisor.token,
                           json={"kind": "repairs", "params": params}), 202)

    def done():
        x = expect_ok(api.get(f"/api/v1/admin/exports/{e['id']}", token=w.supervisor.token))
        return x if x["state"] in ("done", "failed") else None
    x = wait_for(done, what="the repairs export to end")
    assert x["state"] == "done", x
    body = api.get(x["download_url"], token=w.supervisor.token).content
    rows = list(csv.reader(io.StringIO(body[3:].decode("utf-8"), newline="")))
    listed = all_pages(api, w.supervisor.token, query_of(engineer=e0.id, code=other_code, frm=BASE)
                       + f"&project={w.project_id}")
    want = expected(tickets, engineer=e0.id, code=other_code, frm=BASE)
    assert [int(r[0]) for r in rows[1:]] == [t["id"] for t in listed] == want and len(want) == 2
