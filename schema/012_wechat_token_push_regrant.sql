-- 012: one WeChat access token for every gateway process, replay protection
-- of the message push, and re-delivery of no_quota notifications after a new
-- subscription grant. Only new tables and a new nullable column: a gateway
-- from before this migration keeps working beside it.

-- One row. Every process fetches the same stable access token; when WeChat
-- rejects it (40001/42001), the process that wants to force a refresh locks
-- this row first. It forces only if the token it saw rejected is not the one
-- the last forced refresh already retired and the last forced refresh is
-- older than wechat_token_force_interval_s; it keeps the lock until the new
-- token is fetched, so a process waiting on it then simply fetches the new
-- token. retired_fp is sha256 (hex) of the retired token, never the token.
CREATE TABLE wechat_token_refresh (
  id          TINYINT UNSIGNED NOT NULL PRIMARY KEY,
  forced_at   DATETIME(6) NULL,
  retired_fp  CHAR(64) NULL,
  forced_by   VARCHAR(64) NULL COMMENT 'host:pid of the process that forced'
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
INSERT INTO wechat_token_refresh (id) VALUES (1);

-- Nonces of accepted message pushes, so a captured push cannot be replayed
-- while its timestamp is still fresh (5 minutes). Rows whose push timestamp
-- is past that window are purged as new pushes arrive.
CREATE TABLE wechat_push_nonces (
  nonce       VARCHAR(64) NOT NULL PRIMARY KEY,
  push_ts     BIGINT NOT NULL COMMENT 'the push''s timestamp parameter (unix seconds)',
  created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY ix_push_nonces_ts (push_ts)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;

-- Set when a new grant put a no_quota event back to pending: each event gets
-- that second chance once.
ALTER TABLE notification_events
  ADD COLUMN requeued_at DATETIME(3) NULL AFTER sent_at;
