-- 032: the service desk files repair tickets on a caller's behalf.
--
--   repair_filings: one row per ticket the service desk filed for an owner
--       (POST /api/v1/service/repairs): the channel the request came by
--       (hotline, front_desk, miniprogram, wechat_group), the staff member
--       who filed it, and when the owner confirmed it in the mini-program.
--       A ticket the owner filed themselves has no row.
--
-- Why a table of its own and not columns of repair_tickets: InnoDB adds a
-- column instantly only to a table without indexed virtual columns, and
-- repair_tickets has them (schema 021, 022), so a new column there would
-- rebuild the table with writes locked out while an older gateway runs.
-- The new table is read by a primary-key join; nothing an older gateway
-- reads changes, and its tickets simply have no row (filed by the owner).
CREATE TABLE repair_filings (
  ticket_id    BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  channel      ENUM('hotline','front_desk','miniprogram','wechat_group') NOT NULL,
  filed_by     BIGINT UNSIGNED NOT NULL COMMENT 'the service-desk member who filed it',
  confirmed_at DATETIME(3) NULL COMMENT 'when the owner confirmed it',
  created_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY ix_repair_filings_by (filed_by, ticket_id),
  CONSTRAINT fk_repair_filings_ticket FOREIGN KEY (ticket_id) REFERENCES repair_tickets (id),
  CONSTRAINT fk_repair_filings_by FOREIGN KEY (filed_by) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
