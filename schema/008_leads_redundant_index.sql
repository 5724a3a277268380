-- 008: leads loses ix_leads_project (project_id).
--
-- Every new lead writes each of its indexes. This one adds nothing: queries by
-- project use uq_leads_open_phone (project_id, open_phone) or
-- ix_leads_project_created (project_id, created_at), which both start with
-- project_id, and fk_leads_project is served by either of them.
ALTER TABLE leads DROP KEY ix_leads_project;
