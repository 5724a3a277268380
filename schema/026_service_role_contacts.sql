-- 026: the service desk's staff role and the owner contact limit.
--
--   staff_roles.role gains 'service' (客服): the hotline and front-desk
--       staff of a project, granted per project like 'supervisor'. Appended
--       at the end of the ENUM, so the change is instant and an older
--       gateway, which never writes it, reads every row it knows unchanged.
--   owner_contacts: each time the product asks an owner for their opinion
--       (a survey sent, a follow-up visit (回访) assigned). No owner is asked
--       more often than owner_contact_min_days across every kind
--       (domain/service/contact_limit.h); (kind, ref_id, user_id) is unique,
--       so one survey or one visit counts once however often it is retried.
ALTER TABLE staff_roles
  MODIFY role ENUM('agent','engineer','supervisor','admin','service') NOT NULL,
  ALGORITHM=INSTANT;

CREATE TABLE owner_contacts (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id      BIGINT UNSIGNED NOT NULL,
  project_id   BIGINT UNSIGNED NOT NULL,
  kind         VARCHAR(16) NOT NULL COMMENT 'survey, followup, ...',
  ref_id       BIGINT UNSIGNED NOT NULL COMMENT 'the survey or follow-up that asked',
  contacted_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_owner_contact (kind, ref_id, user_id),
  KEY ix_owner_contacts_user (user_id, contacted_at),
  CONSTRAINT fk_owner_contacts_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
