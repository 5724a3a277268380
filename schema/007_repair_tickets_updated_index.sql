-- 007: an index on repair_tickets.updated_at.
--
-- Each gateway process keeps owners' ticket details in memory and evicts the
-- tickets whose row changed since its previous poll (a few times a second):
-- `SELECT id FROM repair_tickets WHERE updated_at >= ?` must be a range scan,
-- not a scan of every ticket.
ALTER TABLE repair_tickets ADD KEY ix_repair_updated (updated_at);
