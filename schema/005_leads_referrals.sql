-- 005: leads (留资) and referral attribution (老带新): the lead's funnel,
-- assignment, follow-ups, referral codes, bindings, locked referrals and
-- rewards. Rules that must hold under concurrency are unique keys here.

-- A lead is "open" until it is lost or cancelled; one open lead per phone and
-- project (open_phone is NULL for closed leads, and NULLs never collide).
ALTER TABLE leads
  ADD COLUMN submitted_by_user_id BIGINT UNSIGNED NULL COMMENT 'the logged-in user who left the lead' AFTER user_id,
  ADD COLUMN channel VARCHAR(16) NOT NULL DEFAULT 'organic' COMMENT 'referral, poster, ad, walk_in, organic, other',
  ADD COLUMN interest_layout VARCHAR(32) NULL,
  ADD COLUMN interest_area VARCHAR(32) NULL,
  ADD COLUMN interest_budget VARCHAR(32) NULL,
  ADD COLUMN note VARCHAR(500) NULL,
  ADD COLUMN consent_at DATETIME(3) NULL COMMENT 'when the phone''s holder consented (PIPL)',
  ADD COLUMN privacy_notice_version VARCHAR(32) NULL COMMENT 'the notice version consented to',
  ADD COLUMN submissions INT NOT NULL DEFAULT 1 COMMENT 'submissions merged into this lead',
  ADD COLUMN stage ENUM('new','contacted','visited','subscribed','signed','lost','cancelled') NOT NULL DEFAULT 'new',
  ADD COLUMN furthest_stage TINYINT NOT NULL DEFAULT 0 COMMENT 'furthest funnel stage reached: 0 new .. 4 signed',
  ADD COLUMN stage_reason VARCHAR(255) NULL COMMENT 'why lost or cancelled',
  ADD COLUMN stage_changed_at DATETIME(3) NULL,
  ADD COLUMN agent_user_id BIGINT UNSIGNED NULL,
  ADD COLUMN assigned_at DATETIME(3) NULL,
  ADD COLUMN first_contact_due_at DATETIME(3) NULL,
  ADD COLUMN first_contacted_at DATETIME(3) NULL,
  ADD COLUMN contact_overdue_at DATETIME(3) NULL COMMENT 'set once, when the breach was reported',
  ADD COLUMN signed_at DATETIME(3) NULL,
  ADD COLUMN updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  ADD COLUMN open_phone VARCHAR(32) AS (IF(stage IN ('lost', 'cancelled'), NULL, phone)) PERSISTENT,
  ADD UNIQUE KEY uq_leads_open_phone (project_id, open_phone),
  ADD KEY ix_leads_agent (agent_user_id, id),
  ADD KEY ix_leads_contact_due (stage, first_contacted_at, contact_overdue_at, first_contact_due_at),
  ADD KEY ix_leads_project_created (project_id, created_at),
  ADD CONSTRAINT fk_leads_agent FOREIGN KEY (agent_user_id) REFERENCES users (id),
  ADD CONSTRAINT fk_leads_submitter FOREIGN KEY (submitted_by_user_id) REFERENCES users (id);

