-- 022: the staff's overdue list reads only overdue tickets.
--
-- "Overdue" (a running clock past its due time) changes with the clock, so
-- no index can hold it by itself; the list read every open ticket of a
-- project in id order and kept those past due (021): 50-100 tickets for a
-- listed one where few of them are late. Now:
--
--   repair_tickets.clock_due_at  when the ticket turns overdue: the earliest
--       due time of the clocks that run in its state, NULL when none runs (a
--       virtual column: computed on read, nothing stored). A ticket is
--       overdue exactly while clock_due_at < NOW(3).
--   repair_overdue  the tickets marked overdue, by project, in id order: the
--       list's page is a range of its primary key. The repair sweeper adds
--       the tickets whose clock has run out (ix_repair_clock_due: those with
--       clock_due_at < NOW(3) and no mark); each state change adds or removes
--       the mark of its ticket in its own transaction when it starts or stops
--       a clock (domain/repairs/repair_state.c).
--
-- The list keeps the exact condition (REPAIR_OVERDUE_SQL) on each marked
-- ticket: it never lists a ticket none of whose running clocks is past due.
-- A ticket whose clock has just run out joins the list at the sweeper's next
-- run (repair_sweep_interval_ms).
--
-- Why a table and not a column of repair_tickets: InnoDB adds a stored
-- column instantly only to a table without indexed virtual columns, and
-- rebuilds such a table (021's is_open) only with writes locked out.
--
--   ix_repair_content_check (content_check, id): the descriptions the
--       sweeper checks again ('unchecked'), which it found by scanning every
--       user and joining their tickets (1.9 s a run on 200 000 tickets).
--
-- Safe while an older gateway runs: the virtual column is added instantly,
-- the indexes online (reads and writes go on meanwhile), the table is new,
-- and nothing the older gateway reads changes. A mark an older gateway
-- leaves stale (its state changes do not remove marks) costs a row read,
-- never a wrong line, and the sweeper removes it.
ALTER TABLE repair_tickets
  ADD COLUMN clock_due_at DATETIME(3) AS (CASE
      WHEN state IN ('submitted', 'dispatched') THEN LEAST(accept_due_at, arrive_due_at, resolve_due_at)
      WHEN state = 'accepted' THEN LEAST(arrive_due_at, resolve_due_at)
      WHEN state = 'in_progress' THEN resolve_due_at END) VIRTUAL,
  ALGORITHM=INSTANT;
ALTER TABLE repair_tickets
  ADD KEY ix_repair_clock_due (clock_due_at),
  ADD KEY ix_repair_content_check (content_check, id),
  ALGORITHM=INPLACE, LOCK=NONE;

CREATE TABLE repair_overdue (
  project_id BIGINT UNSIGNED NOT NULL,
  ticket_id  BIGINT UNSIGNED NOT NULL,
  marked_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (project_id, ticket_id),
  UNIQUE KEY uq_repair_overdue_ticket (ticket_id),
  CONSTRAINT fk_repair_overdue_ticket FOREIGN KEY (ticket_id) REFERENCES repair_tickets (id)
) ENGINE=InnoDB;

-- The tickets overdue now (the sweeper would mark them at its first run).
INSERT INTO repair_overdue (project_id, ticket_id)
SELECT project_id, id FROM repair_tickets WHERE clock_due_at < NOW(3);
