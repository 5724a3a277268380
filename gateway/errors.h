/* errors.h: the gateway's single error enumeration and its HTTP mapping. */
#ifndef GW_ERRORS_H
#define GW_ERRORS_H

typedef enum {
    ERR_NONE = 0,
#define X(name, status, code, msg) name,
#include "errors.def"
#undef X
    ERR__COUNT
} err_code_t;

typedef struct {
    int status;          /* HTTP status */
    const char *code;    /* UPPER_SNAKE wire code */
    const char *message; /* default human message */
} err_info_t;

const err_info_t *err_info(err_code_t err);

#endif
