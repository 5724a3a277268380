-- Bench dataset, part 3: 50 000 leads over the 4 projects, each assigned to
-- one of its project's agents and already contacted (so the contact-overdue
-- sweeper has nothing to do during the run), with the assignment and the
-- creation in the funnel history; and each project's round-robin cursor.
SET NAMES utf8mb4;
SET SESSION unique_checks = 0, foreign_key_checks = 0;

INSERT INTO leads (id, project_id, name, phone, channel, interest_layout, consent_at, privacy_notice_version, stage,
                   furthest_stage, stage_changed_at, agent_user_id, assigned_at, first_contact_due_at,
                   first_contacted_at, signed_at, created_at)
SELECT l.id, l.project, CONCAT('客户', l.id), CONCAT('137', LPAD(l.id, 8, '0')),
       ELT(l.id % 5 + 1, 'organic', 'poster', 'ad', 'walk_in', 'referral'), '三室两厅', l.created, 'v1',
       ELT(l.id % 10 + 1, 'contacted', 'contacted', 'contacted', 'contacted', 'visited', 'visited', 'subscribed',
           'signed', 'lost', 'contacted'),
       ELT(l.id % 10 + 1, 1, 1, 1, 1, 2, 2, 3, 4, 1, 1),
       l.created + INTERVAL 1 DAY, l.agent, l.created, l.created + INTERVAL 2 HOUR, l.created + INTERVAL 1 HOUR,
       IF(l.id % 10 = 7, l.created + INTERVAL 20 DAY, NULL), l.created
FROM (
  SELECT seq AS id, (seq - 1) % 4 + 1 AS project, 30000 + (seq - 1) % 4 + 1 + 4 * (seq % 5) AS agent,
         NOW(3) - INTERVAL (50001 - seq) * 10 MINUTE AS created
  FROM seq_1_to_50000
) l;

INSERT INTO lead_assignments (lead_id, agent_user_id, method, created_at)
SELECT id, agent_user_id, 'round_robin', created_at FROM leads WHERE id <= 50000;

INSERT INTO lead_stage_history (lead_id, from_stage, to_stage, created_at)
SELECT id, NULL, 'new', created_at FROM leads WHERE id <= 50000;

INSERT INTO lead_assignment_cursors (project_id, last_agent_user_id)
SELECT seq, 30000 + seq FROM seq_1_to_4;

SET SESSION unique_checks = 1, foreign_key_checks = 1;
