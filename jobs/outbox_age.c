/* outbox_age.c: how late the notification outbox is, for /metrics.
 *
 * The dispatcher's counters say what was sent, not what is still waiting.
 * An outbox that falls behind (WeChat down, the token quota used up, a
 * dispatcher that stalls) shows first as the age of its oldest unfinished
 * event, so this job reads, per unfinished status, the oldest event and the
 * count, and publishes them as gauges. The oldest is the first entry of
 * the (status, created_at) index; the count walks only the unfinished rows,
 * which stay few while the outbox keeps up. Every process reads the same
 * database: the gauges agree, and an alert takes their max(). */
#include "gateway/background.h"
#include "gateway/config.h"
#include "gateway/log.h"
#include "gateway/metrics.h"
#include "handlers/handlers.h"

static const char *const STATUSES[] = {"pending", "retrying", "sending"};

static const char *SQL_OLDEST = "SELECT GREATEST(0, TIMESTAMPDIFF(SECOND, created_at, NOW(3))) AS age_s"
                                " FROM notification_events WHERE status = ? ORDER BY created_at LIMIT 1";
static const char *SQL_COUNT = "SELECT COUNT(*) AS n FROM notification_events WHERE status = ?";

static void measure(db_conn_t *db)
{
    for (int k = 0; k < (int)(sizeof STATUSES / sizeof STATUSES[0]); k++) {
        long long n = 0;
        db_rows_t *r = db_query(db, SQL_OLDEST, DB_ARGS(DB_STR(STATUSES[k])));
        if (!r || db_query_int(db, &n, SQL_COUNT, DB_ARGS(DB_STR(STATUSES[k]))) < 0) {
            log_warn("notify", "outbox age: %s", db_error(db));
            db_rows_free(r);
            return; /* the gauges keep their last values */
        }
        metrics_outbox_set(STATUSES[k], r->nrows ? db_get_int(r, 0, "age_s") : 0, n);
        db_rows_free(r);
    }
}

void outbox_age_register(void)
{
    background_register("outbox-age", gw_cfg->notification_outbox_age_interval_ms, measure);
}
