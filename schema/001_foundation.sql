-- 001: users, sessions, roles, properties, the owner roster, leads (minimal),
-- repair categories and the audit log. utf8mb4 throughout (names are Chinese).

CREATE TABLE users (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  openid        VARCHAR(128) NOT NULL,
  unionid       VARCHAR(128) NULL,
  phone         VARCHAR(32) NULL COMMENT 'mainland: 11 digits; else +<cc><number>',
  display_name  VARCHAR(64) NULL,
  disabled      TINYINT(1) NOT NULL DEFAULT 0,
  created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  last_login_at DATETIME(3) NULL,
  UNIQUE KEY uq_users_openid (openid),
  KEY ix_users_unionid (unionid),
  KEY ix_users_phone (phone)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The WeChat session_key: server-side only, never returned or logged.
CREATE TABLE wechat_sessions (
  user_id     BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  session_key VARCHAR(128) NOT NULL,
  updated_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  CONSTRAINT fk_wxsess_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE projects (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  code           VARCHAR(32) NOT NULL,
  name           VARCHAR(100) NOT NULL,
  city           VARCHAR(50) NOT NULL DEFAULT '',
  address        VARCHAR(255) NOT NULL DEFAULT '',
  open_for_leads TINYINT(1) NOT NULL DEFAULT 1,
  created_at     DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_projects_code (code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE buildings (
  id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  project_id BIGINT UNSIGNED NOT NULL,
  name       VARCHAR(50) NOT NULL,
  UNIQUE KEY uq_buildings (project_id, name),
  CONSTRAINT fk_buildings_project FOREIGN KEY (project_id) REFERENCES projects (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE units (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  building_id   BIGINT UNSIGNED NOT NULL,
  name          VARCHAR(50) NOT NULL,
  handover_date DATE NULL COMMENT 'start of the statutory warranty',
  UNIQUE KEY uq_units (building_id, name),
  CONSTRAINT fk_units_building FOREIGN KEY (building_id) REFERENCES buildings (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The owner roster: who owns which unit, by phone. user_id is filled when a
-- user binds that phone; such a user has the owner role.
CREATE TABLE owners (
  id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  unit_id    BIGINT UNSIGNED NOT NULL,
  name       VARCHAR(64) NOT NULL,
  phone      VARCHAR(32) NOT NULL,
  user_id    BIGINT UNSIGNED NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_owners_unit_phone (unit_id, phone),
  KEY ix_owners_phone (phone),
  KEY ix_owners_user (user_id),
  CONSTRAINT fk_owners_unit FOREIGN KEY (unit_id) REFERENCES units (id),
  CONSTRAINT fk_owners_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Staff roles. project_id 0 means global (admin).
CREATE TABLE staff_roles (
  user_id    BIGINT UNSIGNED NOT NULL,
  role       ENUM('agent','engineer','supervisor','admin') NOT NULL,
  project_id BIGINT UNSIGNED NOT NULL DEFAULT 0,
  granted_by BIGINT UNSIGNED NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (user_id, role, project_id),
  KEY ix_staff_project_role (project_id, role),
  CONSTRAINT fk_staff_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Leads (留资). The leads work extends this table; the phone links a lead to
-- the user who later binds that phone.
CREATE TABLE leads (
  id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  project_id BIGINT UNSIGNED NOT NULL,
  name       VARCHAR(64) NOT NULL,
  phone      VARCHAR(32) NOT NULL,
  user_id    BIGINT UNSIGNED NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY ix_leads_phone (phone),
  KEY ix_leads_project (project_id),
  CONSTRAINT fk_leads_project FOREIGN KEY (project_id) REFERENCES projects (id),
  CONSTRAINT fk_leads_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE repair_categories (
  id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  code       VARCHAR(32) NOT NULL,
  name       VARCHAR(32) NOT NULL,
  sort_order INT NOT NULL DEFAULT 0,
  active     TINYINT(1) NOT NULL DEFAULT 1,
  UNIQUE KEY uq_repair_categories_code (code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE audit_log (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  actor_user_id BIGINT UNSIGNED NULL,
  action        VARCHAR(64) NOT NULL,
  target_type   VARCHAR(32) NOT NULL,
  target_id     BIGINT UNSIGNED NULL,
  detail        JSON NULL,
  created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY ix_audit_target (target_type, target_id),
  KEY ix_audit_actor (actor_user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
