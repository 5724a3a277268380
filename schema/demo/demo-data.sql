-- Demo data for `make run` (loaded once, on first start; not a migration).
-- Log in as these people with the fake WeChat's magic codes, e.g.
-- {"code":"C_o_demo_admin"}; bind the owner's phone with {"code":"P_13800000001"}.
SET NAMES utf8mb4;

INSERT IGNORE INTO projects (id, code, name, city, address) VALUES
  (1, 'SKY', '天空之城', '杭州', '西湖区文三路 100 号');

INSERT IGNORE INTO buildings (id, project_id, name) VALUES
  (1, 1, '1栋'), (2, 1, '2栋');

INSERT IGNORE INTO units (id, building_id, name, handover_date) VALUES
  (1, 1, '1-101', '2024-06-30'), (2, 1, '1-102', '2024-06-30'), (3, 1, '2-201', '2024-06-30'),
  (4, 2, '1-101', '2025-12-31'), (5, 2, '1-102', '2025-12-31');

INSERT IGNORE INTO owners (unit_id, name, phone) VALUES
  (1, '张伟', '13800000001'), (2, '李娜', '13800000002'), (4, '王芳', '13800000003');

INSERT IGNORE INTO repair_categories (code, name, sort_order) VALUES
  ('plumbing_electric', '水电', 1), ('doors_windows', '门窗', 2), ('walls', '墙面', 3),
  ('waterproofing', '防水渗漏', 4), ('public_area', '公共区域', 5), ('other', '其他', 6);

INSERT IGNORE INTO users (id, openid, display_name) VALUES
  (1, 'o_demo_admin', '系统管理员'), (2, 'o_demo_supervisor', '赵主管'),
  (3, 'o_demo_engineer', '王师傅'), (4, 'o_demo_agent', '陈顾问');

INSERT IGNORE INTO staff_roles (user_id, role, project_id) VALUES
  (1, 'admin', 0), (2, 'supervisor', 1), (3, 'engineer', 1), (4, 'agent', 1);

-- Repairs: one engineer group for project 1 that takes every building and
-- category (王师傅, user 3); 赵主管 (user 2) supervises; 孙经理 is the
-- project manager, the last step of the escalation ladder.
INSERT IGNORE INTO repair_engineer_groups (id, project_id, name) VALUES (1, 1, '天空之城工程部');
INSERT IGNORE INTO repair_engineer_group_members (group_id, user_id) VALUES (1, 3);
INSERT IGNORE INTO repair_dispatch_rules (project_id, building_id, category_id, group_id) VALUES (1, 0, 0, 1);
INSERT IGNORE INTO users (openid, display_name) VALUES ('o_demo_manager', '孙经理');
INSERT IGNORE INTO staff_roles (user_id, role, project_id)
  SELECT id, 'supervisor', 1 FROM users WHERE openid = 'o_demo_manager';
INSERT IGNORE INTO project_managers (project_id, user_id)
  SELECT 1, id FROM users WHERE openid = 'o_demo_manager';
-- Clocks (seconds): accept within 2 h everywhere; on site and resolved by
-- category. Public areas are answered faster; leaks get a week to fix.
UPDATE repair_categories SET accept_within_s = 7200, arrive_within_s = 86400, resolve_within_s = 259200
  WHERE code IN ('plumbing_electric', 'doors_windows', 'walls', 'other');
UPDATE repair_categories SET accept_within_s = 7200, arrive_within_s = 172800, resolve_within_s = 604800
  WHERE code = 'waterproofing';
UPDATE repair_categories SET accept_within_s = 3600, arrive_within_s = 14400, resolve_within_s = 86400
  WHERE code = 'public_area';

-- Leads and referrals (老带新): 陈顾问 (user 4) and 林顾问 take turns with new
-- leads of project 1; its supervisors hear about late first contacts. An owner
-- (bind phone 13800000001..3) gets a referral code from GET /referrals/code;
-- a referred buyer who signs earns the referrer 5000 yuan.
INSERT IGNORE INTO users (openid, display_name) VALUES ('o_demo_agent2', '林顾问');
INSERT IGNORE INTO staff_roles (user_id, role, project_id)
  SELECT id, 'agent', 1 FROM users WHERE openid = 'o_demo_agent2';
INSERT IGNORE INTO reward_rules (project_id, kind, amount, description)
  VALUES (1, 'cash', 500000, '老带新签约奖励 5000 元');

-- Notifications: the demo staff have accepted their subscribe templates a few
-- times (the mini-program reports this with POST /api/v1/subscriptions after
-- wx.requestSubscribeMessage), so their WeChat messages appear in the fake
-- WeChat's log. Owners subscribe themselves, as in the real flow.
INSERT IGNORE INTO notification_grants (user_id, template_id, one_time_count)
  SELECT id, 'TPL_REPAIR_STATUS', 20 FROM users
  WHERE openid IN ('o_demo_engineer', 'o_demo_supervisor', 'o_demo_manager');
INSERT IGNORE INTO notification_grants (user_id, template_id, one_time_count)
  SELECT id, 'TPL_LEAD_ASSIGNED', 20 FROM users
  WHERE openid IN ('o_demo_agent', 'o_demo_agent2', 'o_demo_supervisor', 'o_demo_manager');
