-- 028: the staff's tickets board filtered by engineer reads only that
-- engineer's tickets.
--
--   ix_repair_engineer_id (engineer_id, id): an engineer's tickets, every
--       state, newest first: the page of GET /api/v1/admin/repairs?engineer=
--       is one range of it in id order. The engineer's existing indexes lead
--       with (engineer_id, state) and (engineer_id, is_open): the tickets of
--       every state are then several ranges, merged by a sort.
--
-- Safe while an older gateway runs: the index is built online (reads and
-- writes go on meanwhile) and nothing the older gateway reads changes.
ALTER TABLE repair_tickets
  ADD KEY ix_repair_engineer_id (engineer_id, id),
  ALGORITHM=INPLACE, LOCK=NONE;
