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
