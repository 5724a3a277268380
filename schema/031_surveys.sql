-- 031: owner surveys (问卷) by owner phase, their recipients and answers.
-- New tables only, so an older gateway runs beside them untouched.
--
--   surveys: a questionnaire of one project, aimed at an owner phase (all,
--       prospective 准业主, run_in 磨合期, stable 稳定期, veteran 老业主).
--       draft -> sending -> open -> closed. A draft's questions may change;
--       from the first send on they are frozen. The sample (a percentage or
--       a count) and its seed are stored at the first send, so a send that
--       stopped part-way resumes with the same recipients.
--   survey_questions: its questions in order; the dimension is one of the
--       fixed list in domain/surveys/survey_model.c; options only for
--       single-choice questions (a JSON array of strings).
--   survey_recipients: one row per owner the survey chose, unique: 'sent'
--       (the owner was asked; an invitation went through the outbox) or
--       'skipped' with the reason (asked too recently: the contact limit
--       of schema/026). answered_at is set once, by the answer.
--   survey_answers: one row per answered question of a response.
CREATE TABLE surveys (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  project_id     BIGINT UNSIGNED NOT NULL,
  title          VARCHAR(60) NOT NULL,
  intro          VARCHAR(500) NULL,
  phase          ENUM('all','prospective','run_in','stable','veteran') NOT NULL DEFAULT 'all',
  state          ENUM('draft','sending','open','closed') NOT NULL DEFAULT 'draft',
  sample_percent TINYINT UNSIGNED NULL COMMENT '1-100; NULL with sample_count NULL: everyone',
  sample_count   INT UNSIGNED NULL,
  sample_seed    BIGINT UNSIGNED NULL,
  deadline_at    DATETIME(3) NULL COMMENT 'answers are refused from this time on; set at the first send',
  created_by     BIGINT UNSIGNED NOT NULL,
  created_at     DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at     DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  sent_by        BIGINT UNSIGNED NULL,
  sent_at        DATETIME(3) NULL,
  closed_at      DATETIME(3) NULL,
  KEY ix_surveys_project (project_id, id),
  KEY ix_surveys_sent (sent_at),
  CONSTRAINT fk_surveys_project FOREIGN KEY (project_id) REFERENCES projects (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE survey_questions (
  id        BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  survey_id BIGINT UNSIGNED NOT NULL,
  position  SMALLINT UNSIGNED NOT NULL COMMENT '1, 2, ... in the order shown',
  dimension VARCHAR(24) NOT NULL,
  kind      ENUM('scale','nps','choice','text') NOT NULL,
  required  TINYINT(1) NOT NULL DEFAULT 1,
  text      VARCHAR(200) NOT NULL,
  options   JSON NULL,
  UNIQUE KEY uq_survey_questions (survey_id, position),
  CONSTRAINT fk_survey_questions_survey FOREIGN KEY (survey_id) REFERENCES surveys (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE survey_recipients (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  survey_id   BIGINT UNSIGNED NOT NULL,
  user_id     BIGINT UNSIGNED NOT NULL,
  status      ENUM('sent','skipped') NOT NULL,
  skip_reason VARCHAR(32) NULL COMMENT 'contacted_recently',
  phase       VARCHAR(16) NOT NULL COMMENT 'the owner''s phase when chosen',
  created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  answered_at DATETIME(3) NULL,
  UNIQUE KEY uq_survey_recipients (survey_id, user_id),
  KEY ix_survey_recipients_user (user_id, status, survey_id),
  CONSTRAINT fk_survey_recipients_survey FOREIGN KEY (survey_id) REFERENCES surveys (id),
  CONSTRAINT fk_survey_recipients_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE survey_answers (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  survey_id    BIGINT UNSIGNED NOT NULL,
  question_id  BIGINT UNSIGNED NOT NULL,
  recipient_id BIGINT UNSIGNED NOT NULL,
  value_int    SMALLINT NULL COMMENT 'scale 1-5, nps 0-10, choice: the option''s index from 0',
  value_text   VARCHAR(2000) NULL COMMENT 'free text',
  created_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_survey_answers (recipient_id, question_id),
  KEY ix_survey_answers_question (question_id, id),
  KEY ix_survey_answers_survey (survey_id, created_at),
  CONSTRAINT fk_survey_answers_question FOREIGN KEY (question_id) REFERENCES survey_questions (id),
  CONSTRAINT fk_survey_answers_recipient FOREIGN KEY (recipient_id) REFERENCES survey_recipients (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
