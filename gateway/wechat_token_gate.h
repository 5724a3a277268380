/* wechat_token_gate.h: the database side of the WeChat client's force gate
 * (wx_force_gate_t in wechat_client.h), so that several gateway processes
 * sharing one stable access token force at most one refresh between them.
 *
 * The gate is the one row of wechat_token_refresh (schema/012), locked with
 * SELECT ... FOR UPDATE on a connection of its own. A process may force when
 * the token it saw rejected is not the one the last forced refresh retired
 * and that refresh is older than wechat_token_force_interval_s; it then
 * records the force and keeps the row locked until the new token has been
 * fetched, so a process that waits on the lock reads the record afterwards
 * and fetches the new token normally. A wait longer than the lock-wait limit
 * (about db_query_timeout_ms), or a database that cannot be reached, means
 * "do not force". */
#ifndef GW_WECHAT_TOKEN_GATE_H
#define GW_WECHAT_TOKEN_GATE_H

/* Installs the gate in the WeChat client (after wx_client_init; reads
 * gw_cfg). The connection is opened at the first rejected token. */
void wechat_token_gate_install(void);
/* Removes the gate and closes its connection; after the threads that call
 * WeChat have stopped. */
void wechat_token_gate_close(void);

#endif
