/* names.c — the text names of mien's public enums, and their parsers: one table per enum,
 * read both ways, so that the CLI, the HTTP API, the Rekognition-compatible API and the
 * store's JSON all spell a profile, a consent rule, a review mode, a review decision, a
 * quality class and an aggregation rule the same way (before, each front end kept its own copy).
 *
 * The canonical spelling is lower case with '_' (what JSON answers carry). Parsers also
 * take '-' for '_' ("two-person", "not-needed": the CLI's option spelling and the
 * Rekognition headers'), and nothing else: no case folding, no prefixes.
 * @test base/test_names.c */
#include <stddef.h>
#include <string.h>

#include "mien.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const PROFILE_NAMES[] = {[MIEN_PROFILE_FAST] = "fast",
                                            [MIEN_PROFILE_ACCURATE] = "accurate"};
static const char *const CONSENT_NAMES[] = {[MIEN_CONSENT_REQUIRED] = "required",
                                            [MIEN_CONSENT_NOT_NEEDED] = "not_needed"};
static const char *const REVIEW_NAMES[] = {[MIEN_REVIEW_ONE] = "one",
                                           [MIEN_REVIEW_TWO_PERSON] = "two_person",
                                           [MIEN_REVIEW_NONE] = "none"};
static const char *const DECISION_NAMES[] = {[MIEN_DECISION_CONFIRM] = "confirm",
                                             [MIEN_DECISION_REJECT] = "reject"};
static const char *const QUALITY_NAMES[] = {[MIEN_QUALITY_LOW] = "low",
                                            [MIEN_QUALITY_MEDIUM] = "medium",
                                            [MIEN_QUALITY_HIGH] = "high"};
static const char *const GROUP_METHOD_NAMES[] = {
    [MIEN_GROUP_AUTO] = "auto", [MIEN_GROUP_CHINESE_WHISPERS] = "chinese_whispers",
    [MIEN_GROUP_COMPONENTS] = "components"};
static const char *const AGGREGATE_NAMES[] = {[MIEN_AGGREGATE_DEFAULT] = "default",
                                              [MIEN_AGGREGATE_BEST] = "best",
                                              [MIEN_AGGREGATE_MEAN] = "mean",
                                              [MIEN_AGGREGATE_QUALITY] = "quality",
                                              [MIEN_AGGREGATE_TOP2] = "top2"};

/* names[v], or "unknown" for a value outside the table (a cast integer). */
static const char *name_of(const char *const *names, size_t n, int v)
{
    return v >= 0 && (size_t)v < n ? names[v] : "unknown";
}

/* Whether text spells name, '-' standing for '_'. */
static bool same_name(const char *text, const char *name)
{
    for (; *text != '\0' && *name != '\0'; text++, name++) {
        if (*text != *name && !(*text == '-' && *name == '_')) {
            return false;
        }
    }
    return *text == '\0' && *name == '\0';
}

/* The index of text in names[n] into *out; MIEN_ERR_ARG (and *out untouched) for other text
 * or NULL. */
static mien_status index_of(const char *const *names, size_t n, const char *text, int *out)
{
    for (size_t i = 0; text != NULL && i < n; i++) {
        if (same_name(text, names[i])) {
            *out = (int)i;
            return MIEN_OK;
        }
    }
    return MIEN_ERR_ARG;
}

/* One name and one parse function per enum, from its table. */
#define NAMES_GEN(fn, type, table)                                          \
    const char *mien_##fn##_name(type v)                                    \
    {                                                                       \
        return name_of(table, COUNT(table), (int)v);                        \
    }                                                                       \
    mien_status mien_##fn##_parse(const char *text, type *out)              \
    {                                                                       \
        int v = 0;                                                          \
        mien_status st = out != NULL ? index_of(table, COUNT(table), text, &v) \
                                     : MIEN_ERR_ARG;                        \
        if (st == MIEN_OK) {                                                \
            *out = (type)v;                                                 \
        }                                                                   \
        return st;                                                          \
    }

NAMES_GEN(profile, mien_profile, PROFILE_NAMES)
NAMES_GEN(consent, mien_consent, CONSENT_NAMES)
NAMES_GEN(review_mode, mien_review_mode, REVIEW_NAMES)
NAMES_GEN(decision, mien_review_decision, DECISION_NAMES)
NAMES_GEN(aggregate, mien_aggregate, AGGREGATE_NAMES)
NAMES_GEN(quality_class, mien_quality_class, QUALITY_NAMES)
NAMES_GEN(group_method, mien_group_method, GROUP_METHOD_NAMES)
