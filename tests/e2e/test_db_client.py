"""The database client against the real MariaDB: checks that need a server
but no gateway, compiled from tests/db/ next to the gateway binary."""
import os
import subprocess

import pymysql

from conftest import GATEWAY_BIN


def db_check(name):
    return os.path.join(os.path.dirname(os.path.dirname(GATEWAY_BIN)), "tests", "db", name)


def test_a_result_broken_off_by_an_error_leaves_the_connection_usable(stack, db):
    out = subprocess.run([db_check("db_error_recovery"), stack.db.socket, "root"],
                         capture_output=True, text=True, timeout=60)
    lines = out.stdout.splitlines()
    assert out.returncode == 0, out.stdout + out.stderr
    assert lines == ["ok: the broken-off result fails with 1242",
                     "ok: the same statement then runs on the same connection",
                     "ok: and so does another statement",
                     "ok: db_exec reports the error of a result that broke off",
                     "ok: and runs the statement again"] * 2, out.stdout
    assert db.scalar("SELECT 1") == 1


def test_rows_are_read_and_rendered_by_column_name(stack, db):
    out = subprocess.run([db_check("db_named_rows"), stack.db.socket, "root"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.splitlines() == [
        "ok: the query runs",
        "ok: cells are read by their alias",
        "ok: an unknown name reads as NULL",
        "ok: NULL and lengths by name",
        "ok: rows render as JSON shaped by the SELECT",
        "ok: a TINYINT(1) column is a boolean, a NULL text null",
    ], out.stdout


def test_a_call_reads_every_result_and_reports_a_late_error(stack):
    root = pymysql.connect(unix_socket=stack.db.socket, user="root", password="", autocommit=True)
    try:
        with root.cursor() as c:
            c.execute("CREATE DATABASE IF NOT EXISTS db_check")
            c.execute("CREATE OR REPLACE PROCEDURE db_check.rows_then_fail(IN fail INT) BEGIN SELECT 1 AS a;"
                      " IF fail THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'after the rows'; END IF; END")
        out = subprocess.run([db_check("db_call"), stack.db.socket, "root"], capture_output=True, text=True,
                             timeout=60)
    finally:
        with root.cursor() as c:
            c.execute("DROP DATABASE IF EXISTS db_check")
        root.close()
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.splitlines() == ["ok: a CALL answers its first result set",
                                       "ok: the next statement runs on the same connection",
                                       "ok: an error after the procedure's rows is an error",
                                       "ok: db_exec reports it too",
                                       "ok: and the connection goes on"] * 2, out.stdout


def test_db_steps_commit_or_answer_500_and_roll_back(stack, db):
    out = subprocess.run([db_check("call_db_steps"), stack.db.socket, "root"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.splitlines() == [
        "ok: a typed step gets the connection and commits",
        "ok: a success with the transaction open is a 500 and nothing is saved",
        "ok: a failure keeps its answer and its transaction is rolled back",
        "ok: a next step named with the transaction open is a 500 too",
        "ok: the DB fallback of a WeChat step gets the connection and commits",
    ], out.stdout
    assert "BUG: a step of POST - returned with a transaction open" in out.stderr
