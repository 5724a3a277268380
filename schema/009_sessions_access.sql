-- 009: sessions that can be ended, notification events scoped to a project,
-- and the WeChat session_key no longer kept.

-- A session token names its session (the id inside the signed token). A
-- logout writes the id here; the gateway refuses a token whose id is listed.
-- A row is only needed until the token would have expired anyway
-- (expires_at); later rows are ignored and purged by the next logouts.
CREATE TABLE revoked_sessions (
  session_id  VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
  user_id     BIGINT UNSIGNED NOT NULL,
  expires_at  DATETIME(3) NOT NULL COMMENT 'the token''s own expiry',
  revoked_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY ix_revoked_user (user_id, expires_at),
  KEY ix_revoked_expiry (expires_at)
) ENGINE=InnoDB;

-- Why and when an admin disabled a user (users.disabled already exists).
ALTER TABLE users
  ADD COLUMN disabled_at DATETIME(3) NULL,
  ADD COLUMN disabled_reason VARCHAR(255) NULL;

-- The project an event is about (repairs, leads, referrals, rewards), so a
-- supervisor sees and retries only their projects' notifications. NULL for
-- events about no project: admins only. Existing rows are filled from what
-- they refer to.
ALTER TABLE notification_events
  ADD COLUMN project_id BIGINT UNSIGNED NULL AFTER ref_id,
  ADD KEY ix_events_project_id (project_id, id);

UPDATE notification_events e JOIN repair_tickets t ON e.ref_type = 'repair' AND t.id = e.ref_id
  SET e.project_id = t.project_id WHERE e.project_id IS NULL;
UPDATE notification_events e JOIN leads l ON e.ref_type = 'lead' AND l.id = e.ref_id
  SET e.project_id = l.project_id WHERE e.project_id IS NULL;
UPDATE notification_events e JOIN referrals r ON e.ref_type = 'referral' AND r.id = e.ref_id
  SET e.project_id = r.project_id WHERE e.project_id IS NULL;
UPDATE notification_events e JOIN referral_rewards w ON e.ref_type = 'reward' AND w.id = e.ref_id
  SET e.project_id = w.project_id WHERE e.project_id IS NULL;

-- The WeChat session_key: no feature uses it, and a stored key lets whoever
-- reads the table decrypt the user's WeChat data. Expand/contract: this
-- version stops writing it and empties the table here; the table itself is
-- dropped by a later migration, once no running gateway of an older version
-- (which still writes it at every login) can be left. Dropping it now would
-- make every login of such an older process fail.
DELETE FROM wechat_sessions;
