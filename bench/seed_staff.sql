-- Bench dataset, part 4: the staff scenario's project. Project 5 has
-- 200 000 tickets of its own (ids 200001..400000, one every 5 minutes over
-- the last 694 days), 20 buildings, 5 000 units with their owners (users
-- 20001..25000), 5 engineers (31021..31025) and 4 supervisors
-- (32005..32008). Not open for leads.
--
-- Overdue ("a running clock past its due time", REPAIR_OVERDUE_SQL):
--   - the tickets 398001..399000 (3.5 to 7 days old, still dispatched,
--     accepted or in progress): every due time is days past;
--   - a tail of stuck tickets: every 200th ticket of 200200..398000 (990),
--     in the same states, overdue since they were filed;
--   about 1 990 in all. The newest 1 000 (399001..400000) are open with their
--   clocks due in 30+ days, as in seed_repairs.sql; the rest are closed
--   (every 50th cancelled).
-- The escalation ladder of every overdue clock has already run (a
-- repair_escalations row per running clock and step 1-3, and `breached`).
-- The open tickets' service-level clocks are not seeded: bench.py's settle
-- step lets the sweepers adopt them before anything is measured. No ticket is
-- left `submitted` (the sweeper would retry its dispatch). These tickets
-- have no timeline or photos: no scenario reads their detail.
SET NAMES utf8mb4;
SET SESSION unique_checks = 0, foreign_key_checks = 0;

INSERT INTO projects (id, code, name, city, address, open_for_leads)
VALUES (5, 'BENCH5', '基准项目5', '杭州', '滨江区 5 号', 0);

INSERT INTO buildings (id, project_id, name)
SELECT 80 + seq, 5, CONCAT(seq, '栋') FROM seq_1_to_20;

INSERT INTO units (id, building_id, name, handover_date)
SELECT 20000 + seq, 80 + (seq - 1) DIV 250 + 1,
       CONCAT((seq - 1) % 250 DIV 10 + 1, '-', LPAD((seq - 1) % 10 + 1, 2, '0')),
       CURDATE() - INTERVAL 800 DAY
FROM seq_1_to_5000;

INSERT INTO users (id, openid, phone, display_name, last_login_at)
SELECT 20000 + seq, CONCAT('o_bench_owner_', 20000 + seq), CONCAT('139', LPAD(seq, 8, '0')),
       CONCAT('业主', 20000 + seq), NOW(3)
FROM seq_1_to_5000;

INSERT INTO owners (unit_id, name, phone, user_id)
SELECT 20000 + seq, CONCAT('业主', 20000 + seq), CONCAT('139', LPAD(seq, 8, '0')), 20000 + seq FROM seq_1_to_5000;

INSERT INTO users (id, openid, display_name)
SELECT 31020 + seq, CONCAT('o_bench_engineer_', 20 + seq), CONCAT('师傅', 20 + seq) FROM seq_1_to_5;
INSERT INTO staff_roles (user_id, role, project_id)
SELECT 31020 + seq, 'engineer', 5 FROM seq_1_to_5;

INSERT INTO users (id, openid, display_name)
SELECT 32004 + seq, CONCAT('o_bench_supervisor_', 4 + seq), CONCAT('主管', 4 + seq) FROM seq_1_to_4;
INSERT INTO staff_roles (user_id, role, project_id)
SELECT 32004 + seq, 'supervisor', 5 FROM seq_1_to_4;

INSERT INTO repair_tickets
  (id, ticket_no, user_id, unit_id, building_id, project_id, category_id, description, contact_phone,
   state, engineer_id, content_check, clock_started_at, accept_due_at, arrive_due_at, resolve_due_at, breached,
   accepted_at, first_accepted_at, started_at, resolved_at, closed_at, cancelled_at,
   rating_score, rated_at, rated_engineer_id, created_at)
