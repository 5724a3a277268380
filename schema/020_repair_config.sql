-- 020: the repair and lead configuration the administration API edits.
--
-- Repair categories per project. project_id 0 holds the defaults (the
-- categories of 001/004 and any added since); a project with no category of
-- its own uses the defaults. The first change an administrator makes to a
-- project's categories copies the defaults into the project in the same
-- transaction and moves the project's tickets and dispatch rules from each
-- default to its copy (same code), so every ticket of a project names one of
-- the project's own categories from then on (domain/repairs/repair_catalog.h).
-- Codes are unique per project. A gateway from before this migration keeps
-- working: no project has copies until the new API makes one.
ALTER TABLE repair_categories
  ADD COLUMN project_id BIGINT UNSIGNED NOT NULL DEFAULT 0 COMMENT '0 = the defaults that new projects copy' AFTER id,
  ADD UNIQUE KEY uq_repair_categories_project_code (project_id, code),
  DROP KEY uq_repair_categories_code;

-- Lead channel rules get an id, so the API can name one rule
-- (PATCH/DELETE /api/v1/admin/lead-channel-rules/{id}). The primary key
-- (project, channel) stays: one rule per channel of a project.
ALTER TABLE lead_channel_rules
  ADD COLUMN id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT FIRST,
  ADD UNIQUE KEY uq_lead_channel_rules_id (id);
