-- Bench dataset, part 1: 4 projects, 80 buildings, 20 000 units, each with
-- one owner on the roster and that owner's user (phone bound), 20 agents,
-- 20 engineers, 4 supervisors and 2 000 buyers. Set-based (MariaDB's
-- SEQUENCE engine), explicit ids so the other parts can join on them:
--   users 1..20000 owners (owner i owns unit i), 30001.. agents,
--   31001.. engineers, 32001.. supervisors, 40001..42000 buyers.
SET NAMES utf8mb4;
SET SESSION unique_checks = 0, foreign_key_checks = 0;

INSERT INTO projects (id, code, name, city, address, open_for_leads)
SELECT seq, CONCAT('BENCH', seq), CONCAT('基准项目', seq), '杭州', CONCAT('滨江区 ', seq, ' 号'), 1
FROM seq_1_to_4;

INSERT INTO buildings (id, project_id, name)
SELECT seq, (seq - 1) DIV 20 + 1, CONCAT((seq - 1) % 20 + 1, '栋') FROM seq_1_to_80;

-- 250 units a building; handover dates spread over the last three years.
INSERT INTO units (id, building_id, name, handover_date)
SELECT seq, (seq - 1) DIV 250 + 1, CONCAT((seq - 1) % 250 DIV 10 + 1, '-', LPAD((seq - 1) % 10 + 1, 2, '0')),
       CURDATE() - INTERVAL ((seq - 1) DIV 250) * 13 DAY
FROM seq_1_to_20000;

INSERT INTO users (id, openid, phone, display_name, last_login_at)
SELECT seq, CONCAT('o_bench_owner_', seq), CONCAT('138', LPAD(seq, 8, '0')), CONCAT('业主', seq), NOW(3)
FROM seq_1_to_20000;

INSERT INTO owners (unit_id, name, phone, user_id)
SELECT seq, CONCAT('业主', seq), CONCAT('138', LPAD(seq, 8, '0')), seq FROM seq_1_to_20000;

INSERT INTO users (id, openid, display_name)
SELECT 30000 + seq, CONCAT('o_bench_agent_', seq), CONCAT('顾问', seq) FROM seq_1_to_20;
INSERT INTO staff_roles (user_id, role, project_id)
SELECT 30000 + seq, 'agent', (seq - 1) % 4 + 1 FROM seq_1_to_20;

INSERT INTO users (id, openid, display_name)
SELECT 31000 + seq, CONCAT('o_bench_engineer_', seq), CONCAT('师傅', seq) FROM seq_1_to_20;
INSERT INTO staff_roles (user_id, role, project_id)
SELECT 31000 + seq, 'engineer', (seq - 1) % 4 + 1 FROM seq_1_to_20;

INSERT INTO users (id, openid, display_name)
SELECT 32000 + seq, CONCAT('o_bench_supervisor_', seq), CONCAT('主管', seq) FROM seq_1_to_4;
INSERT INTO staff_roles (user_id, role, project_id)
SELECT 32000 + seq, 'supervisor', seq FROM seq_1_to_4;

INSERT INTO users (id, openid, last_login_at)
SELECT 40000 + seq, CONCAT('o_bench_buyer_', seq), NOW(3) FROM seq_1_to_2000;

SET SESSION unique_checks = 1, foreign_key_checks = 1;
