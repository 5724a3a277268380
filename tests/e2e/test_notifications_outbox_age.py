"""The outbox's lateness in /metrics: the age of the oldest unfinished event
and the count, by status (jobs/outbox_age.c), which the runbook's alert
reads."""
import json

from conftest import gateway_metric, wait_for, wait_for_runs

AGE = "gateway_notification_outbox_oldest_seconds"
COUNT = "gateway_notification_outbox_events"


def test_an_event_waiting_for_hours_shows_in_the_gauges_until_it_is_final(stack, db, factory):
    gw = stack.gateway
    uid, _ = factory.user()
    # A retry due tomorrow, created two hours ago: the dispatcher leaves it.
    eid = db.exec(
        "INSERT INTO notification_events (kind, user_id, ref_type, ref_id, payload, status, next_attempt_at,"
        " created_at) VALUES ('repair.dispatched', %s, 'repair', 1, %s, 'retrying',"
        " NOW(3) + INTERVAL 1 DAY, NOW(3) - INTERVAL 2 HOUR)", (uid, json.dumps({})))
    try:
        wait_for(lambda: gateway_metric(gw, AGE, status="retrying") >= 7200, what="the retry's age in /metrics")
        assert gateway_metric(gw, COUNT, status="retrying") >= 1
        assert gateway_metric(gw, AGE, status="retrying") < 7200 + 600
    finally:
        db.exec("UPDATE notification_events SET status = 'dead' WHERE id = %s", (eid,))
    # Once final it no longer counts: a whole run after the change shows it.
    wait_for_runs([gw], "outbox-age")
    assert gateway_metric(gw, AGE, status="retrying") < 7200
    row = db.query("SELECT status FROM notification_events WHERE id = %s", (eid,))
    assert row[0]["status"] == "dead"
