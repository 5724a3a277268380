-- 011: a per-user daily upload quota, and stored files whose last reference
-- is gone are deleted after that deletion commits.
--
-- upload_quota_days: one row per user and day, counting the uploads made
-- (not the photos kept: a deleted photo does not give its place back). The
-- day is the calendar day in Asia/Shanghai (UTC+8, no daylight saving),
-- computed by the gateway from Unix time, whatever the server's or the
-- database's time zone. The row is updated in the transaction that inserts
-- the upload, so two uploads at the quota's edge cannot both pass.
CREATE TABLE upload_quota_days (
  user_id BIGINT UNSIGNED NOT NULL,
  day DATE NOT NULL COMMENT 'calendar day in Asia/Shanghai (UTC+8)',
  uploads INT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'uploads stored that day',
  bytes BIGINT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'sum of their stored bytes (the image, not the thumbnail)',
  PRIMARY KEY (user_id, day),
  KEY ix_upload_quota_days_day (day)
) ENGINE=InnoDB DEFAULT CHARSET=ascii;

-- media_objects.orphaned_at: set, in the transaction that deletes an upload,
-- on the rows of its files; once that commits, the file is deleted (with its
-- row locked, and only if no upload references it again by then). A row
-- left with it set (a crash, a failed unlink) is finished by a later sweep.
-- NULL for every existing row: an older gateway keeps working (it deletes
-- files inside its own transaction and never reads this column).
ALTER TABLE media_objects
  ADD COLUMN orphaned_at DATETIME(3) NULL DEFAULT NULL COMMENT 'when its last upload row was deleted; the file is deleted next',
  ADD KEY ix_media_objects_orphaned (orphaned_at);
