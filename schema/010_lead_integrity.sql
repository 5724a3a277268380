-- 010: referral integrity and lead privacy (PIPL).
--
-- A lead's phone is verified when its holder proved it: WeChat's phone code
-- (getPhoneNumber), or the submitter's bound phone. Only a verified lead
-- locks a referral; an unverified one is kept and blocks nobody.
--
-- Every submission is recorded in lead_submissions without personal fields
-- (who, when, verified or not, and what it did to the lead); the daily cap
-- per submitter counts these rows.
--
-- A lead whose data subject withdrew consent keeps its row for the numbers
-- (project, channel, dates, stage) with its personal fields erased
-- (erased_at); its phone becomes NULL, so it no longer holds the phone's
-- open-lead key (project_id, open_phone).
--
-- lead_assignments becomes the lead's assignment timeline: besides the
-- intake's choice, a supervisor's reassignment ('manual') and a lead returned
-- to assignment when its agent lost the role (the next agent's method, or
-- 'unassigned' when no agent is left), with who did it, from whom and why.
--
-- Safe while an older gateway runs: columns are added with defaults, the
-- changed columns only become NULL-able and the ENUM only gains values.

ALTER TABLE leads
  MODIFY COLUMN phone VARCHAR(32) NULL COMMENT 'mainland mobile; NULL once erased',
  ADD COLUMN phone_verified TINYINT(1) NOT NULL DEFAULT 0
    COMMENT '1: the phone''s holder proved it (WeChat phone code, or the submitter''s bound phone)' AFTER phone,
  ADD COLUMN erased_at DATETIME(3) NULL COMMENT 'personal fields erased: the data subject withdrew consent';

-- Leads whose submitter has bound the same phone were left by its holder.
UPDATE leads l JOIN users u ON u.id = l.submitted_by_user_id
   SET l.phone_verified = 1
 WHERE u.phone = l.phone;

CREATE TABLE lead_submissions (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  lead_id        BIGINT UNSIGNED NOT NULL,
  user_id        BIGINT UNSIGNED NOT NULL COMMENT 'the submitter',
  phone_verified TINYINT(1) NOT NULL,
  outcome        ENUM('created','updated','recorded') NOT NULL
    COMMENT 'created the lead; updated it (its submitter or the phone''s verified holder); recorded only (the lead did not change)',
  created_at     DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY ix_lead_submissions_user (user_id, created_at),
  KEY ix_lead_submissions_lead (lead_id, id),
  CONSTRAINT fk_lead_submission_lead FOREIGN KEY (lead_id) REFERENCES leads (id),
  CONSTRAINT fk_lead_submission_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

ALTER TABLE lead_assignments
  MODIFY COLUMN agent_user_id BIGINT UNSIGNED NULL COMMENT 'NULL: returned to assignment and no agent was left',
  MODIFY COLUMN method ENUM('round_robin','channel_rule','manual','unassigned') NOT NULL,
  ADD COLUMN from_agent_user_id BIGINT UNSIGNED NULL COMMENT 'the agent the lead was taken from',
  ADD COLUMN actor_user_id BIGINT UNSIGNED NULL COMMENT 'who moved it; NULL for the intake''s choice',
  ADD COLUMN reason VARCHAR(255) NULL;