-- Round robin: the last agent who got a lead of the project. Locked FOR
-- UPDATE while choosing the next one, so concurrent leads take turns.
CREATE TABLE lead_assignment_cursors (
  project_id         BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  last_agent_user_id BIGINT UNSIGNED NULL,
  updated_at         DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  CONSTRAINT fk_lead_cursor_project FOREIGN KEY (project_id) REFERENCES projects (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Optional: leads of a channel go to one agent (while that agent still holds
-- the agent role in the project); other channels use round robin.
CREATE TABLE lead_channel_rules (
  project_id    BIGINT UNSIGNED NOT NULL,
  channel       VARCHAR(16) NOT NULL,
  agent_user_id BIGINT UNSIGNED NOT NULL,
  created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (project_id, channel),
  CONSTRAINT fk_lead_rule_project FOREIGN KEY (project_id) REFERENCES projects (id),
  CONSTRAINT fk_lead_rule_agent FOREIGN KEY (agent_user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE lead_assignments (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  lead_id       BIGINT UNSIGNED NOT NULL,
  agent_user_id BIGINT UNSIGNED NOT NULL,
  method        ENUM('round_robin','channel_rule') NOT NULL,
  created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY ix_lead_assignments_lead (lead_id, id),
  KEY ix_lead_assignments_agent (agent_user_id),
  CONSTRAINT fk_lead_assign_lead FOREIGN KEY (lead_id) REFERENCES leads (id),
  CONSTRAINT fk_lead_assign_agent FOREIGN KEY (agent_user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE lead_followups (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  lead_id       BIGINT UNSIGNED NOT NULL,
  agent_user_id BIGINT UNSIGNED NOT NULL,
  kind          ENUM('call','visit','wechat') NOT NULL,
  note          VARCHAR(500) NOT NULL DEFAULT '',
  next_at       DATETIME(3) NULL COMMENT 'the next planned contact',
  created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY ix_lead_followups_lead (lead_id, id),
  CONSTRAINT fk_lead_followup_lead FOREIGN KEY (lead_id) REFERENCES leads (id),
  CONSTRAINT fk_lead_followup_agent FOREIGN KEY (agent_user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE lead_stage_history (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  lead_id       BIGINT UNSIGNED NOT NULL,
  from_stage    VARCHAR(16) NULL COMMENT 'NULL for the lead''s creation',
  to_stage      VARCHAR(16) NOT NULL,
  reason        VARCHAR(255) NULL,
  actor_user_id BIGINT UNSIGNED NULL,
  created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY ix_lead_stage_history_lead (lead_id, id),
  CONSTRAINT fk_lead_stage_lead FOREIGN KEY (lead_id) REFERENCES leads (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One stable code per owner. The mini-program code image is fetched from
-- WeChat once and then served from here.
CREATE TABLE referral_codes (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  owner_user_id   BIGINT UNSIGNED NOT NULL,
  code            VARCHAR(16) NOT NULL COMMENT 'also the QR scene: [A-Z2-9] only',
  status          ENUM('active','disabled') NOT NULL DEFAULT 'active',
  qr_image        MEDIUMBLOB NULL,
  qr_content_type VARCHAR(64) NULL,
  qr_created_at   DATETIME(3) NULL,
  created_at      DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_referral_codes_owner (owner_user_id),
  UNIQUE KEY uq_referral_codes_code (code),
  CONSTRAINT fk_referral_code_owner FOREIGN KEY (owner_user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- The first valid touch binds a referee to a referrer until expires_at. At
-- most one active binding per referee (active_referee is NULL otherwise).
CREATE TABLE referral_bindings (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  referee_user_id  BIGINT UNSIGNED NOT NULL,
  referrer_user_id BIGINT UNSIGNED NOT NULL,
  code_id          BIGINT UNSIGNED NOT NULL,
  status           ENUM('active','expired') NOT NULL DEFAULT 'active',
  bound_at         DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  expires_at       DATETIME(3) NOT NULL,
  active_referee   BIGINT UNSIGNED AS (IF(status = 'active', referee_user_id, NULL)) PERSISTENT,
  UNIQUE KEY uq_referral_bindings_active (active_referee),
  KEY ix_referral_bindings_referee (referee_user_id),
  KEY ix_referral_bindings_referrer (referrer_user_id),
  CONSTRAINT fk_binding_referee FOREIGN KEY (referee_user_id) REFERENCES users (id),
  CONSTRAINT fk_binding_referrer FOREIGN KEY (referrer_user_id) REFERENCES users (id),
  CONSTRAINT fk_binding_code FOREIGN KEY (code_id) REFERENCES referral_codes (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Every valid touch, so an attribution can be explained: bound (it made the
-- binding), same_referrer (already bound to this referrer), recorded (another
-- referrer's binding held).
CREATE TABLE referral_touches (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  code_id          BIGINT UNSIGNED NOT NULL,
  referrer_user_id BIGINT UNSIGNED NOT NULL,
  referee_user_id  BIGINT UNSIGNED NOT NULL,
  project_id       BIGINT UNSIGNED NULL,
  outcome          ENUM('bound','same_referrer','recorded') NOT NULL,
  binding_id       BIGINT UNSIGNED NULL COMMENT 'the binding in force after the touch',
  created_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY ix_referral_touches_referee (referee_user_id, id),
  KEY ix_referral_touches_referrer (referrer_user_id, id),
  CONSTRAINT fk_touch_code FOREIGN KEY (code_id) REFERENCES referral_codes (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- A referral is locked when the bound referee leaves a lead: one per lead.
-- stage mirrors the lead's stage.
CREATE TABLE referrals (
  id                    BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  referrer_user_id      BIGINT UNSIGNED NOT NULL,
  referee_user_id       BIGINT UNSIGNED NOT NULL,
  project_id            BIGINT UNSIGNED NOT NULL,
  lead_id               BIGINT UNSIGNED NOT NULL,
  binding_id            BIGINT UNSIGNED NULL,
  stage                 ENUM('new','contacted','visited','subscribed','signed','lost','cancelled') NOT NULL DEFAULT 'new',
  protection_expires_at DATETIME(3) NOT NULL,
  locked_at             DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  reassigned_at         DATETIME(3) NULL,
  updated_at            DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_referrals_lead (lead_id),
  KEY ix_referrals_referrer (referrer_user_id, id),
  KEY ix_referrals_project (project_id, id),
  CONSTRAINT fk_referral_referrer FOREIGN KEY (referrer_user_id) REFERENCES users (id),
  CONSTRAINT fk_referral_referee FOREIGN KEY (referee_user_id) REFERENCES users (id),
  CONSTRAINT fk_referral_project FOREIGN KEY (project_id) REFERENCES projects (id),
  CONSTRAINT fk_referral_lead FOREIGN KEY (lead_id) REFERENCES leads (id),
  CONSTRAINT fk_referral_binding FOREIGN KEY (binding_id) REFERENCES referral_bindings (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- What a referrer earns when a referred lead signs, per project.
-- amount: fen (1/100 yuan) for cash, points for points.
CREATE TABLE reward_rules (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  project_id  BIGINT UNSIGNED NOT NULL,
  kind        ENUM('cash','points') NOT NULL,
  amount      BIGINT UNSIGNED NOT NULL,
  active      TINYINT(1) NOT NULL DEFAULT 1,
  description VARCHAR(100) NOT NULL DEFAULT '',
  updated_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_reward_rules_project (project_id),
  CONSTRAINT fk_reward_rule_project FOREIGN KEY (project_id) REFERENCES projects (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One reward per referral, whatever happens to `signed` (unique referral_id).
-- pending -> approved -> paid; a deal cancelled after signing (退房) makes an
-- unpaid reward cancelled and a paid one clawback, with the reason.
CREATE TABLE referral_rewards (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  referral_id      BIGINT UNSIGNED NOT NULL,
  rule_id          BIGINT UNSIGNED NOT NULL,
  project_id       BIGINT UNSIGNED NOT NULL,
  referrer_user_id BIGINT UNSIGNED NOT NULL,
  kind             ENUM('cash','points') NOT NULL,
  amount           BIGINT UNSIGNED NOT NULL,
  status           ENUM('pending','approved','paid','cancelled','clawback') NOT NULL DEFAULT 'pending',
  approved_by      BIGINT UNSIGNED NULL,
  approved_at      DATETIME(3) NULL,
  paid_by          BIGINT UNSIGNED NULL,
  paid_at          DATETIME(3) NULL,
  cancelled_at     DATETIME(3) NULL,
  cancel_reason    VARCHAR(255) NULL,
  created_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_referral_rewards_referral (referral_id),
  KEY ix_referral_rewards_status (status, id),
  KEY ix_referral_rewards_referrer (referrer_user_id),
  CONSTRAINT fk_reward_referral FOREIGN KEY (referral_id) REFERENCES referrals (id),
  CONSTRAINT fk_reward_rule FOREIGN KEY (rule_id) REFERENCES reward_rules (id),
  CONSTRAINT fk_reward_referrer FOREIGN KEY (referrer_user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
