"""_abi.py — the one place where the binding mirrors include/mien.h: finding libmien.so, the
structs it passes (field for field, in the header's order), the enum values and status codes,
and the prototype of every function the binding calls.

A header change that moves a field breaks this file silently unless a test notices:
tests/python/test_mien.py compares sizeof and offsetof of every struct below with what the C
compiler says (tests/python/abi_layout.c prints them). Change both together."""

import ctypes
import ctypes.util
import os
import threading

from ctypes import (POINTER, Structure, c_bool, c_char, c_char_p, c_double, c_float, c_int,
                    c_int64, c_size_t, c_uint8, c_void_p)

# ---- status codes (mien.h MIEN_STATUS_MAP; numbers are stable, never reused) ------------------
STATUS = {
    0: "OK", 1: "ERR_ARG", 2: "ERR_NOMEM", 3: "ERR_IO", 4: "ERR_MODEL", 5: "ERR_UNSUPPORTED",
    6: "ERR_SHAPE", 7: "ERR_BACKEND", 8: "ERR_NOT_FOUND", 9: "ERR_IMAGE", 10: "ERR_INTERNAL",
    11: "ERR_STORE", 12: "ERR_EXISTS", 13: "ERR_FORBIDDEN",
}

# ---- enums (C enums are ints) -----------------------------------------------------------------
FACE_PROMINENT = -1  # MIEN_FACE_PROMINENT
FACE_LARGEST = -2    # MIEN_FACE_LARGEST
REFUSAL = {"no_face": 0, "several_faces": 1, "low_quality": 2}  # mien_refusal
SEARCH_MODE = {"auto": 0, "exact": 1, "approximate": 2}         # mien_search_mode


class Error(Structure):  # mien_error
    _fields_ = [("code", c_int), ("message", c_char * 512)]


class EngineOptions(Structure):  # mien_engine_options
    _fields_ = [("models_dir", c_char_p), ("threads", c_int), ("precision", c_int),
                ("max_isa", c_int), ("profile", c_void_p), ("profile_ctx", c_void_p)]


class ImageOptions(Structure):  # mien_image_options
    _fields_ = [("max_bytes", c_size_t), ("max_pixels", c_int64), ("min_side", c_int),
                ("max_memory", c_size_t)]


class Quality(Structure):  # mien_quality
    _fields_ = [("interocular_px", c_float), ("sharpness", c_float), ("yaw", c_float),
                ("pitch", c_float), ("roll", c_float), ("detector_score", c_float),
                ("landmark_score", c_float), ("klass", c_int)]


class Face(Structure):  # mien_face
    _fields_ = [("box", c_float * 4), ("score", c_float), ("landmarks", (c_float * 2) * 5),
                ("quality", Quality)]


class DetectOptions(Structure):  # mien_detect_options
    _fields_ = [("min_score", c_float), ("small_faces", c_bool), ("max_faces", c_int)]


class FacePick(Structure):  # mien_face_pick
    _fields_ = [("faces", POINTER(Face)), ("count", c_size_t), ("index", c_int)]


class StoreOptions(Structure):  # mien_store_options
    _fields_ = [("key_file", c_char_p), ("create_key", c_bool), ("now", c_int64),
                ("audit_head", c_char_p), ("must_exist", c_bool)]


class Context(Structure):  # mien_context
    _fields_ = [("actor", c_char_p), ("purpose", c_char_p), ("case_ref", c_char_p),
                ("input_sha256", POINTER(c_uint8))]


class CollectionPolicy(Structure):  # mien_collection_policy
    _fields_ = [("purposes", c_char_p), ("legal_basis", c_char_p), ("consent", c_int),
                ("retention_s", c_int64), ("review", c_int), ("verification_only", c_int),
                ("max_fmr", c_double), ("max_candidates", c_int)]


class CollectionInfo(Structure):  # mien_collection_info
    _fields_ = [("name", c_char * 64), ("profile", c_int), ("model_a", c_char * 17),
                ("model_b", c_char * 17), ("description", c_char * 256),
                ("created_at", c_int64), ("subjects", c_int64), ("faces", c_int64),
                ("purposes", c_char * 256), ("legal_basis", c_char * 256), ("consent", c_int),
                ("retention_s", c_int64), ("review", c_int), ("verification_only", c_int),
                ("max_fmr", c_double), ("max_candidates", c_int)]


