-- 017: the staff console's login by a mini-program code, and its cookie
-- sessions. Two new tables only: a gateway from before this migration keeps
-- working beside it.

-- The staff console's login without passwords, and its cookie sessions.
--
-- console_tickets: one row per login code shown in a browser. The ticket id
-- is the mini-program code's scene (16 base64url characters); the secret
-- nonce of the browser that asked for it is kept only as its SHA-256 (hex),
-- so a poll must present the nonce cookie to learn anything or redeem.
-- state: waiting -> scanned -> confirmed -> redeemed, or rejected; a ticket
-- past expires_at is expired whatever its state (except redeemed).
CREATE TABLE console_tickets (
  id            CHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
  nonce_hash    CHAR(64) CHARACTER SET ascii NOT NULL,
  state         ENUM('waiting','scanned','confirmed','rejected','redeemed') NOT NULL DEFAULT 'waiting',
  client_ip     VARCHAR(64) NOT NULL,
  user_agent    VARCHAR(255) NOT NULL DEFAULT '',
  scanned_by    BIGINT UNSIGNED NULL,
  decided_by    BIGINT UNSIGNED NULL,
  created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  expires_at    DATETIME(3) NOT NULL,
  scanned_at    DATETIME(3) NULL,
  decided_at    DATETIME(3) NULL,
  redeemed_at   DATETIME(3) NULL,
  KEY ix_console_tickets_expires (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- console_sessions: a browser's session after a redeemed ticket. The cookie
-- holds a random secret; only its SHA-256 (hex) is stored. session_id is the
-- session's public name (logs, audit, revoked_sessions); csrf_token is sent
-- back by the console in X-CSRF-Token on every write. A session ends at
-- expires_at (absolute), after console_session_idle_s without a request
-- (last_seen_at), at logout, or when its user is disabled or holds no staff
-- role any more (ended_at, end_reason).
CREATE TABLE console_sessions (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  token_hash    CHAR(64) CHARACTER SET ascii NOT NULL,
  session_id    CHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  csrf_token    CHAR(43) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  user_id       BIGINT UNSIGNED NOT NULL,
  ticket_id     CHAR(16) CHARACTER SET ascii COLLATE ascii_bin NULL,
  client_ip     VARCHAR(64) NOT NULL,
  user_agent    VARCHAR(255) NOT NULL DEFAULT '',
  created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  last_seen_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  expires_at    DATETIME(3) NOT NULL,
  ended_at      DATETIME(3) NULL,
  end_reason    ENUM('logout','idle','expired','disabled','role_revoked') NULL,
  UNIQUE KEY uq_console_sessions_token (token_hash),
  UNIQUE KEY uq_console_sessions_sid (session_id),
  KEY ix_console_sessions_user (user_id),
  CONSTRAINT fk_console_sessions_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
