-- 029: complaints, suggestions, praise and enquiries (投诉/建议/表扬/咨询),
-- their categories per project, timeline and photos, and group complaints
-- (群诉 incidents). Only new tables and new nullable columns: a gateway from
-- before this migration never reads them.
--
-- Categories: project_id 0 holds the defaults. The first time a project's
-- categories are read or used, the defaults are copied into it (INSERT
-- IGNORE on (project_id, code), so two first uses copy once;
-- domain/complaints/complaint_catalog.h); every complaint names one of its
-- project's own categories. Each category has a first-response and a
-- resolution budget per level (seconds) and whether they count business
-- time (the service-level engine's calendar) or natural time.
CREATE TABLE complaint_categories (
  id                   BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  project_id           BIGINT UNSIGNED NOT NULL DEFAULT 0 COMMENT '0 = the defaults copied to each project',
  code                 VARCHAR(32) NOT NULL,
  name                 VARCHAR(32) NOT NULL,
  sort_order           INT NOT NULL DEFAULT 0,
  active               TINYINT(1) NOT NULL DEFAULT 1,
  business_hours       TINYINT(1) NOT NULL DEFAULT 0 COMMENT '1 = the clocks count business time',
  respond_normal_s     INT NOT NULL DEFAULT 86400  COMMENT 'first response, 一般',
  respond_hot_s        INT NOT NULL DEFAULT 14400  COMMENT 'first response, 热点',
  respond_important_s  INT NOT NULL DEFAULT 7200   COMMENT 'first response, 重要',
  respond_major_s      INT NOT NULL DEFAULT 3600   COMMENT 'first response, 重大',
  resolve_normal_s     INT NOT NULL DEFAULT 604800 COMMENT 'resolution, 一般',
  resolve_hot_s        INT NOT NULL DEFAULT 259200 COMMENT 'resolution, 热点',
  resolve_important_s  INT NOT NULL DEFAULT 172800 COMMENT 'resolution, 重要',
  resolve_major_s      INT NOT NULL DEFAULT 86400  COMMENT 'resolution, 重大',
  UNIQUE KEY uq_complaint_categories (project_id, code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT IGNORE INTO complaint_categories (project_id, code, name, sort_order) VALUES
  (0, 'property_service', '物业服务', 1), (0, 'construction_quality', '工程质量', 2),
  (0, 'sales_promise', '销售承诺', 3), (0, 'noise', '噪音', 4), (0, 'neighbours', '邻里', 5),
  (0, 'other', '其他', 6);

-- Group complaints: complaints of one category about one building within a
-- window (complaint_incident_threshold, complaint_incident_window_s), or
-- linked by hand. Resolving it proposes its resolution on every linked
-- complaint; each owner still accepts or rejects their own.
CREATE TABLE complaint_incidents (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  project_id     BIGINT UNSIGNED NOT NULL,
  category_id    BIGINT UNSIGNED NULL,
  building_id    BIGINT UNSIGNED NULL,
  title          VARCHAR(100) NOT NULL,
  state          ENUM('open','resolved') NOT NULL DEFAULT 'open',
  detected       TINYINT(1) NOT NULL DEFAULT 0 COMMENT '1 = created by detection, 0 = by hand',
  created_by     BIGINT UNSIGNED NULL COMMENT 'the staff member who opened it by hand',
  resolution     VARCHAR(1000) NULL,
  resolved_by    BIGINT UNSIGNED NULL,
  created_at     DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  resolved_at    DATETIME(3) NULL,
  KEY ix_complaint_incidents_project (project_id, id),
  KEY ix_complaint_incidents_open (category_id, building_id, state),
  CONSTRAINT fk_complaint_incidents_project FOREIGN KEY (project_id) REFERENCES projects (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- States: submitted -> in_progress (a staff reply or an assignment) ->
-- resolved (a proposed resolution) -> closed (the owner accepts, or
-- complaint_accept_days pass without an answer, or staff close praise and
-- enquiries); resolved -> in_progress when the owner rejects it
-- (rejection_count + 1, a new round of clocks).
CREATE TABLE complaints (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  complaint_no      VARCHAR(24) NULL COMMENT 'TS<yyyymmdd><id>, set in the creating transaction',
  project_id        BIGINT UNSIGNED NOT NULL,
  user_id           BIGINT UNSIGNED NOT NULL COMMENT 'the owner',
  unit_id           BIGINT UNSIGNED NULL,
  building_id       BIGINT UNSIGNED NULL COMMENT 'the unit''s building',
  type              ENUM('complaint','suggestion','praise','enquiry') NOT NULL,
  category_id       BIGINT UNSIGNED NOT NULL,
  level             ENUM('normal','hot','important','major') NOT NULL DEFAULT 'normal',
  state             ENUM('submitted','in_progress','resolved','closed') NOT NULL DEFAULT 'submitted',
  content           VARCHAR(1000) NOT NULL COMMENT 'the owner''s own words',
  channel           ENUM('miniprogram','hotline','front_desk','wechat_group') NOT NULL DEFAULT 'miniprogram',
  filed_by          BIGINT UNSIGNED NULL COMMENT 'the staff member who filed it for the owner',
  owner_confirmed_at DATETIME(3) NULL COMMENT 'a complaint filed for the owner: when they confirmed it',
  rejection_count   INT NOT NULL DEFAULT 0,
  handler_id        BIGINT UNSIGNED NULL,
  incident_id       BIGINT UNSIGNED NULL,
  repair_ticket_id  BIGINT UNSIGNED NULL,
  resolution        VARCHAR(1000) NULL COMMENT 'the proposed resolution of the current round',
  close_reason      ENUM('accepted','auto','staff') NULL,
  rating            TINYINT NULL COMMENT 'the owner''s 1-5 on accepting',
  first_response_at DATETIME(3) NULL COMMENT 'the first staff reply',
  round_started_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) COMMENT 'filing or the last rejection',
  respond_due_at    DATETIME(3) NULL COMMENT 'mirrored from the service-level clocks (sla_clocks); NULL = none or paused',
  resolve_due_at    DATETIME(3) NULL COMMENT 'mirrored from the service-level clocks',
  breached          TINYINT(1) NOT NULL DEFAULT 0 COMMENT 'some clock ran past its due time',
  created_at        DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  resolved_at       DATETIME(3) NULL,
  closed_at         DATETIME(3) NULL,
  updated_at        DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_complaint_no (complaint_no),
  KEY ix_complaints_user (user_id, id),
  KEY ix_complaints_project (project_id, id),
  KEY ix_complaints_handler (handler_id, id),
  KEY ix_complaints_incident (incident_id),
  KEY ix_complaints_repair_ticket (repair_ticket_id),
  KEY ix_complaints_cluster (category_id, building_id, created_at),
  KEY ix_complaints_state (state, resolved_at),
  CONSTRAINT fk_complaints_project FOREIGN KEY (project_id) REFERENCES projects (id),
  CONSTRAINT fk_complaints_user FOREIGN KEY (user_id) REFERENCES users (id),
  CONSTRAINT fk_complaints_unit FOREIGN KEY (unit_id) REFERENCES units (id),
  CONSTRAINT fk_complaints_category FOREIGN KEY (category_id) REFERENCES complaint_categories (id),
  CONSTRAINT fk_complaints_handler FOREIGN KEY (handler_id) REFERENCES users (id),
  CONSTRAINT fk_complaints_incident FOREIGN KEY (incident_id) REFERENCES complaint_incidents (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Replies and actions. visibility 'internal' (a staff note) is never shown
-- to the owner.
CREATE TABLE complaint_timeline (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  complaint_id  BIGINT UNSIGNED NOT NULL,
  action        VARCHAR(16) NOT NULL COMMENT 'submit, confirm, correct, assign, level, reply, note, resolve, accept, reject, close, link, unlink, repair',
  from_state    VARCHAR(16) NULL,
  to_state      VARCHAR(16) NOT NULL,
  visibility    ENUM('public','internal') NOT NULL DEFAULT 'public',
  actor_user_id BIGINT UNSIGNED NULL COMMENT 'NULL = the system',
  actor_role    VARCHAR(16) NOT NULL COMMENT 'owner, supervisor, admin, service, handler, system',
  note          VARCHAR(1000) NULL,
  created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY ix_complaint_timeline (complaint_id, id),
  KEY ix_complaint_timeline_action (action, created_at),
  CONSTRAINT fk_complaint_timeline FOREIGN KEY (complaint_id) REFERENCES complaints (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Photos: the same uploads as repairs (POST /api/v1/uploads); an upload
-- belongs to one repair ticket or one complaint, set in the attaching
-- transaction. The orphan sweeper keeps uploads attached to either.
ALTER TABLE uploads
  ADD COLUMN complaint_id BIGINT UNSIGNED NULL COMMENT 'set when attached to a complaint',
  ADD KEY ix_uploads_complaint (complaint_id),
  ALGORITHM=INPLACE, LOCK=NONE;

CREATE TABLE complaint_timeline_photos (
  upload_id   BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  timeline_id BIGINT UNSIGNED NOT NULL,
  position    TINYINT NOT NULL,
  KEY ix_complaint_tl_photos (timeline_id, position),
  CONSTRAINT fk_complaint_tl_photos FOREIGN KEY (timeline_id) REFERENCES complaint_timeline (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- A repair ticket spawned from a complaint is found from the complaint
-- (complaints.repair_ticket_id, ix_complaints_repair_ticket): repair_tickets
-- is not altered, since its indexed virtual columns rule out an online
-- rebuild.
