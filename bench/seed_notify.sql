-- Bench dataset for the notification scenario: 10 000 users (ids
-- 900000001..900010000, apart from seed_base's and from the users that
-- earlier scenarios create by AUTO_INCREMENT, s6's logins above all), each
-- holding one one-time grant of TPL_REPAIR_STATUS, and one queued outbox
-- event each, written in one transaction so the dispatcher finds all 10 000
-- due at once.
SET NAMES utf8mb4;

INSERT INTO users (id, openid, last_login_at)
SELECT 900000000 + seq, CONCAT('o_bench_notify_', seq), NOW(3) FROM seq_1_to_10000;

INSERT INTO notification_grants (user_id, template_id, one_time_count, last_accepted_at)
SELECT 900000000 + seq, 'TPL_REPAIR_STATUS', 1, NOW(3) FROM seq_1_to_10000;

START TRANSACTION;
INSERT INTO notification_events (kind, user_id, ref_type, ref_id, payload)
SELECT 'repair.dispatched', 900000000 + seq, 'repair', 900000000 + seq,
       JSON_OBJECT('ticket_no', CONCAT('R20250601-', LPAD(seq, 5, '0')), 'category', '水电维修',
                   'state_label', '已派单', 'engineer_name', '王师傅', 'time', '2025-06-01 14:05')
FROM seq_1_to_10000;
COMMIT;
