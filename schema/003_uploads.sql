-- 003: uploaded photos. One row per upload; the bytes live in the media store
-- under their sha256 (the metadata-stripped image and its JPEG thumbnail), so
-- two rows may share a file. A row with ticket_id NULL is an orphan until the
-- repairs code attaches it; the orphan sweeper removes old orphans.
CREATE TABLE uploads (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id BIGINT UNSIGNED NOT NULL,
  sha256 CHAR(64) NOT NULL,            -- content address of the stored (stripped) image
  thumb_sha256 CHAR(64) NOT NULL,
  content_type VARCHAR(32) NOT NULL,   -- image/jpeg | image/png (| image/webp ...)
  bytes INT UNSIGNED NOT NULL, width INT UNSIGNED NOT NULL, height INT UNSIGNED NOT NULL,
  ticket_id BIGINT UNSIGNED NULL,      -- set by the repairs code when attached (in its transaction)
  check_status ENUM('unchecked','pending','pass','review','risky') NOT NULL DEFAULT 'unchecked',
  check_trace_id VARCHAR(128) NULL,
  hidden TINYINT(1) NOT NULL DEFAULT 0, -- a photo reported risky is hidden
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  check_label VARCHAR(16) NULL COMMENT 'label of the content-check result (e.g. 100, 20002)',
  check_attempts INT NOT NULL DEFAULT 0 COMMENT 'content-check submissions tried',
  check_next_at DATETIME(3) NULL COMMENT 'when an unchecked upload is next submitted',
  checked_at DATETIME(3) NULL COMMENT 'when the content-check result arrived',
  KEY ix_uploads_user (user_id), KEY ix_uploads_ticket (ticket_id), KEY ix_uploads_orphans (ticket_id, created_at), KEY ix_uploads_trace (check_trace_id),
  KEY ix_uploads_sha (sha256), KEY ix_uploads_thumb_sha (thumb_sha256),
  KEY ix_uploads_check_due (check_status, check_next_at),
  CONSTRAINT fk_uploads_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- One row per stored file (content address). Uploads reference files by
-- sha256; this row is the lock that serialises "store a file" against
-- "delete the last reference and the file" (the gateway runs READ COMMITTED,
-- where a missing row cannot be locked).
CREATE TABLE media_objects (
  sha256 CHAR(64) NOT NULL PRIMARY KEY,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=ascii;

-- Content-check results as pushed by WeChat (wxa_media_check), one row per
-- trace_id: retried pushes are recognised, and a result that arrives before
-- the submission recorded its trace_id is applied when it is recorded.
CREATE TABLE media_check_results (
  trace_id VARCHAR(128) NOT NULL PRIMARY KEY,
  suggest VARCHAR(16) NOT NULL COMMENT 'pass | review | risky | error (not downloadable)',
  label VARCHAR(16) NULL,
  received_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