class Enrollment(Structure):  # mien_enrollment
    _fields_ = [("subject", c_char_p), ("display_name", c_char_p), ("template_", c_void_p),
                ("quality", POINTER(Quality)), ("image_sha256", POINTER(c_uint8)),
                ("crop_rgb", POINTER(c_uint8)), ("consent_ref", c_char_p),
                ("expires_at", c_int64)]


class SubjectInfo(Structure):  # mien_subject_info
    _fields_ = [("subject", c_char * 128), ("display_name", c_char * 128), ("faces", c_int64),
                ("created_at", c_int64), ("consent_ref", c_char * 128), ("expires_at", c_int64)]


class Erasure(Structure):  # mien_erasure
    _fields_ = [("faces_deleted", c_int64), ("crops_deleted", c_int64),
                ("subject_hash", c_char * 65), ("erased_at", c_int64), ("audit_seq", c_int64),
                ("audit_hash", c_char * 65), ("reviews_deleted", c_int64)]


class SearchOptions(Structure):  # mien_search_options
    _fields_ = [("top_k", c_int), ("max_fmr", c_double), ("mode", c_int), ("clamp", c_bool),
                ("aggregate", c_int)]


class FaceMatch(Structure):  # mien_face_match
    _fields_ = [("face_id", c_int64), ("similarity", c_float)]


class Candidate(Structure):  # mien_candidate
    _fields_ = [("subject", c_char * 128), ("similarity", c_float), ("fmr", c_double),
                ("face_id", c_int64), ("faces", POINTER(FaceMatch)), ("n_faces", c_size_t)]


class SearchResult(Structure):  # mien_search_result
    _fields_ = [("candidates", POINTER(Candidate)), ("count", c_size_t),
                ("review_id", c_char * 33), ("reviews_required", c_int), ("audit_seq", c_int64),
                ("top_k", c_int), ("max_fmr", c_double), ("capped", c_bool)]


class Verification(Structure):  # mien_verification
    _fields_ = [("similarity", c_float), ("fmr", c_double), ("accepted", c_int),
                ("audit_seq", c_int64), ("n_faces", c_size_t)]


class AuditReport(Structure):  # mien_audit_report
    _fields_ = [("ok", c_int), ("entries", c_int64), ("first_bad", c_int64),
                ("head_seq", c_int64), ("problem", c_char * 256), ("public_key", c_char * 65)]


# Every struct above, by its C name: what the layout test walks.
STRUCTS = {
    "mien_error": Error, "mien_engine_options": EngineOptions,
    "mien_image_options": ImageOptions, "mien_quality": Quality, "mien_face": Face,
    "mien_detect_options": DetectOptions, "mien_face_pick": FacePick,
    "mien_store_options": StoreOptions, "mien_context": Context,
    "mien_collection_policy": CollectionPolicy, "mien_collection_info": CollectionInfo,
    "mien_enrollment": Enrollment, "mien_subject_info": SubjectInfo, "mien_erasure": Erasure,
    "mien_search_options": SearchOptions, "mien_face_match": FaceMatch,
    "mien_candidate": Candidate, "mien_search_result": SearchResult,
    "mien_verification": Verification, "mien_audit_report": AuditReport,
}