SELECT t.id, CONCAT('BX', DATE_FORMAT(t.created, '%Y%m%d'), t.id), t.owner, t.owner, 80 + (t.owner - 20001) DIV 250 + 1,
       5, c.id, CONCAT('公共区域照明损坏，楼道灯不亮，请安排检修。编号', t.id),
       CONCAT('139', LPAD(t.owner - 20000, 8, '0')), t.state,
       IF(t.state = 'cancelled', NULL, 31021 + t.id % 5), 'pass',
       IF(t.kind = 'waiting', NOW(3) - INTERVAL 1 HOUR, t.created),
       IF(t.kind = 'waiting', NOW(3) + INTERVAL 30 DAY, t.created + INTERVAL 2 HOUR),
       IF(t.kind = 'waiting', NOW(3) + INTERVAL 31 DAY, t.created + INTERVAL 1 DAY),
       IF(t.kind = 'waiting', NOW(3) + INTERVAL 33 DAY, t.created + INTERVAL 3 DAY),
       t.kind = 'overdue',
       IF(t.state IN ('accepted', 'in_progress', 'resolved', 'closed'), t.created + INTERVAL 3 HOUR, NULL),
       IF(t.state IN ('accepted', 'in_progress', 'resolved', 'closed'), t.created + INTERVAL 3 HOUR, NULL),
       IF(t.state IN ('in_progress', 'resolved', 'closed'), t.created + INTERVAL 4 HOUR, NULL),
       IF(t.state IN ('resolved', 'closed'), t.created + INTERVAL 5 HOUR, NULL),
       IF(t.state = 'closed', t.created + INTERVAL 6 HOUR, NULL),
       IF(t.state = 'cancelled', t.created + INTERVAL 2 HOUR, NULL),
       IF(t.state = 'closed', 5, NULL), IF(t.state = 'closed', t.created + INTERVAL 6 HOUR, NULL),
       IF(t.state = 'closed', 31021 + t.id % 5, NULL), t.created
FROM (
  SELECT k.id, k.owner, k.created, k.kind,
         CASE WHEN k.kind = 'overdue' THEN ELT(k.id % 3 + 1, 'dispatched', 'accepted', 'in_progress')
              WHEN k.kind = 'waiting' THEN ELT(k.id % 4 + 1, 'dispatched', 'accepted', 'in_progress', 'resolved')
              WHEN k.id % 50 = 0 THEN 'cancelled' ELSE 'closed' END AS state
  FROM (
    SELECT 200000 + s.seq AS id, 20001 + s.seq % 5000 AS owner,
           NOW(3) - INTERVAL (200001 - s.seq) * 5 MINUTE AS created,
           CASE WHEN s.seq > 199000 THEN 'waiting'
                WHEN s.seq > 198000 OR s.seq % 200 = 0 THEN 'overdue'
                ELSE 'done' END AS kind
    FROM seq_1_to_200000 s
  ) k
) t
JOIN (SELECT id, ROW_NUMBER() OVER (ORDER BY id) - 1 AS k, COUNT(*) OVER () AS n FROM repair_categories) c
  ON c.k = t.id % c.n;

-- The ladder already run for each running clock of an overdue ticket.
INSERT INTO repair_escalations (ticket_id, clock, round, kind, step, level, due_at, notified, created_at)
SELECT t.id, ELT(k.seq, 'accept', 'arrive', 'resolve'), 0, 'escalation', s.seq,
       ELT(s.seq, 'engineer', 'supervisor', 'manager'),
       ELT(k.seq, t.accept_due_at, t.arrive_due_at, t.resolve_due_at), 1,
       ELT(k.seq, t.accept_due_at, t.arrive_due_at, t.resolve_due_at) + INTERVAL s.seq HOUR
FROM repair_tickets t
JOIN seq_1_to_3 k ON (k.seq = 1 AND t.state = 'dispatched') OR (k.seq = 2 AND t.state IN ('dispatched', 'accepted'))
                  OR k.seq = 3
JOIN seq_1_to_3 s
WHERE t.project_id = 5 AND t.breached = 1;

SET SESSION unique_checks = 1, foreign_key_checks = 1;
