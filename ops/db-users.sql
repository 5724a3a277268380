-- The gateway's database and its two MariaDB users (least privilege).
-- Run as MariaDB's root, e.g. through /usr/lib/property-gateway/create-db-users,
-- which puts the passwords from /etc/property-gateway in place of the
-- @PLACEHOLDERS@ (or prints this SQL with --print, for a database on another
-- host: replace 'localhost' by the gateway's address, and add REQUIRE SSL).
--
-- gateway          the running service: rows only (no schema changes), and
--                  EXECUTE: it calls the schema's stored routines (the lead
--                  intake, schema/023), which run with its own rights
--                  (SQL SECURITY INVOKER).
-- gateway_migrate  `property-gateway migrate`, `backup` and `restore`:
--                  creates and alters tables and routines; never used by
--                  the service.
-- Run again before upgrading an installation made before the routines
-- (it only adds the grants; the passwords stay those in /etc).
CREATE DATABASE IF NOT EXISTS `@DB_NAME@` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

CREATE USER IF NOT EXISTS '@DB_USER@'@'localhost' IDENTIFIED BY '@DB_PASSWORD@';
ALTER USER '@DB_USER@'@'localhost' IDENTIFIED BY '@DB_PASSWORD@';
GRANT SELECT, INSERT, UPDATE, DELETE, EXECUTE ON `@DB_NAME@`.* TO '@DB_USER@'@'localhost';

CREATE USER IF NOT EXISTS '@MIGRATE_USER@'@'localhost' IDENTIFIED BY '@MIGRATE_PASSWORD@';
ALTER USER '@MIGRATE_USER@'@'localhost' IDENTIFIED BY '@MIGRATE_PASSWORD@';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, DROP, REFERENCES, CREATE VIEW, SHOW VIEW,
      TRIGGER, LOCK TABLES, CREATE ROUTINE, ALTER ROUTINE, EXECUTE ON `@DB_NAME@`.* TO '@MIGRATE_USER@'@'localhost';
