/* lead_rules.h: the pure rules of leads and referrals (no database, no I/O
 * except the random source), shared by the lead and referral handlers and
 * unit-tested in tests/unit/test_lead_rules.c. */
#ifndef GW_LEAD_RULES_H
#define GW_LEAD_RULES_H
#include <stddef.h>

/* The funnel new -> contacted -> visited(到访) -> subscribed(认购) ->
 * signed(签约), plus the closed stages lost and cancelled(退房). */
typedef enum {
    STAGE_INVALID = -1,
    STAGE_NEW = 0,
    STAGE_CONTACTED,
    STAGE_VISITED,
    STAGE_SUBSCRIBED,
    STAGE_SIGNED,
    STAGE_LOST,
    STAGE_CANCELLED,
} lead_stage_t;

/* The stages' names in lead_stage_t order, and the lead channels, each list
 * NULL-terminated (for query_enum_or_fail). */
extern const char *const LEAD_STAGE_NAMES[];
extern const char *const LEAD_CHANNEL_NAMES[];

lead_stage_t lead_stage_from_name(const char *name); /* STAGE_INVALID if unknown */
const char *lead_stage_name(lead_stage_t stage);
/* Short Chinese label for notifications (≤5 characters). */
const char *lead_stage_label(lead_stage_t stage);
/* Position in the funnel, 0 (new) .. 4 (signed); -1 for lost/cancelled. */
int lead_stage_rank(lead_stage_t stage);

typedef enum {
    TRANSITION_OK = 0,  /* a change */
    TRANSITION_SAME,    /* already there: nothing to do */
    TRANSITION_INVALID, /* not allowed from the current stage */
} lead_transition_t;

/* Forward moves may skip stages (a walk-in can be visited at once); lost is
 * possible before signing; cancelled only after signing; lost and cancelled
 * are final. */
lead_transition_t lead_stage_transition(lead_stage_t from, lead_stage_t to);
/* lost and cancelled need a written reason. */
int lead_stage_needs_reason(lead_stage_t to);

/* A mainland mobile number: 11 digits, starting with 1. */
int lead_phone_valid(const char *phone);
/* referral, poster, ad, walk_in, organic, other. */
int lead_channel_valid(const char *channel);

/* The first character (UTF-8 aware) followed by "*": 张伟 -> 张*, "" -> "*". */
void lead_mask_name(const char *name, char *out, size_t outsz);

/* Referral codes: REFERRAL_CODE_LEN characters from an alphabet without
 * look-alikes (no 0/O, 1/I/L), valid as a WeChat QR scene as they are. */
#define REFERRAL_CODE_LEN 8
/* Fills out (>= REFERRAL_CODE_LEN + 1 bytes) from a CSPRNG; -1 on failure. */
int referral_code_generate(char *out, size_t outsz);
/* Upper-cases in into out and checks the alphabet and length; 0 or -1. */
int referral_code_normalise(const char *in, char *out, size_t outsz);

/* "¥5000.00" for an amount in fen. */
void reward_amount_display(const char *kind, long long amount, char *out, size_t outsz);

#endif
