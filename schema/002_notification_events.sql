-- 002: the notification outbox. Business changes write an event row in the
-- same transaction; the dispatcher delivers it as a WeChat subscribe message
-- and records the outcome. Every row ends in sent, no_quota, failed or dead.
CREATE TABLE notification_events (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  kind            VARCHAR(48) NOT NULL COMMENT 'e.g. repair.dispatched; see gateway/events.h',
  user_id         BIGINT UNSIGNED NOT NULL COMMENT 'recipient',
  ref_type        VARCHAR(32) NOT NULL,
  ref_id          BIGINT UNSIGNED NOT NULL,
  payload         JSON NOT NULL COMMENT 'named values the template fields are built from',
  status          ENUM('pending','sending','retrying','sent','no_quota','failed','dead') NOT NULL DEFAULT 'pending',
  attempts        INT NOT NULL DEFAULT 0,
  next_attempt_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  lease_owner     VARCHAR(64) NULL,
  lease_until     DATETIME(3) NULL,
  template_id     VARCHAR(128) NULL,
  msgid           VARCHAR(32) NULL,
  last_errcode    INT NULL,
  last_error      VARCHAR(255) NULL,
  created_at      DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at      DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  sent_at         DATETIME(3) NULL,
  KEY ix_events_due (status, next_attempt_at),
  KEY ix_events_user (user_id, id),
  KEY ix_events_ref (ref_type, ref_id),
  CONSTRAINT fk_events_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
