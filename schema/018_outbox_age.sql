-- 018: the age of the unfinished outbox for /metrics (jobs/outbox_age.c):
-- the oldest event of a status is one index entry away. Adding an index is
-- safe while an older gateway runs.
ALTER TABLE notification_events
  ADD KEY ix_events_status_created (status, created_at);
