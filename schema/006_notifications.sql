-- 006: subscribe-message grants, and indexes for the notification views.
--
-- notification_grants: what each user allowed through wx.requestSubscribeMessage,
-- per template. A one-time acceptance allows exactly one message: the count
-- goes up per acceptance and down per message WeChat accepted (in the same
-- transaction that marks the event sent). long_term is set for templates the
-- configuration marks as long-term, while the user keeps accepting them.
CREATE TABLE notification_grants (
  user_id          BIGINT UNSIGNED NOT NULL,
  template_id      VARCHAR(128) NOT NULL,
  one_time_count   INT NOT NULL DEFAULT 0,
  long_term        TINYINT(1) NOT NULL DEFAULT 0,
  last_accepted_at DATETIME(3) NULL,
  last_rejected_at DATETIME(3) NULL,
  updated_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (user_id, template_id),
  CONSTRAINT fk_grants_user FOREIGN KEY (user_id) REFERENCES users (id),
  CONSTRAINT ck_grants_count CHECK (one_time_count >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Staff filter the outbox by status or kind, newest first.
ALTER TABLE notification_events
  ADD KEY ix_events_status_id (status, id),
  ADD KEY ix_events_kind_id (kind, id);
