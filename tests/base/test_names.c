/* test_names.c — the enum names every front end shares (src/base/names.c): each value's name
 * parses back to it, '-' stands for '_', and other text, NULL and out-of-range values are
 * refused or named "unknown". */
#include "test.h"

/* Every value of type from lo to hi: its name parses back to it. */
#define ROUND_TRIP(type, prefix, lo, hi)                                            \
    for (int v = (lo); v <= (hi); v++) {                                            \
        type back = (type)-1;                                                       \
        ASSERT_OK(mien_##prefix##_parse(mien_##prefix##_name((type)v), &back), NULL); \
        ASSERT_EQ_INT(back, v);                                                     \
    }

TEST(names_round_trip)
{
    ROUND_TRIP(mien_profile, profile, MIEN_PROFILE_FAST, MIEN_PROFILE_ACCURATE);
    ROUND_TRIP(mien_consent, consent, MIEN_CONSENT_REQUIRED, MIEN_CONSENT_NOT_NEEDED);
    ROUND_TRIP(mien_review_mode, review_mode, MIEN_REVIEW_ONE, MIEN_REVIEW_NONE);
    ROUND_TRIP(mien_review_decision, decision, MIEN_DECISION_CONFIRM, MIEN_DECISION_REJECT);
    ROUND_TRIP(mien_quality_class, quality_class, MIEN_QUALITY_LOW, MIEN_QUALITY_HIGH);
    ROUND_TRIP(mien_aggregate, aggregate, MIEN_AGGREGATE_DEFAULT, MIEN_AGGREGATE_TOP2);
    return 0;
}

/* The spellings the JSON answers carry, and the CLI's and Rekognition headers' '-' form. */
TEST(names_spellings)
{
    mien_consent c;
    mien_review_mode m;
    ASSERT_STR_EQ(mien_profile_name(MIEN_PROFILE_ACCURATE), "accurate");
    ASSERT_STR_EQ(mien_consent_name(MIEN_CONSENT_NOT_NEEDED), "not_needed");
    ASSERT_STR_EQ(mien_review_mode_name(MIEN_REVIEW_TWO_PERSON), "two_person");
    ASSERT_STR_EQ(mien_decision_name(MIEN_DECISION_REJECT), "reject");
    ASSERT_STR_EQ(mien_quality_class_name(MIEN_QUALITY_MEDIUM), "medium");
    ASSERT_OK(mien_consent_parse("not-needed", &c), NULL);
    ASSERT_EQ_INT(c, MIEN_CONSENT_NOT_NEEDED);
    ASSERT_OK(mien_review_mode_parse("two-person", &m), NULL);
    ASSERT_EQ_INT(m, MIEN_REVIEW_TWO_PERSON);
    return 0;
}

TEST(names_bad_input)
{
    mien_profile p = MIEN_PROFILE_ACCURATE;
    mien_review_mode m = MIEN_REVIEW_NONE;
    static const char *const bad[] = {"", "Fast", "FAST", "fast ", " fast", "fas", "fastest",
                                      "f-ast", "accurate\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ASSERT_STATUS(mien_profile_parse(bad[i], &p), MIEN_ERR_ARG, NULL);
    }
    ASSERT_EQ_INT(p, MIEN_PROFILE_ACCURATE); /* untouched on failure */
    ASSERT_STATUS(mien_profile_parse(NULL, &p), MIEN_ERR_ARG, NULL);
    ASSERT_STATUS(mien_profile_parse("fast", NULL), MIEN_ERR_ARG, NULL);
    ASSERT_STATUS(mien_review_mode_parse("two__person", &m), MIEN_ERR_ARG, NULL);
    ASSERT_STATUS(mien_review_mode_parse("two_person_", &m), MIEN_ERR_ARG, NULL);
    ASSERT_EQ_INT(m, MIEN_REVIEW_NONE);
    ASSERT_STR_EQ(mien_profile_name((mien_profile)7), "unknown");
    ASSERT_STR_EQ(mien_consent_name((mien_consent)-1), "unknown");
    ASSERT_STR_EQ(mien_review_mode_name((mien_review_mode)3), "unknown");
    ASSERT_STR_EQ(mien_decision_name((mien_review_decision)2), "unknown");
    ASSERT_STR_EQ(mien_quality_class_name((mien_quality_class)3), "unknown");
    return 0;
}
