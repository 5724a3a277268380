-- 025: CSV exports of the staff console's lists, run in the background
-- (jobs/export_runner.c). A new table only, so an older gateway keeps
-- running beside it.
--
-- state: queued -> running -> done -> expired, or failed. A running export
-- holds a lease (lease_until) that its process renews with every page; a
-- process that died leaves the lease to run out, and any process then runs
-- the export again from the start (attempt + 1), up to three attempts.
-- `attempt` also fences the writer: every update of a running export names
-- the attempt it belongs to, so a process that lost its lease changes
-- nothing.
CREATE TABLE exports (
  id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
  requester_user_id BIGINT UNSIGNED NOT NULL,
  kind VARCHAR(64) NOT NULL,
  params TEXT NOT NULL,                 -- the list's filters, a JSON object
  masked TINYINT(1) NOT NULL DEFAULT 1,
  state ENUM('queued', 'running', 'done', 'failed', 'expired') NOT NULL DEFAULT 'queued',
  rows_done INT UNSIGNED NOT NULL DEFAULT 0,
  rows_total INT UNSIGNED NULL,         -- known once the export has started
  file_name VARCHAR(64) NULL,           -- under export_dir, once done
  size_bytes BIGINT UNSIGNED NULL,
  error VARCHAR(255) NULL,
  attempt INT UNSIGNED NOT NULL DEFAULT 0,
  lease_until DATETIME(3) NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  started_at DATETIME(3) NULL,
  finished_at DATETIME(3) NULL,
  expires_at DATETIME(3) NULL,
  KEY ix_exports_requester (requester_user_id, id),
  KEY ix_exports_state (state, id),
  KEY ix_exports_expires (state, expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
