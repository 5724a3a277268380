-- 004: repair tickets (报事报修): category clocks and warranty periods,
-- dispatch rules, tickets with their timeline, escalations, follow-ups, and
-- the idempotency store used by POST /repairs (and any other create).

-- Per category: the statutory warranty period (NULL = no warranty applies)
-- and the three clocks, in seconds from filing (or from a reopen):
-- accept (响应), arrive on site (到场), resolve (完成).
ALTER TABLE repair_categories
  ADD COLUMN warranty_months  INT NULL COMMENT 'warranty from the unit''s handover date; NULL = none',
  ADD COLUMN accept_within_s  INT NOT NULL DEFAULT 7200 COMMENT 'clock 1: accepted within (响应)',
  ADD COLUMN arrive_within_s  INT NOT NULL DEFAULT 86400 COMMENT 'clock 2: work started on site within (到场)',
  ADD COLUMN resolve_within_s INT NOT NULL DEFAULT 259200 COMMENT 'clock 3: resolved within (完成)';

-- The starting categories. Warranty minimums: waterproofing 5 years;
-- plumbing/electric and decoration (doors, windows, walls) 2 years.
INSERT IGNORE INTO repair_categories (code, name, sort_order) VALUES
  ('plumbing_electric', '水电', 1), ('doors_windows', '门窗', 2), ('walls', '墙面', 3),
  ('waterproofing', '防水渗漏', 4), ('public_area', '公共区域', 5), ('other', '其他', 6);
UPDATE repair_categories SET warranty_months = 60 WHERE code = 'waterproofing';
UPDATE repair_categories SET warranty_months = 24 WHERE code IN ('plumbing_electric', 'doors_windows', 'walls');

