/* support.c: the set-up shared by the fuzz drivers (see fuzz.h). */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../gateway/config.h"
#include "../../gateway/log.h"
#include "../../handlers/handlers.h"

static gw_config_t cfg;
static char media_dir[] = "/tmp/gw-fuzz-media-XXXXXX";
static int media_dir_made;

static void remove_media_dir(void)
{
    /* The store creates only its root until something is written. */
    if (media_dir_made)
        rmdir(media_dir);
}

void fuzz_quiet_logs(void)
{
    log_set_level(LOG_ERROR);
}

char *fuzz_strndup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

void fuzz_gateway_init(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    fuzz_quiet_logs();
    if (!mkdtemp(media_dir)) {
        perror("fuzz: mkdtemp");
        exit(2);
    }
    media_dir_made = 1;
    atexit(remove_media_dir);
    static const char *const env[][2] = {
        {"GATEWAY_HTTPS_PORT", "0"},
        {"GATEWAY_HTTP_PORT", "1"}, /* never bound: nothing here serves */
        {"GATEWAY_LOG_LEVEL", "error"},
        {"GATEWAY_WECHAT_APPID", FUZZ_APPID},
        {"GATEWAY_WECHAT_SECRET", "fuzz-wechat-secret"},
        {"GATEWAY_SESSION_KEYS", FUZZ_SESSION_KEYS},
        {"GATEWAY_MEDIA_URL_KEY", FUZZ_MEDIA_URL_KEY},
        {"GATEWAY_WECHAT_PUSH_TOKEN", FUZZ_PUSH_TOKEN},
        {"GATEWAY_SCHEMA_DIR", "schema"},
        {"GATEWAY_NOTIFICATION_TEMPLATES_FILE", "config/notification-templates.json"},
    };
    for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++)
        setenv(env[i][0], env[i][1], 1);
    setenv("GATEWAY_MEDIA_DIR", media_dir, 1);
    if (config_load(NULL, &cfg) != 0) {
        fprintf(stderr, "fuzz: the configuration does not load (run from the repository root)\n");
        exit(2);
    }
    gw_cfg = &cfg;
    handlers_register_all();
}
