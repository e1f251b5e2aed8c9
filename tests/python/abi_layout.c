/* abi_layout.c — prints what the C compiler makes of the structs that the Python binding
 * mirrors (python/mien/_abi.py): "STRUCT sizeof" and "STRUCT.FIELD offsetof" lines, and the
 * status numbers as "status NAME NUMBER". tests/python/test_mien.py compares them with
 * ctypes, so a header change that moves a field fails the suite instead of corrupting memory.
 * A struct or field added to the binding is added here too (the test fails on one it cannot
 * find). */
#include <stddef.h>
#include <stdio.h>

#include "mien.h"

#define S(type) printf(#type " %zu\n", sizeof(type))
#define F(type, field) printf(#type "." #field " %zu\n", offsetof(type, field))

static void engine_and_images(void)
{
    S(mien_error); F(mien_error, code); F(mien_error, message);
    S(mien_engine_options); F(mien_engine_options, models_dir); F(mien_engine_options, threads);
    F(mien_engine_options, precision); F(mien_engine_options, max_isa);
    F(mien_engine_options, profile); F(mien_engine_options, profile_ctx);
    S(mien_image_options); F(mien_image_options, max_bytes); F(mien_image_options, max_pixels);
    F(mien_image_options, min_side); F(mien_image_options, max_memory);
    S(mien_quality); F(mien_quality, interocular_px); F(mien_quality, sharpness);
    F(mien_quality, yaw); F(mien_quality, pitch); F(mien_quality, roll);
    F(mien_quality, detector_score); F(mien_quality, landmark_score); F(mien_quality, klass);
    S(mien_face); F(mien_face, box); F(mien_face, score); F(mien_face, landmarks);
    F(mien_face, quality);
    S(mien_detect_options); F(mien_detect_options, min_score);
    F(mien_detect_options, small_faces); F(mien_detect_options, max_faces);
    S(mien_face_pick); F(mien_face_pick, faces); F(mien_face_pick, count);
    F(mien_face_pick, index);
}

static void stores(void)
{
    S(mien_store_options); F(mien_store_options, key_file); F(mien_store_options, create_key);
    F(mien_store_options, now); F(mien_store_options, audit_head);
    F(mien_store_options, must_exist);
    S(mien_context); F(mien_context, actor); F(mien_context, purpose);
    F(mien_context, case_ref); F(mien_context, input_sha256);
    S(mien_collection_policy); F(mien_collection_policy, purposes);
    F(mien_collection_policy, legal_basis); F(mien_collection_policy, consent);
    F(mien_collection_policy, retention_s); F(mien_collection_policy, review);
    F(mien_collection_policy, verification_only); F(mien_collection_policy, max_fmr);
    F(mien_collection_policy, max_candidates);
    S(mien_collection_info); F(mien_collection_info, name); F(mien_collection_info, profile);
    F(mien_collection_info, model_a); F(mien_collection_info, model_b);
    F(mien_collection_info, description); F(mien_collection_info, created_at);
    F(mien_collection_info, subjects); F(mien_collection_info, faces);
    F(mien_collection_info, purposes); F(mien_collection_info, legal_basis);
    F(mien_collection_info, consent); F(mien_collection_info, retention_s);
    F(mien_collection_info, review); F(mien_collection_info, verification_only);
    F(mien_collection_info, max_fmr); F(mien_collection_info, max_candidates);
    S(mien_enrollment); F(mien_enrollment, subject); F(mien_enrollment, display_name);
    F(mien_enrollment, template_); F(mien_enrollment, quality);
    F(mien_enrollment, image_sha256); F(mien_enrollment, crop_rgb);
    F(mien_enrollment, consent_ref); F(mien_enrollment, expires_at);
    S(mien_subject_info); F(mien_subject_info, subject); F(mien_subject_info, display_name);
    F(mien_subject_info, faces); F(mien_subject_info, created_at);
    F(mien_subject_info, consent_ref); F(mien_subject_info, expires_at);
    S(mien_erasure); F(mien_erasure, faces_deleted); F(mien_erasure, crops_deleted);
    F(mien_erasure, subject_hash); F(mien_erasure, erased_at); F(mien_erasure, audit_seq);
    F(mien_erasure, audit_hash); F(mien_erasure, reviews_deleted);
}

static void searches(void)
{
    S(mien_search_options); F(mien_search_options, top_k); F(mien_search_options, max_fmr);
    F(mien_search_options, mode); F(mien_search_options, clamp);
    F(mien_search_options, aggregate);
    S(mien_face_match); F(mien_face_match, face_id); F(mien_face_match, similarity);
    S(mien_candidate); F(mien_candidate, subject); F(mien_candidate, similarity);
    F(mien_candidate, fmr); F(mien_candidate, face_id); F(mien_candidate, faces);
    F(mien_candidate, n_faces);
    S(mien_search_result); F(mien_search_result, candidates); F(mien_search_result, count);
    F(mien_search_result, review_id); F(mien_search_result, reviews_required);
    F(mien_search_result, audit_seq); F(mien_search_result, top_k);
    F(mien_search_result, max_fmr); F(mien_search_result, capped);
    S(mien_verification); F(mien_verification, similarity); F(mien_verification, fmr);
    F(mien_verification, accepted); F(mien_verification, audit_seq);
    F(mien_verification, n_faces);
    S(mien_audit_report); F(mien_audit_report, ok); F(mien_audit_report, entries);
    F(mien_audit_report, first_bad); F(mien_audit_report, head_seq);
    F(mien_audit_report, problem); F(mien_audit_report, public_key);
}

int main(void)
{
    engine_and_images();
    stores();
    searches();
#define STATUS_LINE(name, num, msg) printf("status " #name " %d\n", MIEN_##name);
    MIEN_STATUS_MAP(STATUS_LINE)
#undef STATUS_LINE
    printf("const FACE_PROMINENT %d\nconst FACE_LARGEST %d\n", MIEN_FACE_PROMINENT,
           MIEN_FACE_LARGEST);
    printf("refusal no_face %d\nrefusal several_faces %d\nrefusal low_quality %d\n",
           MIEN_REFUSAL_NO_FACE, MIEN_REFUSAL_SEVERAL_FACES, MIEN_REFUSAL_LOW_QUALITY);
    printf("search_mode auto %d\nsearch_mode exact %d\nsearch_mode approximate %d\n",
           MIEN_SEARCH_AUTO, MIEN_SEARCH_EXACT, MIEN_SEARCH_APPROXIMATE);
    return 0;
}