# ---- prototypes: name -> (return type, argument types) ---------------------------------------
_P = c_void_p  # an opaque handle
_E = POINTER(Error)
_U8 = POINTER(c_uint8)
PROTOTYPES = {
    "mien_strerror": (c_char_p, [c_int]),
    "mien_engine_options_default": (EngineOptions, []),
    "mien_engine_new": (c_int, [POINTER(EngineOptions), POINTER(_P), _E]),
    "mien_engine_free": (None, [_P]),
    "mien_precision_parse": (c_int, [c_char_p, POINTER(c_int), _E]),
    "mien_isa_parse": (c_int, [c_char_p, POINTER(c_int), _E]),
    "mien_session_new": (c_int, [_P, POINTER(_P), _E]),
    "mien_session_free": (None, [_P]),
    "mien_image_options_faces": (ImageOptions, []),
    "mien_image_decode": (c_int, [c_char_p, c_size_t, POINTER(ImageOptions), POINTER(_P), _E]),
    "mien_image_load": (c_int, [c_char_p, POINTER(ImageOptions), POINTER(_P), _E]),
    "mien_image_from_rgb": (c_int, [c_void_p, c_int, c_int, c_size_t, POINTER(_P), _E]),
    "mien_image_free": (None, [_P]),
    "mien_image_width": (c_int, [_P]),
    "mien_image_height": (c_int, [_P]),
    "mien_image_pixels": (POINTER(c_uint8), [_P]),
    "mien_image_original_width": (c_int, [_P]),
    "mien_image_original_height": (c_int, [_P]),
    "mien_detect_options_default": (DetectOptions, []),
    "mien_detect": (c_int, [_P, _P, POINTER(DetectOptions), POINTER(POINTER(Face)),
                            POINTER(c_size_t), _E]),
    "mien_faces_free": (None, [c_void_p]),
    "mien_face_find": (c_int, [_P, _P, c_int, POINTER(FacePick), _E]),
    "mien_embed": (c_int, [_P, _P, POINTER(Face), c_int, POINTER(_P), _E]),
    "mien_template_free": (None, [_P]),
    "mien_template_compare": (c_int, [_P, _P, POINTER(c_float), _E]),
    "mien_template_profile": (c_int, [_P]),
    "mien_template_vector": (c_int, [_P, c_int, POINTER(POINTER(c_float)), POINTER(c_int)]),
    "mien_template_serialize": (c_int, [_P, c_void_p, c_size_t, POINTER(c_size_t)]),
    "mien_template_deserialize": (c_int, [c_char_p, c_size_t, POINTER(_P), _E]),
    "mien_similarity_fmr": (c_int, [c_int, c_float, POINTER(c_double)]),
    "mien_threshold_for_fmr": (c_int, [c_int, c_double, POINTER(c_float)]),
    "mien_profile_name": (c_char_p, [c_int]),
    "mien_profile_parse": (c_int, [c_char_p, POINTER(c_int)]),
    "mien_quality_class_name": (c_char_p, [c_int]),
    "mien_consent_parse": (c_int, [c_char_p, POINTER(c_int)]),
    "mien_consent_name": (c_char_p, [c_int]),
    "mien_review_mode_parse": (c_int, [c_char_p, POINTER(c_int)]),
    "mien_review_mode_name": (c_char_p, [c_int]),
    "mien_aggregate_parse": (c_int, [c_char_p, POINTER(c_int)]),
    "mien_face_chip_side": (c_int, []),
    "mien_face_chip": (c_int, [_P, POINTER(Face), _U8, _E]),
    "mien_sha256": (c_int, [c_char_p, c_size_t, _U8]),
    "mien_store_open_with": (c_int, [c_char_p, POINTER(StoreOptions), POINTER(_P), _E]),
    "mien_store_close": (None, [_P]),
    "mien_store_upgrade": (c_int, [_P, POINTER(Context), POINTER(c_int64), _E]),
    "mien_store_key_created": (c_bool, [_P]),
    "mien_store_key_file": (c_char_p, [_P]),
    "mien_free": (None, [c_void_p]),
    "mien_collection_create": (c_int, [_P, c_char_p, c_int, _P, c_char_p,
                                       POINTER(CollectionPolicy), POINTER(Context), _E]),
    "mien_collection_get": (c_int, [_P, c_char_p, POINTER(CollectionInfo), _E]),
    "mien_collection_list": (c_int, [_P, POINTER(POINTER(CollectionInfo)), POINTER(c_size_t),
                                     _E]),
    "mien_collection_drop": (c_int, [_P, c_char_p, POINTER(Context), _E]),
    "mien_enroll_check": (c_int, [_P, c_char_p, POINTER(Enrollment), POINTER(Context), _E]),
    "mien_enroll": (c_int, [_P, c_char_p, POINTER(Enrollment), POINTER(Context),
                            POINTER(c_int64), _E]),
    "mien_record_refusal": (c_int, [_P, c_char_p, c_char_p, c_char_p, c_int, c_size_t,
                                    POINTER(Context), POINTER(c_int64), _E]),
    "mien_subject_list": (c_int, [_P, c_char_p, POINTER(Context), POINTER(POINTER(SubjectInfo)),
                                  POINTER(c_size_t), _E]),
    "mien_erase_subject": (c_int, [_P, c_char_p, c_char_p, POINTER(Context), POINTER(Erasure),
                                   _E]),
    "mien_search_options_default": (SearchOptions, []),
    "mien_search": (c_int, [_P, c_char_p, _P, POINTER(SearchOptions), POINTER(Context),
                            POINTER(SearchResult), _E]),
    "mien_search_result_free": (None, [POINTER(SearchResult)]),
    "mien_verify": (c_int, [_P, c_char_p, c_char_p, _P, c_double, POINTER(Context),
                            POINTER(Verification), _E]),
    "mien_audit_verify": (c_int, [_P, POINTER(AuditReport), _E]),
}

