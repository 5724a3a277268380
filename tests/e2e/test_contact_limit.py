"""The owner contact limit shared by surveys and follow-up visits
(domain/service/contact_limit.h), run directly against the test database
(tests/db/contact_claim.c): one contact per owner within
owner_contact_min_days (30 by default), whatever asked; the same contact
recorded twice counts once; two claims at the same moment grant one."""
import os
import subprocess

from conftest import GATEWAY_BIN

BINARY = os.path.join(os.path.dirname(os.path.dirname(GATEWAY_BIN)), "tests", "db", "contact_claim")


def start(stack, user, project, kind, ref):
    return subprocess.Popen([BINARY, stack.config_path, str(user), str(project), kind, str(ref)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=stack.dir)


def finish(proc):
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, out + err
    return out.strip()


def claim(stack, user, project, kind, ref):
    return finish(start(stack, user, project, kind, ref))


def contacts(db, user):
    return db.query("SELECT kind, ref_id, project_id FROM owner_contacts WHERE user_id = %s ORDER BY id", (user,))


def test_one_contact_per_owner_within_the_limit(stack, db, factory):
    project = factory.project()
    user, _ = factory.user()
    assert claim(stack, user, project, "survey", 11) == "claimed 1"
    assert contacts(db, user) == [{"kind": "survey", "ref_id": 11, "project_id": project}]
    # The same survey again is not a second contact; nothing new is written.
    assert claim(stack, user, project, "survey", 11) == "claimed 0"
    # Anything else within 30 days is refused, whatever asks.
    assert claim(stack, user, project, "followup", 5) == "claimed 0"
    assert claim(stack, user, project, "survey", 12) == "claimed 0"
    assert contacts(db, user) == [{"kind": "survey", "ref_id": 11, "project_id": project}]
    # 29 days later still refused; 31 days later the owner may be asked again.
    db.exec("UPDATE owner_contacts SET contacted_at = NOW(3) - INTERVAL 29 DAY WHERE user_id = %s", (user,))
    assert claim(stack, user, project, "followup", 5) == "claimed 0"
    db.exec("UPDATE owner_contacts SET contacted_at = NOW(3) - INTERVAL 31 DAY WHERE user_id = %s", (user,))
    assert claim(stack, user, project, "followup", 5) == "claimed 1"
    assert [c["kind"] for c in contacts(db, user)] == ["survey", "followup"]
    # Another owner is not limited by the first one's contacts.
    other, _ = factory.user()
    assert claim(stack, other, project, "survey", 11) == "claimed 1"


def test_two_claims_at_once_grant_one(stack, db, factory):
    project = factory.project()
    for _ in range(5):
        user, _ = factory.user()
        procs = [start(stack, user, project, "survey", ref) for ref in (1, 2, 3)]
        results = sorted(finish(p) for p in procs)
        assert results == ["claimed 0", "claimed 0", "claimed 1"]
        assert db.scalar("SELECT COUNT(*) FROM owner_contacts WHERE user_id = %s", (user,)) == 1


def test_no_such_user_claims_nothing(stack, db, factory):
    project = factory.project()
    missing = db.scalar("SELECT COALESCE(MAX(id), 0) + 1000 FROM users")
    assert claim(stack, missing, project, "survey", 1) == "claimed 0"
    assert db.scalar("SELECT COUNT(*) FROM owner_contacts WHERE user_id = %s", (missing,)) == 0
