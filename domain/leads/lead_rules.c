/* lead_rules.c: see lead_rules.h. */
#include "domain/leads/lead_rules.h"

#include <ctype.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

const char *const LEAD_STAGE_NAMES[] = {"new",    "contacted", "visited",   "subscribed",
                                        "signed", "lost",      "cancelled", NULL};
const char *const LEAD_CHANNEL_NAMES[] = {"referral", "poster", "ad", "walk_in", "organic", "other", NULL};
static const char *const stage_labels[] = {"新线索", "已联系", "已到访", "已认购", "已签约", "已流失", "已退房"};
#define NSTAGES (sizeof(stage_labels) / sizeof(stage_labels[0]))

lead_stage_t lead_stage_from_name(const char *name)
{
    for (size_t i = 0; name && i < NSTAGES; i++)
        if (!strcmp(name, LEAD_STAGE_NAMES[i]))
            return (lead_stage_t)i;
    return STAGE_INVALID;
}

const char *lead_stage_name(lead_stage_t stage)
{
    return stage >= 0 && (size_t)stage < NSTAGES ? LEAD_STAGE_NAMES[stage] : "invalid";
}

const char *lead_stage_label(lead_stage_t stage)
{
    return stage >= 0 && (size_t)stage < NSTAGES ? stage_labels[stage] : "";
}

int lead_stage_rank(lead_stage_t stage)
{
    return stage >= STAGE_NEW && stage <= STAGE_SIGNED ? (int)stage : -1;
}

lead_transition_t lead_stage_transition(lead_stage_t from, lead_stage_t to)
{
    if (from == STAGE_INVALID || to == STAGE_INVALID)
        return TRANSITION_INVALID;
    if (from == to)
        return TRANSITION_SAME;
    if (from == STAGE_LOST || from == STAGE_CANCELLED)
        return TRANSITION_INVALID;
    if (to == STAGE_LOST)
        return from == STAGE_SIGNED ? TRANSITION_INVALID : TRANSITION_OK;
    if (to == STAGE_CANCELLED)
        return from == STAGE_SIGNED ? TRANSITION_OK : TRANSITION_INVALID;
    return lead_stage_rank(to) > lead_stage_rank(from) ? TRANSITION_OK : TRANSITION_INVALID;
}

int lead_stage_needs_reason(lead_stage_t to)
{
    return to == STAGE_LOST || to == STAGE_CANCELLED;
}

int lead_phone_valid(const char *phone)
{
    if (!phone || strlen(phone) != 11 || phone[0] != '1')
        return 0;
    for (int i = 0; i < 11; i++)
        if (!isdigit((unsigned char)phone[i]))
            return 0;
    return 1;
}

int lead_channel_valid(const char *channel)
{
    for (size_t i = 0; channel && LEAD_CHANNEL_NAMES[i]; i++)
        if (!strcmp(channel, LEAD_CHANNEL_NAMES[i]))
            return 1;
    return 0;
}

void lead_mask_name(const char *name, char *out, size_t outsz)
{
    if (!out || outsz == 0)
        return;
    size_t first = 0;
    if (name && *name) {
        unsigned char b = (unsigned char)name[0];
        first = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 1;
        if (strnlen(name, first) < first)
            first = 0; /* a cut character: show nothing of it */
    }
    if (first + 2 > outsz)
        first = 0;
    snprintf(out, outsz, "%.*s*", (int)first, name ? name : "");
}

static const char code_alphabet[] = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";

int referral_code_generate(char *out, size_t outsz)
{
    unsigned char rnd[REFERRAL_CODE_LEN];
    if (outsz < REFERRAL_CODE_LEN + 1 || RAND_bytes(rnd, sizeof(rnd)) != 1)
        return -1;
    /* 31 symbols: the modulo bias (256 % 31 = 8) is irrelevant for codes
     * that are unique-checked, not secret. */
    for (int i = 0; i < REFERRAL_CODE_LEN; i++)
        out[i] = code_alphabet[rnd[i] % (sizeof(code_alphabet) - 1)];
    out[REFERRAL_CODE_LEN] = '\0';
    return 0;
}

int referral_code_normalise(const char *in, char *out, size_t outsz)
{
    if (!in || strlen(in) != REFERRAL_CODE_LEN || outsz < REFERRAL_CODE_LEN + 1)
        return -1;
    for (int i = 0; i < REFERRAL_CODE_LEN; i++) {
        char ch = (char)toupper((unsigned char)in[i]);
        if (ch == '\0' || !strchr(code_alphabet, ch))
            return -1;
        out[i] = ch;
    }
    out[REFERRAL_CODE_LEN] = '\0';
    return 0;
}

void reward_amount_display(const char *kind, long long amount, char *out, size_t outsz)
{
    if (kind && !strcmp(kind, "cash"))
        snprintf(out, outsz, "¥%lld.%02lld", amount / 100, amount % 100);
    else
        snprintf(out, outsz, "%lld积分", amount);
}
