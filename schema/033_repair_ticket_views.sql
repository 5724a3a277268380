-- 033: a rendered view of each repair ticket, so that the detail an owner
-- or the assigned engineer reads is one row read by primary key
-- (domain/repairs/repair_view.h, "the stored view").
--
--   repair_ticket_views: the detail as its owner sees it, rendered by the
--       gateway in the transaction that changed the ticket (and again by
--       the read that finds it missing or stale). The body is JSON text with
--       the parts that depend on the clock left as markers the gateway fills
--       in at read time (the photos' signed URLs, `overdue`); the markers
--       are control bytes, which JSON text never holds unescaped, so the
--       column is MEDIUMTEXT, not JSON. user_id, project_id and engineer_id
--       repeat the ticket's for the read's checks; ticket_updated_at is the
--       ticket row's updated_at when the view was rendered and epoch the
--       names' epoch then, hidden_photos how many of its photos were hidden
--       then: a read whose ticket row, epoch or hidden count moved since
--       renders the view again.
--   repair_view_epoch: one row; a change of a name the views show (a
--       category, unit, building, project or staff member) adds one to it in
--       its transaction, and every view rendered before is stale.
--
-- No backfill: the views are rendered on first read (the renderer is the
-- gateway's, one for the stored view and the live detail; a read without a
-- view costs what a read cost before this migration, once per ticket).
-- Safe while an older gateway runs: two new tables; an older gateway's
-- changes do not write views, but every change of a ticket writes its row
-- (updated_at moves) and the newer gateway's reads notice it.
CREATE TABLE repair_ticket_views (
  ticket_id         BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  user_id           BIGINT UNSIGNED NOT NULL COMMENT 'the owner who filed the ticket',
  project_id        BIGINT UNSIGNED NOT NULL,
  engineer_id       BIGINT UNSIGNED NULL,
  ticket_updated_at DATETIME(3) NOT NULL COMMENT 'repair_tickets.updated_at the body was rendered from',
  epoch             BIGINT UNSIGNED NOT NULL COMMENT 'repair_view_epoch.epoch the body was rendered at',
  hidden_photos     INT NOT NULL DEFAULT 0 COMMENT 'how many of the ticket''s uploads were hidden then',
  body              MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
                    COMMENT 'the owner''s detail, JSON with read-time markers',
  rendered_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  CONSTRAINT fk_repair_view_ticket FOREIGN KEY (ticket_id) REFERENCES repair_tickets (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE repair_view_epoch (
  id    TINYINT UNSIGNED NOT NULL PRIMARY KEY,
  epoch BIGINT UNSIGNED NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

INSERT INTO repair_view_epoch (id, epoch) VALUES (1, 0);

-- The read counts a ticket's hidden photos (a photo is hidden by the
-- content check, outside the ticket's transactions) on this index alone.
-- Built online: reads and writes go on meanwhile.
ALTER TABLE uploads
  ADD KEY ix_uploads_ticket_hidden (ticket_id, hidden),
  ALGORITHM=INPLACE, LOCK=NONE;
