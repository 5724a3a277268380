#include "errors.h"

static const err_info_t table[ERR__COUNT] = {
    [ERR_NONE] = {200, "OK", "ok"},
#define X(name, status, code, msg) [name] = {status, code, msg},
#include "errors.def"
#undef X
};

const err_info_t *err_info(err_code_t err)
{
    if ((int)err < 0 || err >= ERR__COUNT)
        err = ERR_INTERNAL;
    return &table[err];
}