# ---- finding and loading libmien.so ---------------------------------------------------------
_HERE = os.path.dirname(os.path.abspath(__file__))
# python/mien/ -> the repository root, whose build/ holds libmien.so after `make build`
TREE_ROOT = os.path.dirname(os.path.dirname(_HERE))

_lock = threading.Lock()
_lib = None
_lib_path = None


def library_candidates(path=None):
    """Where the library is looked for, in order, as (path, explicit) pairs: `path`,
    $MIEN_LIBRARY, the build tree, then the system's search (ctypes.util.find_library, an
    installed libmien.so.N). A library named explicitly (the first two) must load: no
    silent fallback to another one."""
    out = []
    if path:
        out.append((os.fspath(path), True))
    env = os.environ.get("MIEN_LIBRARY")
    if env:
        out.append((env, True))
    out.append((os.path.join(TREE_ROOT, "build", "libmien.so"), False))
    found = ctypes.util.find_library("mien")
    if found:
        out.append((found, False))
    return out


def load(path=None):
    """Loads libmien once per process and declares its prototypes; returns the CDLL. A second
    call with another path keeps the first library (one libmien per process). Raises OSError
    naming every place tried when none loads."""
    global _lib, _lib_path
    with _lock:
        if _lib is not None:
            return _lib
        tried = []
        for cand, explicit in library_candidates(path):
            why = _try_load(cand)
            if isinstance(why, str):
                tried.append(f"{cand} ({why})")
                if explicit:
                    break
                continue
            _lib, _lib_path = why, _loaded_path(cand)
            return _lib
        raise OSError("libmien cannot be loaded; tried: " + "; ".join(tried) +
                      " (build it with `make build`, or set MIEN_LIBRARY to libmien.so)")


def _try_load(name):
    """The CDLL at `name` with every prototype declared, or why not (a string)."""
    # an explicit name is tried as given; a path only when the file is there
    if os.sep in name and not os.path.exists(name):
        return "not there"
    try:
        lib = ctypes.CDLL(name)
    except OSError as e:
        return str(e)
    missing = [fn for fn in PROTOTYPES if not hasattr(lib, fn)]
    if missing:  # an older libmien than this package
        return "lacks " + ", ".join(missing[:3])
    for fn, (res, args) in PROTOTYPES.items():
        f = getattr(lib, fn)
        f.restype = res
        f.argtypes = args
    return lib


def _loaded_path(name):
    """The file the dynamic loader mapped for `name` (find_library gives only a soname)."""
    if os.sep in name:
        return os.path.abspath(name)
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                p = line.split(None, 5)[-1].strip()
                if os.path.basename(p).startswith("libmien.so"):
                    return p
    except OSError:
        pass
    return name


def loaded_path():
    """The path of the loaded libmien (None before load())."""
    return _lib_path


def installed_models():
    """share/mien/models beside the prefix the loaded library is installed under
    (PREFIX/lib/libmien.so.N or PREFIX/lib/<multiarch>/libmien.so.N), then /usr/local and
    /usr."""
    out = []
    if _lib_path and os.sep in _lib_path:
        d = os.path.dirname(_lib_path)
        for prefix in (os.path.dirname(d), os.path.dirname(os.path.dirname(d))):
            out.append(os.path.join(prefix, "share", "mien", "models"))
    out += ["/usr/local/share/mien/models", "/usr/share/mien/models"]
    return out
