-- Bench dataset, part 2: 200 000 repair tickets with their timelines and a
-- report photo each. Owners 1..2000 (the ones the read scenarios log in as)
-- have 50 tickets each, so a page of 20 is full; owners 2001..20000 share
-- the other 100 000. The newest 1 000 tickets are still open (dispatched,
-- accepted, in progress or resolved), with their clocks due in the future
-- so the escalation sweeper has nothing to do during the run, and none left
-- `submitted`, which the sweeper would dispatch again (a burst of ~200
-- dispatches in the run's first minute); the rest are closed (every 50th
-- cancelled).
-- Ids are explicit: timeline row (ticket - 1) * 6 + step, upload = ticket.
SET NAMES utf8mb4;
SET SESSION unique_checks = 0, foreign_key_checks = 0;

INSERT INTO repair_tickets
  (id, ticket_no, user_id, unit_id, building_id, project_id, category_id, description, contact_phone,
   state, engineer_id, content_check, clock_started_at, accept_due_at, arrive_due_at, resolve_due_at,
   accepted_at, first_accepted_at, started_at, resolved_at, closed_at, cancelled_at,
   rating_score, rated_at, rated_engineer_id, created_at)
SELECT t.id, CONCAT('BX', DATE_FORMAT(t.created, '%Y%m%d'), t.id), t.owner, t.owner, u.building_id, b.project_id,
       c.id, CONCAT('卫生间地漏返水，墙角有渗水痕迹，请尽快安排师傅上门查看。编号', t.id),
       CONCAT('138', LPAD(t.owner, 8, '0')), t.state,
       IF(t.state IN ('submitted', 'cancelled'), NULL, 31000 + b.project_id + 4 * (t.id % 5)), 'pass',
       t.created,
       IF(t.open, NOW(3) + INTERVAL 30 DAY, t.created + INTERVAL 2 HOUR),
       IF(t.open, NOW(3) + INTERVAL 31 DAY, t.created + INTERVAL 1 DAY),
       IF(t.open, NOW(3) + INTERVAL 33 DAY, t.created + INTERVAL 3 DAY),
       IF(t.steps >= 3, t.created + INTERVAL 3 HOUR, NULL), IF(t.steps >= 3, t.created + INTERVAL 3 HOUR, NULL),
       IF(t.steps >= 4, t.created + INTERVAL 4 HOUR, NULL), IF(t.steps >= 5, t.created + INTERVAL 5 HOUR, NULL),
       IF(t.steps >= 6, t.created + INTERVAL 6 HOUR, NULL),
       IF(t.state = 'cancelled', t.created + INTERVAL 2 HOUR, NULL),
       IF(t.steps >= 6, 5, NULL), IF(t.steps >= 6, t.created + INTERVAL 6 HOUR, NULL),
       IF(t.steps >= 6, 31000 + b.project_id + 4 * (t.id % 5), NULL), t.created
FROM (
  SELECT s.seq AS id,
         IF(s.seq <= 100000, (s.seq - 1) % 2000 + 1, (s.seq - 100001) % 18000 + 2001) AS owner,
         NOW(3) - INTERVAL (200001 - s.seq) * 5 MINUTE AS created,
         s.seq > 199000 AS open,
         CASE WHEN s.seq > 199000 THEN ELT(s.seq % 4 + 1, 'dispatched', 'accepted', 'in_progress', 'resolved')
              WHEN s.seq % 50 = 0 THEN 'cancelled' ELSE 'closed' END AS state,
         CASE WHEN s.seq > 199000 THEN s.seq % 4 + 2 WHEN s.seq % 50 = 0 THEN 2 ELSE 6 END AS steps
  FROM seq_1_to_200000 s
) t
JOIN units u ON u.id = t.owner
JOIN buildings b ON b.id = u.building_id
JOIN (SELECT id, ROW_NUMBER() OVER (ORDER BY id) - 1 AS k, COUNT(*) OVER () AS n FROM repair_categories) c
  ON c.k = t.id % c.n;

-- Timeline: submit, dispatch, accept, start, resolve, rate (closes); a
-- cancelled ticket has submit and cancel.
INSERT INTO repair_timeline (id, ticket_id, action, from_state, to_state, actor_user_id, actor_role, note, created_at)
SELECT (r.id - 1) * 6 + s.seq, r.id,
       IF(r.state = 'cancelled' AND s.seq = 2, 'cancel', ELT(s.seq, 'submit', 'dispatch', 'accept', 'start', 'resolve', 'rate')),
       ELT(s.seq, NULL, 'submitted', 'dispatched', 'accepted', 'in_progress', 'resolved'),
       IF(r.state = 'cancelled' AND s.seq = 2, 'cancelled',
          ELT(s.seq, 'submitted', 'dispatched', 'accepted', 'in_progress', 'resolved', 'closed')),
       CASE WHEN s.seq IN (1, 6) OR r.state = 'cancelled' THEN r.user_id WHEN s.seq = 2 THEN NULL
            ELSE r.engineer_id END,
       CASE WHEN s.seq IN (1, 6) OR r.state = 'cancelled' THEN 'owner' WHEN s.seq = 2 THEN 'system'
            ELSE 'engineer' END,
       IF(s.seq = 5, '已更换地漏并做闭水试验', NULL),
       r.created_at + INTERVAL (s.seq - 1) HOUR
FROM repair_tickets r
JOIN seq_1_to_6 s ON s.seq <= CASE r.state WHEN 'closed' THEN 6 WHEN 'cancelled' THEN 2 WHEN 'submitted' THEN 1
                                 WHEN 'dispatched' THEN 2 WHEN 'accepted' THEN 3 WHEN 'in_progress' THEN 4 ELSE 5 END;

-- One report photo a ticket (metadata only: reading a ticket signs its URLs).
INSERT INTO uploads (id, user_id, sha256, thumb_sha256, content_type, bytes, width, height, ticket_id, check_status,
                     created_at)
SELECT r.id, r.user_id, SHA2(CONCAT('bench-photo-', r.id), 256), SHA2(CONCAT('bench-thumb-', r.id), 256),
       'image/jpeg', 1048576, 2016, 1512, r.id, 'pass', r.created_at
FROM repair_tickets r;

INSERT INTO repair_timeline_photos (upload_id, timeline_id, position)
SELECT r.id, (r.id - 1) * 6 + 1, 0 FROM repair_tickets r;

SET SESSION unique_checks = 1, foreign_key_checks = 1;
