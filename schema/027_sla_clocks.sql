-- 027: the service-level clocks kept in one place for every kind of ticket
-- (domain/sla/sla_store.h, docs/sla.md).
--
--   sla_clocks  one row per (kind, subject, round, clock): the start, the
--       budget, natural or business time, whether it runs, the steps of its
--       ladder fired in the round (bits of the step ids), and what the
--       engine derived from them: due_at (NULL while an open pause holds the
--       clock) and next_at, when the sweeper must look at it again (NULL:
--       nothing left to fire, stopped, or paused with no end). The sweeper
--       reads the clocks whose next_at has passed by ix_sla_clocks_next.
--   sla_pauses  the pauses of a subject's round (a ticket waiting on the
--       owner): from started_at to ended_at (resumed), else to
--       planned_end_at (an agreed visit time), else open.
--   sla_calendar_years, sla_calendar_version  the business calendar, one
--       row per year (holidays and make-up working days, 调休), editable
--       through the admin API; every gateway reloads it when the version
--       changes. Seeded from config/holidays-cn.json by the gateway (one
--       INSERT IGNORE per shipped year: an administrator's edit is kept).
--   repair_categories.business_hours  a category whose clocks count working
--       time only (default 0: natural time, as before).
--   repair_tickets.*_due_at hold '9999-12-31' while a clock is paused with
--       no planned end: it has no due time, so its ticket is not overdue
--       meanwhile while its other clocks still count (022's clock_due_at
--       takes the least), and the API shows null (UNIX_TIMESTAMP of it is
--       NULL). Not NULL: that change would rebuild repair_tickets, whose
--       indexed virtual columns rule out an online rebuild (writes would
--       wait for it).
--
-- The open repair tickets get their clocks from their columns (start,
-- budgets as they were set, the steps already recorded in
-- repair_escalations), with next_at now: the sweeper recomputes each at its
-- first run.
--
-- Safe while an older gateway runs: new tables and a column with a default
-- on the small repair_categories (instant); repair_tickets is not altered.
-- An older gateway's sweeper keeps escalating from the due columns
-- and claims through repair_escalations' unique key, which the new sweeper
-- claims through too, so a step is never sent twice during the upgrade.
CREATE TABLE sla_clocks (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  kind        VARCHAR(16) NOT NULL COMMENT 'repair, complaint',
  subject_id  BIGINT UNSIGNED NOT NULL COMMENT 'the ticket of that kind',
  round       INT NOT NULL COMMENT 'repairs: rework_count',
  clock_no    TINYINT NOT NULL COMMENT 'index into the kind''s clocks',
  clock       VARCHAR(16) NOT NULL COMMENT 'its name: accept, arrive, resolve, ...',
  project_id  BIGINT UNSIGNED NOT NULL,
  started_at  DATETIME(3) NOT NULL,
  budget_s    INT NOT NULL,
  mode        ENUM('natural','business') NOT NULL DEFAULT 'natural',
  state       ENUM('running','met','stopped') NOT NULL DEFAULT 'running',
  stopped_at  DATETIME(3) NULL,
  fired       INT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'bits of the ladder step ids fired in the round',
  breached    TINYINT(1) NOT NULL DEFAULT 0,
  due_at      DATETIME(3) NULL,
  next_at     DATETIME(3) NULL,
  updated_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_sla_clocks (kind, subject_id, round, clock_no),
  KEY ix_sla_clocks_next (next_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE sla_pauses (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  kind           VARCHAR(16) NOT NULL,
  subject_id     BIGINT UNSIGNED NOT NULL,
  round          INT NOT NULL,
  started_at     DATETIME(3) NOT NULL,
  planned_end_at DATETIME(3) NULL COMMENT 'an agreed visit time: resumes by itself then',
  ended_at       DATETIME(3) NULL COMMENT 'resumed by hand, or stopped',
  reason         VARCHAR(200) NULL,
  actor_user_id  BIGINT UNSIGNED NULL COMMENT 'NULL = the system',
  KEY ix_sla_pauses_subject (kind, subject_id, round, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE sla_calendar_years (
  year        SMALLINT NOT NULL PRIMARY KEY,
  source      VARCHAR(1024) NULL COMMENT 'the notice it follows',
  holidays    TEXT NOT NULL COMMENT 'JSON array of YYYY-MM-DD',
  workdays    TEXT NOT NULL COMMENT 'JSON array of YYYY-MM-DD (调休)',
  updated_by  BIGINT UNSIGNED NULL COMMENT 'NULL = seeded from the shipped file',
  updated_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE sla_calendar_version (
  id       TINYINT NOT NULL PRIMARY KEY,
  version  BIGINT NOT NULL
) ENGINE=InnoDB;
INSERT INTO sla_calendar_version (id, version) VALUES (1, 1);

ALTER TABLE repair_categories
  ADD COLUMN business_hours TINYINT(1) NOT NULL DEFAULT 0 COMMENT 'clocks count working time only (docs/sla.md)';

-- The open tickets' clocks, from their columns. A clock runs in the states
-- of domain/repairs/repair_state.c (clock_running_in); the others are met.
INSERT INTO sla_clocks (kind, subject_id, round, clock_no, clock, project_id, started_at, budget_s, mode, state,
                        fired, breached, due_at, next_at)
SELECT 'repair', t.id, t.rework_count, k.no, k.name, t.project_id, t.clock_started_at,
       GREATEST(0, TIMESTAMPDIFF(SECOND, t.clock_started_at,
                                 CASE k.no WHEN 0 THEN t.accept_due_at WHEN 1 THEN t.arrive_due_at
                                 ELSE t.resolve_due_at END)),
       'natural',
       IF(FIND_IN_SET(t.state, k.states) > 0, 'running', 'met'),
       COALESCE((SELECT BIT_OR(1 << e.step) FROM repair_escalations e WHERE e.ticket_id = t.id
                 AND e.clock = k.name AND e.round = t.rework_count), 0),
       t.breached,
       CASE k.no WHEN 0 THEN t.accept_due_at WHEN 1 THEN t.arrive_due_at ELSE t.resolve_due_at END,
       IF(FIND_IN_SET(t.state, k.states) > 0, NOW(3), NULL)
FROM repair_tickets t
JOIN (SELECT 0 AS no, 'accept' AS name, 'submitted,dispatched' AS states
      UNION ALL SELECT 1, 'arrive', 'submitted,dispatched,accepted'
      UNION ALL SELECT 2, 'resolve', 'submitted,dispatched,accepted,in_progress') k
WHERE t.state IN ('submitted', 'dispatched', 'accepted', 'in_progress');
