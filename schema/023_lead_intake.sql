-- 023: a lead's intake is one CALL (POST /api/v1/leads).
--
-- lead_intake runs the whole submission in one round trip: the project
-- check, the submitter's daily cap, dedupe by phone, the referral binding
-- and its rules, the lead's agent, every row and both notification events,
-- in one transaction that it commits itself, then answers one row. The
-- gateway checks the form before the call and builds the response; it
-- keeps no copy of these rules (handlers/leads/leads.c).
--
-- lead_pick_agent is the one implementation of the choice of a lead's agent
-- (a channel rule, else round robin over the project's active agents after
-- the cursor's last one); lead_intake calls it, and so does the gateway
-- when a lead returns to assignment (domain/leads/lead_assign.c).
-- lead_submitter_cap is the daily cap, read by lead_intake and by the
-- gateway before it spends a WeChat call on a phone code.
--
-- SQL SECURITY INVOKER: the routines run with the rights of the user that
-- calls them (the gateway's: rows only, plus EXECUTE), never with the
-- migration user's. The migration user needs CREATE ROUTINE and ALTER
-- ROUTINE (ops/db-users.sql); a backup dumps the routines with the tables.
--
-- Safe while an older gateway runs: only routines are added, and the older
-- gateway calls none of them.
--
-- Character strings are compared with the collation of the column they
-- meet (COLLATE), so that an index is used whatever the database's default
-- collation is.

-- The daily cap: o_retry_after NULL while p_user has left fewer than p_cap
-- submissions in the last 24 hours, else the seconds until the oldest of
-- them leaves that window (at least 1). A range of ix_lead_submissions_user
-- (user_id, created_at). A procedure, not a function: with binary logging
-- on, creating a function takes SUPER (or log_bin_trust_function_creators),
-- which the migration user does not have.
CREATE OR REPLACE PROCEDURE lead_submitter_cap(IN p_user BIGINT UNSIGNED, IN p_cap INT, OUT o_retry_after INT)
  READS SQL DATA SQL SECURITY INVOKER
  COMMENT 'the daily lead cap: NULL under it, else seconds until a submission leaves the 24-hour window'
BEGIN
  DECLARE v_n BIGINT;
  DECLARE v_retry BIGINT;
  SELECT COUNT(*), CEIL(TIMESTAMPDIFF(MICROSECOND, NOW(3), MIN(created_at) + INTERVAL 1 DAY) / 1000000)
    INTO v_n, v_retry
    FROM lead_submissions WHERE user_id = p_user AND created_at > NOW(3) - INTERVAL 1 DAY;
  SET o_retry_after = IF(v_n < p_cap, NULL, GREATEST(COALESCE(v_retry, 1), 1));
END;

-- For the gateway's check before it spends a WeChat call on a phone code
-- (prepared statements read rows, not OUT parameters): one row,
-- retry_after_s.
CREATE OR REPLACE PROCEDURE lead_submitter_cap_row(IN p_user BIGINT UNSIGNED, IN p_cap INT)
  READS SQL DATA SQL SECURITY INVOKER
  COMMENT 'lead_submitter_cap answered as one row (retry_after_s)'
BEGIN
  DECLARE v_retry INT;
  CALL lead_submitter_cap(p_user, p_cap, v_retry);
  SELECT v_retry AS retry_after_s;
END;

-- Chooses the agent of lead p_lead of project p_project and gives them the
-- lead: the agent a channel rule names for p_channel while they still hold
-- the agent role there, else the next active agent after the cursor's last
-- one (by user id, wrapping to the first), and the cursor moves to them.
-- Never p_from_agent (the agent the lead leaves; 0 at the intake).
-- o_agent NULL: no agent left (nothing written).
--
-- The project's cursor row (lead_assignment_cursors) is locked by the read
-- that chooses and stays locked until the caller's commit, so that
-- concurrent leads of a project take turns; the caller takes it last. The
-- cursor row must exist (a missing one is an error: SQLSTATE 45000).
CREATE OR REPLACE PROCEDURE lead_pick_agent(IN p_lead BIGINT UNSIGNED, IN p_project BIGINT UNSIGNED,
                                            IN p_channel VARCHAR(16) CHARACTER SET utf8mb4,
                                            IN p_from_agent BIGINT UNSIGNED,
                                            OUT o_agent BIGINT UNSIGNED, OUT o_method VARCHAR(16))
  MODIFIES SQL DATA SQL SECURITY INVOKER
  COMMENT 'a lead''s agent: channel rule, else round robin by the project''s cursor (locked)'
BEGIN
  DECLARE v_cursor TINYINT DEFAULT 0;
  DECLARE v_rule BIGINT UNSIGNED DEFAULT NULL;
  DECLARE v_next BIGINT UNSIGNED DEFAULT NULL;
  DECLARE CONTINUE HANDLER FOR NOT FOUND SET v_cursor = 0;
  SET o_agent = NULL, o_method = NULL;
  -- FOR UPDATE locks only the cursor row: the subqueries are plain reads,
  -- and they see the locked, latest cursor value.
  SELECT 1,
         (SELECT r.agent_user_id FROM lead_channel_rules r
            JOIN staff_roles s ON s.user_id = r.agent_user_id AND s.project_id = r.project_id AND s.role = 'agent'
            JOIN users u ON u.id = r.agent_user_id AND u.disabled = 0
           WHERE r.project_id = c.project_id AND r.channel = p_channel COLLATE utf8mb4_general_ci
             AND r.agent_user_id <> p_from_agent),
         (SELECT s.user_id FROM staff_roles s JOIN users u ON u.id = s.user_id AND u.disabled = 0
           WHERE s.project_id = c.project_id AND s.role = 'agent' AND s.user_id <> p_from_agent
           ORDER BY s.user_id > COALESCE(c.last_agent_user_id, 0) DESC, s.user_id LIMIT 1)
    INTO v_cursor, v_rule, v_next
    FROM lead_assignment_cursors c WHERE c.project_id = p_project FOR UPDATE;
  IF v_cursor = 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'lead_pick_agent: the project has no assignment cursor row';
  END IF;
  IF v_rule IS NOT NULL THEN
    UPDATE leads SET agent_user_id = v_rule, assigned_at = NOW(3) WHERE id = p_lead;
    SET o_agent = v_rule, o_method = 'channel_rule';
  ELSEIF v_next IS NOT NULL THEN
    UPDATE lead_assignment_cursors c JOIN leads l ON l.id = p_lead
       SET c.last_agent_user_id = v_next, l.agent_user_id = v_next, l.assigned_at = NOW(3)
     WHERE c.project_id = p_project;
    SET o_agent = v_next, o_method = 'round_robin';
  END IF;
END;

-- For a caller that reads rows, not OUT parameters (the gateway's
-- prepared statements): lead_pick_agent's answer as one row (agent,
-- method), inside the caller's transaction.
CREATE OR REPLACE PROCEDURE lead_pick_agent_row(IN p_lead BIGINT UNSIGNED, IN p_project BIGINT UNSIGNED,
                                                IN p_channel VARCHAR(16) CHARACTER SET utf8mb4,
                                                IN p_from_agent BIGINT UNSIGNED)
  MODIFIES SQL DATA SQL SECURITY INVOKER
  COMMENT 'lead_pick_agent answered as one row (agent, method)'
BEGIN
  DECLARE v_agent BIGINT UNSIGNED;
  DECLARE v_method VARCHAR(16);
  CALL lead_pick_agent(p_lead, p_project, p_channel, p_from_agent, v_agent, v_method);
  SELECT v_agent AS agent, v_method AS method;
END;

-- The intake of one submission (see miniprogram-api.md, POST /leads, and
-- handlers/leads/leads.c for what the gateway checks before the call).
--
-- Parameters: the submitter; the project; the form (name, phone, whether
-- this submission proved the phone is the submitter's, the channel or NULL
-- when the form names none, the interest, the note); the privacy notice
-- version consented to; the first-contact time in seconds; the daily cap;
-- the two event payloads as the gateway builds them from the form (masked:
-- lead.assigned {customer_name, phone_masked}, referral.stage_changed
-- {referee_name, stage, stage_label, reason}), to which this procedure adds
-- only what the database decides: ids, the project's name, the lead's
-- channel and the time (JSON_SET).
--
-- Steps, in one transaction:
--   1. before it (autocommit, no lock kept): the project must exist and take
--      leads, else the answer is project_not_found and nothing is written;
--      a project's first lead creates the project's cursor row here, so no
--      transaction holds a lock on the missing row;
--   2. locks the submitter's user row, then counts their submissions of the
--      last 24 hours: at the cap the answer is rate_limited with
--      retry_after_s, and nothing is written. The lock makes the cap exact:
--      a second submission of the same submitter waits here until the
--      first commits, and then counts it. It serialises only one
--      submitter's submissions (the project's cursor would serialise every
--      lead of the project for the whole transaction, and still not a
--      submitter's leads to two projects);
--   3. locks the phone's open lead of the project, if any (unique key
--      (project_id, open_phone)), and reads the submitter's referral
--      binding;
--   4. decides the referral (the rules of domain/leads/referral_attribution.h:
--      verified phone only; an existing referral stays; no self-referral;
--      not an owner of the project nor a verified open lead already);
--   5. creates the lead with its 'new' stage row; or updates it when the
--      caller is its submitter or the phone's verified holder (who then
--      becomes its submitter and user); or, for anyone else, only counts
--      the submission. A lead whose referral locks now is of the channel
--      'referral' unless the form names one;
--   6. records the submission, and the referral with its
--      referral.stage_changed event to the referrer;
--   7. a lead without an agent gets one (lead_pick_agent: the cursor lock,
--      taken last), its lead_assignments row and the agent's lead.assigned
--      event;
--   8. commits, then answers.
-- Two first submissions of one phone both insert; the second waits for the
-- first's row and fails on the unique key; a deadlock ends the same way.
-- Either starts the transaction over (at most 3 attempts), and the next
-- attempt finds and locks the committed lead. Any other error rolls back
-- and is raised to the caller: nothing is half-written.
--
-- The answer, one row: outcome (created, updated, recorded,
-- project_not_found, rate_limited), retry_after_s (rate_limited), lead_id,
-- submission_id, agent_id (the lead's agent after the call; NULL: none
-- left), assign_method (round_robin or channel_rule when this call chose
-- the agent, else NULL), project_name, referral_status (none,
-- pending_verification, rejected, locked, existing), referral_reason
-- (SELF_REFERRAL or ALREADY_CUSTOMER when rejected), referral_id,
-- protection_expires_at (unix seconds).
CREATE OR REPLACE PROCEDURE lead_intake(IN p_user BIGINT UNSIGNED, IN p_project BIGINT UNSIGNED,
                                        IN p_name VARCHAR(64) CHARACTER SET utf8mb4,
                                        IN p_phone VARCHAR(32) CHARACTER SET utf8mb4, IN p_verified TINYINT,
                                        IN p_channel VARCHAR(16) CHARACTER SET utf8mb4,
                                        IN p_layout VARCHAR(32) CHARACTER SET utf8mb4,
                                        IN p_area VARCHAR(32) CHARACTER SET utf8mb4,
                                        IN p_budget VARCHAR(32) CHARACTER SET utf8mb4,
                                        IN p_note VARCHAR(500) CHARACTER SET utf8mb4,
                                        IN p_notice_version VARCHAR(32) CHARACTER SET utf8mb4,
                                        IN p_first_contact_s INT, IN p_cap INT,
                                        IN p_assigned_payload TEXT CHARACTER SET utf8mb4,
                                        IN p_referral_payload TEXT CHARACTER SET utf8mb4)
  MODIFIES SQL DATA SQL SECURITY INVOKER
  COMMENT 'POST /api/v1/leads: the whole intake in one transaction; answers one row'
