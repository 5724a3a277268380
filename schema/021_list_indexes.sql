-- 021: the ticket lists read a page as one range of an index, in the
-- list's order (id descending), with no sort and no temporary table.
--
-- is_open is a virtual column (computed on read, nothing stored in the
-- row): the states whose clocks run. The overdue filter and the engineer's
-- open list name it, so that the open tickets of a project, of an engineer
-- or of every project are a short range in id order however many closed
-- tickets there are, and the due times are checked on the index entries
-- (index condition pushdown): only the rows on the page are read.
--   ix_repair_project_id     a project's tickets, newest first (staff list)
--   ix_repair_project_open   a project's open tickets, overdue filter
--   ix_repair_open           every open ticket, overdue filter for admins
--   ix_repair_engineer_open  an engineer's open tickets (work list)
--
-- Safe while an older gateway runs: the column is added instantly and
-- written by nobody (the older gateway's INSERTs name their columns), the
-- indexes are built online (reads and writes go on meanwhile), and nothing
-- the older gateway reads changes.
ALTER TABLE repair_tickets
  ADD COLUMN is_open TINYINT AS (state IN ('submitted', 'dispatched', 'accepted', 'in_progress')) VIRTUAL,
  ALGORITHM=INSTANT;
ALTER TABLE repair_tickets
  ADD KEY ix_repair_project_id (project_id, id),
  ADD KEY ix_repair_project_open (project_id, is_open, id, state, accept_due_at, arrive_due_at, resolve_due_at),
  ADD KEY ix_repair_open (is_open, id, state, accept_due_at, arrive_due_at, resolve_due_at),
  ADD KEY ix_repair_engineer_open (engineer_id, is_open, id, state),
  ALGORITHM=INPLACE, LOCK=NONE;