-- A project manager is a supervisor of the project listed here; the last
-- step of the escalation ladder goes to them.
CREATE TABLE project_managers (
  project_id BIGINT UNSIGNED NOT NULL,
  user_id    BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (project_id, user_id),
  CONSTRAINT fk_pm_project FOREIGN KEY (project_id) REFERENCES projects (id),
  CONSTRAINT fk_pm_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Dispatch: a rule maps (project, building or 0 = any, category or 0 = any)
-- to a group of engineers; the most specific matching rule wins.
CREATE TABLE repair_engineer_groups (
  id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  project_id BIGINT UNSIGNED NOT NULL,
  name       VARCHAR(64) NOT NULL,
  UNIQUE KEY uq_repair_groups (project_id, name),
  CONSTRAINT fk_repair_groups_project FOREIGN KEY (project_id) REFERENCES projects (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE repair_engineer_group_members (
  group_id BIGINT UNSIGNED NOT NULL,
  user_id  BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (group_id, user_id),
  KEY ix_repair_group_members_user (user_id),
  CONSTRAINT fk_repair_gm_group FOREIGN KEY (group_id) REFERENCES repair_engineer_groups (id),
  CONSTRAINT fk_repair_gm_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE repair_dispatch_rules (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  project_id  BIGINT UNSIGNED NOT NULL,
  building_id BIGINT UNSIGNED NOT NULL DEFAULT 0 COMMENT '0 = any building',
  category_id BIGINT UNSIGNED NOT NULL DEFAULT 0 COMMENT '0 = any category',
  group_id    BIGINT UNSIGNED NOT NULL,
  UNIQUE KEY uq_repair_rules (project_id, building_id, category_id),
  CONSTRAINT fk_repair_rules_project FOREIGN KEY (project_id) REFERENCES projects (id),
  CONSTRAINT fk_repair_rules_group FOREIGN KEY (group_id) REFERENCES repair_engineer_groups (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE repair_tickets (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  ticket_no         VARCHAR(24) NULL COMMENT 'human number BX<yyyymmdd><id>, set in the creating transaction',
  user_id           BIGINT UNSIGNED NOT NULL COMMENT 'the owner who filed it',
  unit_id           BIGINT UNSIGNED NOT NULL,
  building_id       BIGINT UNSIGNED NOT NULL,
  project_id        BIGINT UNSIGNED NOT NULL,
  category_id       BIGINT UNSIGNED NOT NULL,
  description       VARCHAR(500) NOT NULL,
  contact_phone     VARCHAR(32) NULL,
  preferred_time    VARCHAR(64) NULL,
  state             ENUM('submitted','dispatched','accepted','in_progress','resolved','closed','cancelled') NOT NULL,
  engineer_id       BIGINT UNSIGNED NULL,
  rework_count      INT NOT NULL DEFAULT 0,
  within_warranty   TINYINT(1) NULL COMMENT 'NULL when the handover date or the period is unknown',
  warranty_until    DATE NULL COMMENT 'last day covered',
  content_check     ENUM('pass','review','risky','unchecked') NOT NULL
                    COMMENT 'WeChat text check of the description; review/risky = flagged for staff, unchecked = to re-check',
  content_trace_id  VARCHAR(128) NULL,
  content_check_attempts INT NOT NULL DEFAULT 0,
  clock_started_at  DATETIME(3) NOT NULL COMMENT 'filing, or the last reopen',
  accept_due_at     DATETIME(3) NOT NULL,
  arrive_due_at     DATETIME(3) NOT NULL,
  resolve_due_at    DATETIME(3) NOT NULL,
  breached          TINYINT(1) NOT NULL DEFAULT 0 COMMENT 'some clock ran past its due time',
  accepted_at       DATETIME(3) NULL,
  first_accepted_at DATETIME(3) NULL,
  started_at        DATETIME(3) NULL,
  resolved_at       DATETIME(3) NULL,
  closed_at         DATETIME(3) NULL,
  cancelled_at      DATETIME(3) NULL,
  rating_score      TINYINT NULL,
  rating_comment    VARCHAR(500) NULL,
  rated_at          DATETIME(3) NULL,
  rated_engineer_id BIGINT UNSIGNED NULL COMMENT 'the engineer the rating is about',
  created_at        DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at        DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_repair_ticket_no (ticket_no),
  KEY ix_repair_user (user_id, id),
  KEY ix_repair_engineer (engineer_id, state),
  KEY ix_repair_project (project_id, state, id),
  KEY ix_repair_state (state, id),
  KEY ix_repair_created (created_at),
  CONSTRAINT fk_repair_user FOREIGN KEY (user_id) REFERENCES users (id),
  CONSTRAINT fk_repair_unit FOREIGN KEY (unit_id) REFERENCES units (id),
  CONSTRAINT fk_repair_project FOREIGN KEY (project_id) REFERENCES projects (id),
  CONSTRAINT fk_repair_category FOREIGN KEY (category_id) REFERENCES repair_categories (id),
  CONSTRAINT fk_repair_engineer FOREIGN KEY (engineer_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per transition, written in the transaction that makes it.
CREATE TABLE repair_timeline (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  ticket_id     BIGINT UNSIGNED NOT NULL,
  action        VARCHAR(16) NOT NULL COMMENT 'submit, dispatch, assign, accept, decline, start, resolve, reopen, cancel, rate',
  from_state    VARCHAR(16) NULL,
  to_state      VARCHAR(16) NOT NULL,
  actor_user_id BIGINT UNSIGNED NULL COMMENT 'NULL = the system (dispatch)',
  actor_role    VARCHAR(16) NOT NULL COMMENT 'owner, engineer, supervisor, admin, system',
  note          VARCHAR(500) NULL,
  created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY ix_repair_timeline_ticket (ticket_id, id),
  CONSTRAINT fk_repair_timeline_ticket FOREIGN KEY (ticket_id) REFERENCES repair_tickets (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Photos of a timeline row (the report, a resolution, a reopen). The
-- upload's own ticket_id is set in the same transaction.
CREATE TABLE repair_timeline_photos (
  upload_id   BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  timeline_id BIGINT UNSIGNED NOT NULL,
  position    TINYINT NOT NULL,
  KEY ix_repair_tl_photos (timeline_id, position),
  CONSTRAINT fk_repair_tl_photos_timeline FOREIGN KEY (timeline_id) REFERENCES repair_timeline (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Engineers who declined a ticket: dispatch never picks them again for it.
CREATE TABLE repair_declines (
  ticket_id   BIGINT UNSIGNED NOT NULL,
  engineer_id BIGINT UNSIGNED NOT NULL,
  reason      VARCHAR(200) NOT NULL,
  created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (ticket_id, engineer_id),
  CONSTRAINT fk_repair_declines_ticket FOREIGN KEY (ticket_id) REFERENCES repair_tickets (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Reminders and escalation steps. The unique key makes each step of each
-- clock happen once per round (rework_count), whatever number of gateway
-- processes sweep the database.
CREATE TABLE repair_escalations (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  ticket_id   BIGINT UNSIGNED NOT NULL,
  clock       ENUM('accept','arrive','resolve') NOT NULL,
  round       INT NOT NULL COMMENT 'the ticket''s rework_count when it happened',
  kind        ENUM('reminder','escalation') NOT NULL,
  step        TINYINT NOT NULL COMMENT 'escalation: 1 engineer, 2 supervisor, 3 manager; reminder: 0',
  level       ENUM('engineer','supervisor','manager') NOT NULL,
  due_at      DATETIME(3) NOT NULL COMMENT 'the clock''s due time',
  notified    INT NOT NULL DEFAULT 0 COMMENT 'events written for people',
  created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_repair_escalation (ticket_id, clock, round, kind, step),
  CONSTRAINT fk_repair_esc_ticket FOREIGN KEY (ticket_id) REFERENCES repair_tickets (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- A poor rating (score <= 2) opens a follow-up visit (回访) for the supervisors.
CREATE TABLE repair_followups (
  id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  ticket_id  BIGINT UNSIGNED NOT NULL,
  project_id BIGINT UNSIGNED NOT NULL,
  score      TINYINT NOT NULL,
  status     ENUM('open','done') NOT NULL DEFAULT 'open',
  note       VARCHAR(500) NULL,
  done_by    BIGINT UNSIGNED NULL,
  done_at    DATETIME(3) NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_repair_followups_ticket (ticket_id),
  KEY ix_repair_followups_project (project_id, status, id),
  CONSTRAINT fk_repair_followups_ticket FOREIGN KEY (ticket_id) REFERENCES repair_tickets (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Idempotency keys (gateway/idempotency.h): a retried create returns the
-- stored response; the same key with another body is refused.
CREATE TABLE idempotency_keys (
  id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id    BIGINT UNSIGNED NOT NULL,
  scope      VARCHAR(32) NOT NULL COMMENT 'which create, e.g. repairs.create',
  idem_key   VARCHAR(128) NOT NULL,
  body_hash  CHAR(64) NOT NULL COMMENT 'hex SHA-256 of the request body as parsed',
  status     INT NULL COMMENT 'HTTP status of the stored response',
  response   MEDIUMTEXT NULL COMMENT 'the data of the stored response (JSON)',
  ref_id     BIGINT UNSIGNED NULL COMMENT 'what was created',
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_idempotency (user_id, scope, idem_key),
  KEY ix_idempotency_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
