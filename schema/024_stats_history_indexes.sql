-- 024: the statistics (domain/stats/stats.c) read the event history by
-- kind of event and time: the repair timeline's resolves, ratings, filings
-- and reopens of a period, the signings of a period in the lead stage
-- history, the escalation records before a time, and a project's rewards.
-- Each of these is one short range of an index here instead of a scan of
-- the whole table.
--   ix_repair_timeline_action_at   timeline rows of one action in a period
--   ix_lead_stage_history_to_at    stage changes to one stage in a period
--   ix_repair_escalations_kind_at  escalation records before a time
--   ix_referral_rewards_project    a project's rewards, by creation time
--
-- Safe while an older gateway runs: indexes only, built online (reads and
-- writes go on meanwhile); nothing the older gateway reads changes.
ALTER TABLE repair_timeline
  ADD KEY ix_repair_timeline_action_at (action, created_at, ticket_id),
  ALGORITHM=INPLACE, LOCK=NONE;
ALTER TABLE lead_stage_history
  ADD KEY ix_lead_stage_history_to_at (to_stage, created_at, lead_id),
  ALGORITHM=INPLACE, LOCK=NONE;
ALTER TABLE repair_escalations
  ADD KEY ix_repair_escalations_kind_at (kind, created_at),
  ALGORITHM=INPLACE, LOCK=NONE;
ALTER TABLE referral_rewards
  ADD KEY ix_referral_rewards_project (project_id, created_at),
  ALGORITHM=INPLACE, LOCK=NONE;