intake: BEGIN
  DECLARE v_attempt INT DEFAULT 0;
  DECLARE v_again TINYINT DEFAULT 0;
  DECLARE v_found TINYINT DEFAULT 0;
  DECLARE v_project_name VARCHAR(100) CHARACTER SET utf8mb4;
  DECLARE v_outcome VARCHAR(24);
  DECLARE v_retry_after INT;
  DECLARE v_user BIGINT UNSIGNED;
  DECLARE v_lead BIGINT UNSIGNED;
  DECLARE v_submitted_by BIGINT UNSIGNED;
  DECLARE v_was_verified TINYINT;
  DECLARE v_agent BIGINT UNSIGNED;
  DECLARE v_channel VARCHAR(16) CHARACTER SET utf8mb4;
  DECLARE v_method VARCHAR(16);
  DECLARE v_submission BIGINT UNSIGNED;
  DECLARE v_binding BIGINT UNSIGNED;
  DECLARE v_referrer BIGINT UNSIGNED;
  DECLARE v_referrer_phone VARCHAR(32) CHARACTER SET utf8mb4;
  DECLARE v_binding_expires BIGINT;
  DECLARE v_ref_status VARCHAR(24);
  DECLARE v_ref_reason VARCHAR(32);
  DECLARE v_ref_id BIGINT UNSIGNED;
  DECLARE v_ref_expires BIGINT;
  DECLARE CONTINUE HANDLER FOR NOT FOUND SET v_found = 0;
  -- Whatever fails, the transaction ends here, before the error reaches the
  -- caller: a failed CALL leaves no open transaction and no written row.
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    ROLLBACK;
    RESIGNAL;
  END;

  SET v_project_name = (SELECT name FROM projects WHERE id = p_project AND open_for_leads = 1);
  IF v_project_name IS NULL THEN
    SET v_outcome = 'project_not_found';
  ELSE
    IF NOT EXISTS (SELECT 1 FROM lead_assignment_cursors WHERE project_id = p_project) THEN
      -- ON DUPLICATE KEY: a concurrent first lead may have created it.
      INSERT INTO lead_assignment_cursors (project_id) VALUES (p_project)
        ON DUPLICATE KEY UPDATE project_id = project_id;
    END IF;
    attempts: LOOP
      SET v_attempt = v_attempt + 1, v_again = 0;
      attempt: BEGIN
        -- A unique-key error or a deadlock against a concurrent submission:
        -- start over; the third is raised (the outer handler).
        DECLARE EXIT HANDLER FOR 1062, 1213
        BEGIN
          ROLLBACK;
          IF v_attempt >= 3 THEN
            RESIGNAL;
          END IF;
          SET v_again = 1;
        END;
        SET v_user = NULL, v_lead = NULL, v_submitted_by = 0, v_was_verified = 0, v_agent = 0, v_channel = NULL,
            v_method = NULL, v_submission = NULL, v_binding = NULL, v_referrer = NULL, v_referrer_phone = NULL,
            v_binding_expires = NULL, v_ref_status = 'none', v_ref_reason = NULL, v_ref_id = NULL,
            v_ref_expires = NULL, v_retry_after = NULL;
        START TRANSACTION;
        SET v_found = 1;
        SELECT id INTO v_user FROM users WHERE id = p_user FOR UPDATE;
        IF v_found = 0 THEN
          SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'lead_intake: the submitter has no user row';
        END IF;
        CALL lead_submitter_cap(p_user, p_cap, v_retry_after);
        IF v_retry_after IS NOT NULL THEN
          ROLLBACK;
          SET v_outcome = 'rate_limited';
          LEAVE attempt;
        END IF;

        SET v_found = 1;
        SELECT id, COALESCE(submitted_by_user_id, 0), phone_verified, COALESCE(agent_user_id, 0), channel
          INTO v_lead, v_submitted_by, v_was_verified, v_agent, v_channel
          FROM leads WHERE project_id = p_project AND open_phone = p_phone COLLATE utf8mb4_unicode_ci FOR UPDATE;
        IF v_found = 0 THEN
          SET v_lead = NULL;
        END IF;
        SELECT rb.id, rb.referrer_user_id, UNIX_TIMESTAMP(rb.expires_at), ru.phone
          INTO v_binding, v_referrer, v_binding_expires, v_referrer_phone
          FROM referral_bindings rb JOIN users ru ON ru.id = rb.referrer_user_id
         WHERE rb.active_referee = p_user AND rb.expires_at > NOW(3);

        -- The referral: an unverified submission learns nothing about the
        -- lead it goes to (its answer depends only on its own binding).
        IF NOT p_verified THEN
          IF v_binding IS NOT NULL THEN
            SET v_ref_status = 'pending_verification';
          END IF;
        ELSE
          IF v_lead IS NOT NULL THEN
            SET v_found = 1;
            SELECT id, UNIX_TIMESTAMP(protection_expires_at) INTO v_ref_id, v_ref_expires
              FROM referrals WHERE lead_id = v_lead;
            IF v_found = 1 THEN
              SET v_ref_status = 'existing';
            END IF;
          END IF;
          IF v_ref_status = 'none' AND v_binding IS NOT NULL THEN
            IF v_referrer = p_user OR COALESCE(v_referrer_phone = p_phone, 0) THEN
              SET v_ref_status = 'rejected', v_ref_reason = 'SELF_REFERRAL';
            ELSEIF v_lead IS NOT NULL AND v_was_verified THEN
              -- the holder had left this lead before: a prospect already
              SET v_ref_status = 'rejected', v_ref_reason = 'ALREADY_CUSTOMER';
            ELSEIF EXISTS (SELECT 1 FROM owners o JOIN units un ON un.id = o.unit_id
                             JOIN buildings b ON b.id = un.building_id
                            WHERE b.project_id = p_project AND o.phone = p_phone COLLATE utf8mb4_unicode_ci) THEN
              SET v_ref_status = 'rejected', v_ref_reason = 'ALREADY_CUSTOMER';
            ELSE
              SET v_ref_status = 'locking';
            END IF;
          END IF;
        END IF;

        IF v_lead IS NULL THEN
          SET v_outcome = 'created',
              v_channel = COALESCE(p_channel, IF(v_ref_status = 'locking', 'referral', 'organic'));
          -- user_id: the submitter when verified, else the phone's holder
          INSERT INTO leads (project_id, name, phone, phone_verified, user_id, submitted_by_user_id, channel,
                             interest_layout, interest_area, interest_budget, note, consent_at,
                             privacy_notice_version, first_contact_due_at)
          VALUES (p_project, p_name, p_phone, p_verified,
                  IF(p_verified, p_user, (SELECT id FROM users WHERE phone = p_phone COLLATE utf8mb4_unicode_ci
                                             AND disabled = 0 ORDER BY id LIMIT 1)),
                  p_user, v_channel, p_layout, p_area, p_budget, p_note, NOW(3), p_notice_version,
                  NOW(3) + INTERVAL p_first_contact_s SECOND);
          SET v_lead = LAST_INSERT_ID();
          INSERT INTO lead_stage_history (lead_id, from_stage, to_stage, actor_user_id)
            VALUES (v_lead, NULL, 'new', p_user);
        ELSEIF v_submitted_by <> p_user AND NOT p_verified THEN
          -- another user's submission never changes the lead's personal
          -- fields or consent
          SET v_outcome = 'recorded';
          UPDATE leads SET submissions = submissions + 1 WHERE id = v_lead;
        ELSE
          -- its submitter or the phone's verified holder (who becomes its
          -- user and submitter); agent and stage stay
          SET v_outcome = 'updated';
          IF v_ref_status = 'locking' AND p_channel IS NULL THEN
            SET v_channel = 'referral';
          END IF;
          UPDATE leads
             SET name = p_name, interest_layout = COALESCE(p_layout, interest_layout),
                 interest_area = COALESCE(p_area, interest_area),
                 interest_budget = COALESCE(p_budget, interest_budget), note = COALESCE(p_note, note),
                 consent_at = NOW(3), privacy_notice_version = p_notice_version, submissions = submissions + 1,
                 phone_verified = GREATEST(phone_verified, p_verified), channel = v_channel,
                 user_id = COALESCE(IF(p_verified, p_user, NULL), user_id,
                                    (SELECT u.id FROM users u WHERE u.phone = p_phone COLLATE utf8mb4_unicode_ci
                                        AND u.disabled = 0 ORDER BY u.id LIMIT 1)),
                 submitted_by_user_id = IF(p_verified, p_user, submitted_by_user_id)
           WHERE id = v_lead;
        END IF;

        INSERT INTO lead_submissions (lead_id, user_id, phone_verified, outcome)
          VALUES (v_lead, p_user, p_verified, v_outcome);
        SET v_submission = LAST_INSERT_ID();

        IF v_ref_status = 'locking' THEN
          INSERT INTO referrals (referrer_user_id, referee_user_id, project_id, lead_id, binding_id, stage,
                                 protection_expires_at)
            SELECT v_referrer, p_user, p_project, v_lead, id, 'new', expires_at
              FROM referral_bindings WHERE id = v_binding;
          SET v_ref_id = LAST_INSERT_ID(), v_ref_expires = v_binding_expires, v_ref_status = 'locked';
          INSERT INTO notification_events (kind, user_id, ref_type, ref_id, project_id, payload)
            VALUES ('referral.stage_changed', v_referrer, 'referral', v_ref_id, p_project,
                    JSON_SET(p_referral_payload, '$.referral_id', v_ref_id, '$.lead_id', v_lead,
                             '$.project_name', v_project_name, '$.changed_at', UNIX_TIMESTAMP()));
        END IF;

        IF v_agent = 0 THEN
          CALL lead_pick_agent(v_lead, p_project, v_channel, 0, v_agent, v_method);
          IF v_agent IS NOT NULL THEN
            INSERT INTO lead_assignments (lead_id, agent_user_id, method) VALUES (v_lead, v_agent, v_method);
            INSERT INTO notification_events (kind, user_id, ref_type, ref_id, project_id, payload)
              VALUES ('lead.assigned', v_agent, 'lead', v_lead, p_project,
                      JSON_SET(p_assigned_payload, '$.lead_id', v_lead, '$.project_id', p_project,
                               '$.project_name', v_project_name, '$.channel', v_channel,
                               '$.assigned_at', UNIX_TIMESTAMP()));
          END IF;
        END IF;
        COMMIT;
      END attempt;
      IF v_again = 0 THEN
        LEAVE attempts;
      END IF;
    END LOOP attempts;
  END IF;

  SELECT v_outcome AS outcome, v_retry_after AS retry_after_s, v_lead AS lead_id, v_submission AS submission_id,
         NULLIF(v_agent, 0) AS agent_id, v_method AS assign_method, v_project_name AS project_name,
         v_ref_status AS referral_status, v_ref_reason AS referral_reason, v_ref_id AS referral_id,
         v_ref_expires AS protection_expires_at;
END intake;
