/* test_list.h — every test of the runner, by name. Each section belongs to one file
 * (or group of files); add a line in your section: XX(name) runs test_name(). */
#define TEST_LIST(XX)                                                                  \
    /* base */                                                                         \
    XX(error_strings)                                                                  \
    XX(error_http_status)                                                              \
    /* base: ISA levels and the cap (tests/base/test_cpu.c) */                         \
    XX(cpu_isa_names)                                                                  \
    XX(cpu_isa_levels)                                                                 \
    XX(cpu_isa_dispatch_follows_cap)                                                   \
    XX(cpu_isa_set_cap_once)                                                           \
    /* base: enum names (tests/base/test_names.c) */                               \
    XX(names_round_trip)                                                           \
    XX(names_spellings)                                                            \
    XX(names_bad_input)                                                            \
    /* base: times and durations (tests/base/test_time.c) */                       \
    XX(time_parse_forms)                                                           \
    XX(time_parse_refused)                                                         \
    XX(time_format)                                                                \
    XX(time_duration_parse)                                                        \
    XX(time_now_ms_monotonic)                                                      \
    /* base: key file and crypto (tests/base/test_keyring.c) */                        \
    XX(keyring_create_file)                                                            \
    XX(keyring_load_round_trip)                                                        \
    XX(keyring_known_answers)                                                          \
    XX(keyring_seal_open)                                                              \
    XX(keyring_rotation)                                                               \
    XX(keyring_rotation_failure)                                                       \
    XX(keyring_file_mode)                                                              \
    XX(keyring_missing_file)                                                           \
    XX(keyring_malformed_files)                                                        \
    XX(keyring_sign_verify)                                                            \
    XX(keyring_subject_hash)                                                           \
    /* image (tests/image/test_decode.c, test_geometry.c) */                           \
    XX(image_decode_samples)                                                           \
    XX(image_decode_scaled)                                                            \
    XX(image_decode_png_formats)                                                       \
    XX(image_decode_png_bomb)                                                          \
    XX(image_decode_png_corrupt)                                                       \
    XX(image_decode_jpeg_colour)                                                       \
    XX(image_decode_exif_orientation)                                                  \
    XX(image_exif_bad_blocks)                                                          \
    XX(image_decode_truncated_jpeg)                                                    \
    XX(image_decode_progressive_memory)                                                \
    XX(image_decode_webp)                                                              \
    XX(image_decode_bad_input)                                                         \
    XX(image_load_errors)                                                              \
    XX(image_from_rgb_and_accessors)                                                   \
    XX(image_decode_damaged_files)                                                     \
    /* image: encoding (tests/image/test_encode.c) */                                  \
    XX(image_encode_round_trip)                                                        \
    XX(image_save_by_extension)                                                        \
    XX(image_resize_hand)                                                              \
    XX(image_resize_matches_oracle)                                                    \
    XX(image_crop_edges)                                                               \
    XX(image_warp_hand)                                                                \
    XX(image_warp_matches_oracle)                                                      \
    XX(image_geometry_fixture)                                                         \
    XX(image_geometry_isa_resize)                                                      \
    XX(image_geometry_isa_warp)                                                        \
    /* nn: graph and shapes (tests/nn/test_graph.c) */                                 \
    XX(graph_build_and_shapes)                                                         \
    /* nn: TFLite loader (tests/nn/test_tflite_load.c) */                              \
    XX(tflite_load_mobilefacenet)                                                      \
    XX(tflite_load_pnet)                                                               \
    XX(tflite_load_rnet_onet)                                                          \
    XX(tflite_load_rules)                                                              \
    XX(tflite_load_unsupported)                                                        \
    XX(tflite_load_bad_input)                                                          \
    XX(tflite_load_truncated)                                                          \
    XX(tflite_load_bitflip)                                                            \
    /* nn: ONNX loader (tests/nn/test_onnx_load.c) */                                  \
    XX(onnx_load_detector)                                                             \
    XX(onnx_load_feature)                                                              \
    XX(onnx_load_truncated)                                                            \
    XX(onnx_load_bitflip)                                                              \
    XX(onnx_load_unknown_op)                                                           \
    XX(onnx_load_empty)                                                                \
    XX(onnx_load_opset13)                                                              \
    XX(onnx_load_errors)                                                               \
    XX(nn_load_file_errors)                                                            \
    /* nn: reference executor and passes (tests/nn/test_ref_exec.c, test_passes.c) */  \
    XX(ref_conv_pad_stride)                                                            \
    XX(ref_depthwise_conv)                                                             \
    XX(ref_pool_same)                                                                  \
    XX(ref_softmax)                                                                    \
    XX(ref_broadcast_add)                                                              \
    XX(ref_slice_negative)                                                             \
    XX(ref_reshape_zero_minus_one)                                                     \
    XX(ref_gather_scalar)                                                              \
    XX(ref_concat_i64)                                                                 \
    XX(ref_misc_ops)                                                                   \
    XX(ref_run_graph)                                                                  \
    XX(ref_bad_shapes_no_crash)                                                        \
    XX(passes_patterns)                                                                \
    XX(passes_keep_shared)                                                             \
    XX(passes_identity_output)                                                         \
    XX(passes_model_detector)                                                          \
    XX(passes_model_feature)                                                           \
    XX(passes_model_mobilefacenet)                                                     \
    XX(passes_model_pnet)                                                              \
    XX(passes_model_rnet)                                                              \
    XX(passes_model_onet)                                                              \
    /* nn: oneDNN executor, engine, session (tests/nn/test_exec.c, test_engine.c) */ \
    XX(exec_matches_ref_detector)                                                      \
    XX(exec_matches_ref_onet)                                                          \
    XX(exec_matches_ref_rnet)                                                          \
    XX(exec_matches_ref_pnet)                                                          \
    XX(exec_matches_ref_embedder_a)                                                    \
    XX(exec_matches_ref_embedder_b)                                                    \
    XX(exec_rejects_bad_shapes)                                                        \
    XX(exec_no_reference_kernels)                                                      \
    XX(exec_no_reference_kernels_pipeline_shapes)                                      \
    XX(exec_channels_last_input)                                                       \
    XX(exec_bf16_close_to_ref)                                                         \
    XX(exec_deterministic_plans_reproducible)                                          \
    XX(kernel_prelu_nhwc)                                                              \
    XX(kernel_f32_to_bf16)                                                             \
    XX(kernel_prelu_nhwc_bf16)                                                         \
    XX(kernel_prelu_isa_paths_agree)                                                   \
    XX(engine_catalogue)                                                               \
    XX(engine_missing_models_dir)                                                      \
    XX(engine_bad_model_files)                                                         \
    XX(session_bad_calls)                                                              \
    XX(session_embedders_match_onnxruntime)                                            \
    XX(session_bf16_embedders_close_to_onnxruntime)                                    \
    XX(engine_precision_option)                                                        \
    XX(engine_profile_callback)                                                        \
    XX(engine_isa_option)                                                              \
    XX(session_no_allocation_after_warmup) \
    /* face pipeline (tests/face/test_pipeline.c) */                                   \
    XX(pipeline_detect_samples)                                                        \
    XX(pipeline_templates)                                                             \
    XX(pipeline_close_up)                                                              \
    XX(pipeline_no_face)                                                               \
    XX(pipeline_template_bytes)                                                        \
    XX(pipeline_bad_inputs)                                                               \
    /* face: choosing and embedding one face (tests/face/test_embed_face.c) */     \
    XX(faces_choose_rules)                                                         \
    XX(faces_chip_and_decode_options)                                              \
    XX(embed_face_matches_steps)                                                   \
    XX(embed_face_not_found)                                                       \
    XX(face_input_tensor_layouts)                                                  \
    /* small faces (tests/face/test_detect_small.c) */                                 \
    XX(detect_small_pnet_orientation)                                                  \
    XX(detect_small_finds_small_faces)                                                 \
    XX(detect_small_no_face)                                                           \
    /* gallery: store (tests/gallery/test_store.c) */                                  \
    XX(store_schema_reopen)                                                            \
    XX(store_uri_schemes)                                                              \
    XX(store_must_exist)                                                               \
    XX(store_collections)                                                              \
    XX(store_subjects_faces)                                                           \
    XX(store_erase_leaves_no_bytes)                                                    \
    XX(store_corrupt_file)                                                             \
    XX(store_foreign_database)                                                         \
    XX(store_disk_full)                                                                \
    XX(store_crash_safety)                                                             \
    /* gallery: both store backends, and PostgreSQL alone (tests/gallery/test_store_postgres.c) */ \
    XX(store_backend_ops)                                                              \
    XX(store_backend_tx_survives_refusals)                                             \
    XX(store_pg_identity)                                                              \
    XX(store_pg_audit_writers)                                                         \
    XX(store_pg_concurrent_enrol)                                                      \
    XX(store_pg_serialised_transactions)                                               \
    XX(store_pg_reconnect)                                                             \
    XX(store_pg_sealed_at_rest)                                                        \
    /* gallery: copying a whole store, `mien migrate` (tests/gallery/test_store_copy.c) */ \
    XX(migrate_copy_store)                                                             \
    XX(migrate_copy_all_or_nothing)                                                    \
    /* gallery: public API (tests/gallery/test_gallery.c) */                           \
    XX(gallery_sha256)                                                                 \
    XX(gallery_enrol_search)                                                           \
    XX(gallery_erase)                                                                  \
    XX(gallery_bad_input)                                                              \
    XX(gallery_reopen)                                                                 \
    XX(gallery_face_move)                                                              \
    /* gallery: faces one by one (tests/gallery/test_face_list.c) */                   \
    XX(face_list_and_template)                                                         \
    /* gallery: the policy's caps on what a search returns (tests/gallery/test_caps.c) */ \
    XX(caps_search_key_cannot_list_the_gallery)                                        \
    XX(caps_policy_bounds_and_tighter_caps)                                            \
    XX(caps_two_person_shows_capped_candidates)                                        \
    /* gallery: grouping faces into people (tests/gallery/test_group.c) */              \
    XX(group_synthetic_people)                                                         \
    XX(group_many_faces_hnsw)                                                          \
    XX(group_bad_input)                                                                \
    XX(group_enrolled_faces)                                                           \
    /* gallery: index (tests/gallery/test_index.c) */                                  \
    XX(index_exact_matches_reference)                                                  \
    XX(index_int8_matches_f32)                                                         \
    XX(index_aggregates_subjects)                                                      \
    XX(index_threshold)                                                                \
    XX(index_remove_subject)                                                           \
    XX(index_isa_paths_agree)                                                          \
    XX(index_hnsw_recall)                                                              \
    XX(aggregate_rules)                                                                \
    XX(aggregate_mean_per_embedder)                                                    \
    XX(aggregate_weight)                                                               \
    XX(aggregate_index_subject)                                                        \
    XX(aggregate_calibration)                                                          \
    XX(aggregate_search_ranks)                                                         \
    /* governance: API keys and roles (tests/governance/test_keys.c) */                \
    XX(keys_round_trip)                                                                \
    XX(keys_verify_refuses)                                                            \
    XX(keys_role_table)                                                                \
    XX(keys_reopen_no_secret_in_file)                                                  \
    XX(keys_schema_migration)                                                          \
    /* governance: SigV4 credentials of keys (tests/governance/test_keys_sigv4.c) */    \
    XX(sigv4_secret_round_trip)                                                        \
    XX(sigv4_signing_key_matches)                                                      \
    /* governance: accountability through the public API (test_accountability.c) */     \
    XX(acct_policy_required)                                                           \
    XX(acct_search_purpose)                                                            \
    XX(acct_consent_retention_purge)                                                   \
    XX(acct_refusals_before_the_library)                                               \
    XX(acct_two_person_review)                                                         \
    XX(acct_review_queue)                                                              \
    XX(acct_erasure_receipt_and_sealing)                                               \
    XX(acct_audit_tamper)                                                              \
    XX(acct_key_file_rules)                                                            \
    XX(acct_handles_follow_changes)                                                    \
    XX(acct_audit_forgery_and_head_reset)                                              \
    XX(acct_sealed_bound_to_subject)                                                   \
    XX(acct_review_row_tamper)                                                         \
    XX(acct_audit_head_truncation)                                                     \
    XX(acct_audit_join)                                                                \
    XX(acct_erasure_takes_reviews)                                                     \
    XX(acct_scrub_failure_reported)                                                    \
    XX(acct_follow_erasures_hash_count)                                                \
    /* governance: row tags and the review chain (tests/governance/test_integrity.c) */   \
    XX(acct_integrity_key_rows)                                                        \
    XX(acct_integrity_collection_rows)                                                 \
    XX(acct_integrity_subject_rows)                                                    \
    XX(acct_integrity_template_name)                                                   \
    XX(acct_integrity_review_chain)                                                    \
    XX(acct_integrity_upgrade)                                                         \
    /* governance: the audit chain (tests/governance/test_audit.c) */                  \
    XX(audit_append_verify)                                                            \
    XX(audit_hash_vector)                                                              \
    XX(audit_altered_entry)                                                            \
    XX(audit_relinked_entry)                                                           \
    XX(audit_truncated)                                                                \
    XX(audit_gap)                                                                      \
    XX(audit_head_problems)                                                            \
    XX(audit_checkpoint_monotonic)                                                     \
    XX(audit_export_lines)                                                             \
    XX(audit_export_rehash)                                                            \
    XX(audit_bad_input)                                                                \
    /* server: request bodies (tests/server/test_body.c) */                            \
    XX(server_multipart)                                                               \
    XX(server_multipart_repeated)                                                      \
    XX(server_base64)                                                                  \
    /* server: the growing string (tests/server/test_strbuf.c) */                      \
    XX(server_strbuf)                                                                  \
    /* server: AWS Signature Version 4 (tests/server/test_sigv4.c) */                  \
    XX(sigv4_suite)                                                                    \
    XX(sigv4_suite_texts)                                                              \
    XX(sigv4_parse)                                                                    \
    XX(sigv4_refusals)                                                                 \
    /* cli: the option tables' parser (tests/cli/test_opt.c) */                        \
    XX(cli_opt_values)                                                                 \
    XX(cli_opt_bad_usage)                                                              \
    XX(cli_opt_positionals)                                                            \
    XX(cli_opt_help_and_actions)                                                       \
    XX(cli_opt_run_parsed)                                                             \
    /* cli: annotated pictures (tests/cli/test_draw.c) */                              \
    XX(cli_draw_faces_marks_the_face)                                                  \
    XX(cli_draw_target_names)
