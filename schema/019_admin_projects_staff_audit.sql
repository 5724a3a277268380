-- 019: the administration API's projects, buildings, staff names and audit
-- log. Every change adds a nullable column or an index, so an older gateway
-- keeps running beside it.

-- A project's default handover date (a new building's, then unit's, unless
-- given); a building's handover date (its new units' default).
ALTER TABLE projects
  ADD COLUMN default_handover_date DATE NULL AFTER open_for_leads;
ALTER TABLE buildings
  ADD COLUMN handover_date DATE NULL AFTER name;

-- A staff member's title beside the display name (users.display_name is the
-- name owners and supervisors see).
ALTER TABLE users
  ADD COLUMN title VARCHAR(32) NULL AFTER display_name;

-- The project an audit row is about, so a supervisor reads their projects'
-- rows only; NULL for global changes (admins only). The indexes serve the
-- audit list's filters, newest first.
ALTER TABLE audit_log
  ADD COLUMN project_id BIGINT UNSIGNED NULL AFTER target_id,
  ADD KEY ix_audit_project (project_id, id),
  ADD KEY ix_audit_action (action, id),
  ADD KEY ix_audit_created (created_at),
  DROP KEY ix_audit_actor,
  ADD KEY ix_audit_actor (actor_user_id, id),
  DROP KEY ix_audit_target,
  ADD KEY ix_audit_target (target_type, target_id, id);

-- The rows written before: the project from the object, where there is one.
UPDATE audit_log SET project_id = target_id WHERE project_id IS NULL AND target_type = 'project';
UPDATE audit_log a JOIN leads l ON a.target_type = 'lead' AND l.id = a.target_id
  SET a.project_id = l.project_id WHERE a.project_id IS NULL;
UPDATE audit_log a JOIN referrals r ON a.target_type = 'referral' AND r.id = a.target_id
  SET a.project_id = r.project_id WHERE a.project_id IS NULL;
UPDATE audit_log a JOIN referral_rewards w ON a.target_type = 'reward' AND w.id = a.target_id
  SET a.project_id = w.project_id WHERE a.project_id IS NULL;
UPDATE audit_log a JOIN notification_events e ON a.target_type = 'notification_event' AND e.id = a.target_id
  SET a.project_id = e.project_id WHERE a.project_id IS NULL;
UPDATE audit_log SET project_id = CAST(JSON_VALUE(detail, '$.project_id') AS UNSIGNED)
  WHERE project_id IS NULL AND action IN ('staff.grant', 'staff.revoke')
    AND JSON_VALUE(detail, '$.project_id') > 0;
