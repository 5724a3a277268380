"""GET /api/v1/admin/referrals: the referrals of the caller's projects for
supervisors (all of them for admins), with the referrer, the referee and the
reward, phones masked; filters by project and stage; refused to other roles;
a bad filter names its field; paged by the one contract."""
from conftest import expect_error
from lead_support import buyer_with_phone, new_lead, set_stage
from test_rewards import referred_lead

URL = "/api/v1/admin/referrals"


def ids(r):
    assert r.status_code == 200, r.text
    return [i["id"] for i in r.json()["data"]]


def test_a_supervisor_lists_the_referrals_of_their_projects(api, factory, db):
    x = referred_lead(api, factory, db)
    set_stage(api, x["atoken"], x["lead"], "signed")
    y = referred_lead(api, factory, db)  # another project, another supervisor
    r = api.get(f"{URL}?project={x['pid']}", token=x["stoken"])
    assert ids(r) == [x["ref"]]
    item = r.json()["data"][0]
    assert item["project"]["id"] == x["pid"] and item["lead_id"] == x["lead"]
    assert item["referrer"]["user_id"] == x["referrer"] and "****" in item["referrer"]["phone_masked"]
    assert "****" in item["referee_phone"] and item["referee_name"] == "孙七"
    assert item["agent"]["user_id"] == x["agent"] and item["stage"] == "signed" and item["lead_signed"] is True
    rid = db.scalar("SELECT id FROM referral_rewards WHERE referral_id = %s", (x["ref"],))
    assert item["reward"] == {"id": rid, "status": "pending", "kind": "cash", "amount": 500000,
                              "amount_display": "¥5000.00"}
    # Without a filter: only the supervisor's own projects.
    mine = ids(api.get(URL + "?limit=100", token=x["stoken"]))
    assert x["ref"] in mine and y["ref"] not in mine
    # Another project's supervisor does not see it, even when asking for it.
    assert ids(api.get(f"{URL}?project={x['pid']}", token=y["stoken"])) == []
    # An admin sees both; the stage filter applies.
    _, admin = factory.user(roles=[("admin", 0)])
    assert ids(api.get(f"{URL}?project={y['pid']}", token=admin)) == [y["ref"]]
    assert ids(api.get(f"{URL}?project={x['pid']}&stage=new", token=admin)) == []
    assert ids(api.get(f"{URL}?project={y['pid']}&stage=new", token=admin)) == [y["ref"]]
    yitem = api.get(f"{URL}?project={y['pid']}", token=admin).json()["data"][0]
    assert yitem["reward"] is None and yitem["lead_signed"] is False and yitem["reassigned_at"] is None


def test_other_roles_are_refused(api, factory, db):
    x = referred_lead(api, factory, db)
    for token in (x["atoken"], x["rtoken"]):
        expect_error(api.get(URL, token=token), 403, "FORBIDDEN")
    assert api.get(URL).status_code == 401


def test_bad_filters_name_their_field(api, factory, db):
    x = referred_lead(api, factory, db)
    for query, field in (("stage=done", "stage"), ("project=abc", "project"), ("limit=0", "limit"),
                         ("limit=101", "limit"), ("cursor=xyz", "cursor")):
        err = expect_error(api.get(f"{URL}?{query}", token=x["stoken"]), 400, "INVALID_FIELD")
        assert err["field"] == field, (query, err)


def test_paged_by_the_one_contract(api, factory, db):
    x = referred_lead(api, factory, db)
    # Two more referrals in the same project, by the same referrer.
    code = api.get("/api/v1/referrals/code", token=x["rtoken"]).json()["data"]["code"]
    more = []
    for _ in range(2):
        _, token, phone = buyer_with_phone(factory)
        assert api.post("/api/v1/referrals/touch", token=token, json={"code": code}).status_code == 201
        lead = new_lead(api, db, token, x["pid"], phone)
        more.append(db.scalar("SELECT id FROM referrals WHERE lead_id = %s", (lead,)))
    seen, cursor = [], None
    while True:
        r = api.get(f"{URL}?project={x['pid']}&limit=2" + (f"&cursor={cursor}" if cursor else ""), token=x["stoken"])
        seen += ids(r)
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert seen == sorted([x["ref"], *more], reverse=True)


def test_the_rewards_list_names_who_approved_and_who_paid(api, factory, db):
    x = referred_lead(api, factory, db)
    set_stage(api, x["atoken"], x["lead"], "signed")
    rid = db.scalar("SELECT id FROM referral_rewards WHERE referral_id = %s", (x["ref"],))
    admin, atoken = factory.user(roles=[("admin", 0)])
    db.exec("UPDATE users SET display_name = %s WHERE id = %s", ("甲主管", x["sup"]))
    db.exec("UPDATE users SET display_name = %s WHERE id = %s", ("乙管理员", admin))
    assert api.post(f"/api/v1/admin/rewards/{rid}/approve", token=x["stoken"]).status_code == 200
    item = api.get(f"/api/v1/admin/rewards?project={x['pid']}", token=x["stoken"]).json()["data"][0]
    assert (item["approved_by"], item["approved_by_name"], item["paid_by"], item["paid_by_name"]) == \
        (x["sup"], "甲主管", None, None)
    assert api.post(f"/api/v1/admin/rewards/{rid}/pay", token=atoken).status_code == 200
    item = api.get(f"/api/v1/admin/rewards?project={x['pid']}", token=x["stoken"]).json()["data"][0]
    assert (item["status"], item["approved_by_name"], item["paid_by"], item["paid_by_name"]) == \
        ("paid", "甲主管", admin, "乙管理员")
