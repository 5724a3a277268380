-- 030: ratings on three dimensions, tickets closed without a rating, the
-- owner's reminders to rate, and follow-up visits (回访) of any subject.
--
--   repair_ratings  one rating per ticket and round (rework_count): 响应速度
--       (speed), 服务态度 (attitude), 维修质量 (quality), 1-5 each, and the
--       comment. repair_tickets.rating_score keeps the overall figure (the
--       rounded mean of the three) that the existing statistics read, so an
--       older gateway and the new one agree on it.
--   repair_unrated_closes  the rounds closed by the satisfaction sweeper
--       because the owner did not rate within repair_rating_days ("closed
--       without rating"); statistics count them apart, never as a rating.
--   repair_rating_reminders  the reminders to rate sent per round (step 1
--       at the resolve, step 2 before the auto-close): the primary key
--       makes each one happen once, whatever number of gateway processes
--       sweep.
--   followups  follow-up visits of a subject (kind 'repair' or 'complaint',
--       subject_id, the subject's round): the reason (a poor rating or the
--       sample), the service-desk member it is assigned to (NULL = the
--       project's pool), the deadline, the last recorded result and the
--       number of attempts. One per subject and round.
--   followup_attempts  each call recorded against a follow-up.
--
-- repair_followups (004) stays: an older gateway still writes its poor
-- ratings there while it runs. Its rows are copied into followups here and,
-- for rows an older gateway writes after this migration, by the
-- satisfaction sweeper (legacy_id names the copied row; unique, so a row is
-- copied once). Repair tickets gain no column: the table has an indexed
-- virtual column (022), with which InnoDB would rebuild it with writes
-- locked out.
CREATE TABLE repair_ratings (
  ticket_id   BIGINT UNSIGNED NOT NULL,
  round       INT NOT NULL COMMENT 'the ticket''s rework_count when rated',
  project_id  BIGINT UNSIGNED NOT NULL,
  engineer_id BIGINT UNSIGNED NULL COMMENT 'the engineer the rating is about',
  speed       TINYINT NOT NULL COMMENT '响应速度 1-5',
  attitude    TINYINT NOT NULL COMMENT '服务态度 1-5',
  quality     TINYINT NOT NULL COMMENT '维修质量 1-5',
  comment     VARCHAR(500) NULL,
  rated_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (ticket_id, round),
  KEY ix_repair_ratings_rated (rated_at),
  CONSTRAINT fk_repair_ratings_ticket FOREIGN KEY (ticket_id) REFERENCES repair_tickets (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE repair_unrated_closes (
  ticket_id   BIGINT UNSIGNED NOT NULL,
  round       INT NOT NULL,
  project_id  BIGINT UNSIGNED NOT NULL,
  engineer_id BIGINT UNSIGNED NULL COMMENT 'the engineer who resolved it',
  resolved_at DATETIME(3) NOT NULL,
  closed_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (ticket_id, round),
  KEY ix_repair_unrated_closed (closed_at),
  CONSTRAINT fk_repair_unrated_ticket FOREIGN KEY (ticket_id) REFERENCES repair_tickets (id)
) ENGINE=InnoDB;

CREATE TABLE repair_rating_reminders (
  ticket_id BIGINT UNSIGNED NOT NULL,
  round     INT NOT NULL,
  step      TINYINT NOT NULL COMMENT '1 at the resolve, 2 before the auto-close',
  sent_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (ticket_id, round, step),
  CONSTRAINT fk_repair_rating_rem_ticket FOREIGN KEY (ticket_id) REFERENCES repair_tickets (id)
) ENGINE=InnoDB;

CREATE TABLE followups (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  kind             ENUM('repair','complaint') NOT NULL,
  subject_id       BIGINT UNSIGNED NOT NULL COMMENT 'the repair ticket or complaint',
  round            INT NOT NULL DEFAULT 0 COMMENT 'the subject''s round (a repair''s rework_count)',
  project_id       BIGINT UNSIGNED NOT NULL,
  owner_user_id    BIGINT UNSIGNED NOT NULL COMMENT 'the owner to call',
  reason           ENUM('poor_rating','sample') NOT NULL,
  score            TINYINT NULL COMMENT 'a poor rating''s lowest dimension',
  assignee_user_id BIGINT UNSIGNED NULL COMMENT 'a service member of the project; NULL = the pool',
  status           ENUM('open','done') NOT NULL DEFAULT 'open',
  due_at           DATETIME(3) NOT NULL,
  overdue_notified_at DATETIME(3) NULL COMMENT 'the supervisors were told it is overdue',
  attempts         INT NOT NULL DEFAULT 0,
  contact          ENUM('reached','no_answer','refused','call_back') NULL COMMENT 'the last result',
  satisfied        TINYINT(1) NULL,
  note             VARCHAR(500) NULL,
  done_by          BIGINT UNSIGNED NULL,
  done_at          DATETIME(3) NULL,
  legacy_id        BIGINT UNSIGNED NULL COMMENT 'the repair_followups row it was copied from',
  created_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_followups_subject (kind, subject_id, round),
  UNIQUE KEY uq_followups_legacy (legacy_id),
  KEY ix_followups_project (project_id, status, id),
  KEY ix_followups_due (status, due_at),
  KEY ix_followups_assignee (assignee_user_id, status),
  KEY ix_followups_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE followup_attempts (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  followup_id BIGINT UNSIGNED NOT NULL,
  contact     ENUM('reached','no_answer','refused','call_back') NOT NULL,
  satisfied   TINYINT(1) NULL,
  note        VARCHAR(500) NULL,
  user_id     BIGINT UNSIGNED NOT NULL COMMENT 'who called',
  created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY ix_followup_attempts (followup_id, id),
  CONSTRAINT fk_followup_attempts FOREIGN KEY (followup_id) REFERENCES followups (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The follow-ups of the poor ratings so far (004: one per ticket).
INSERT INTO followups (kind, subject_id, round, project_id, owner_user_id, reason, score, status, due_at,
                       attempts, contact, note, done_by, done_at, legacy_id, created_at)
SELECT 'repair', f.ticket_id, t.rework_count, f.project_id, t.user_id, 'poor_rating', f.score, f.status,
       f.created_at + INTERVAL 2 DAY, IF(f.status = 'done', 1, 0), IF(f.status = 'done', 'reached', NULL),
       f.note, f.done_by, f.done_at, f.id, f.created_at
FROM repair_followups f JOIN repair_tickets t ON t.id = f.ticket_id;

-- The ratings so far have one score: it stands for every dimension.
INSERT INTO repair_ratings (ticket_id, round, project_id, engineer_id, speed, attitude, quality, comment, rated_at)
SELECT id, rework_count, project_id, rated_engineer_id, rating_score, rating_score, rating_score, rating_comment,
       rated_at
FROM repair_tickets WHERE rating_score IS NOT NULL AND rated_at IS NOT NULL;
