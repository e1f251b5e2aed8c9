"""mien — face detection, embedding, comparison and an audited gallery, over libmien.so.

    import mien
    faces = mien.detect("group.jpg")                   # every face: box, landmarks, quality
    r = mien.compare("a.jpg", "b.jpg")                 # similarity, calibrated FMR, decision
    print(r.similarity, r.fmr, r.decision)
    with mien.Store("sqlite:people.db") as store:
        people = store.collection("staff")
        hits = people.search("door.jpg", purpose="access_control", case_ref="T-1")

ctypes over the C library (no compilation; numpy optional). Failures raise mien.Error, whose
`code` is mien's status number (mien.h). docs/python.md has the whole interface."""

from ._abi import load as load_library, loaded_path as library_path
from ._core import (Comparison, Engine, Error, Exists, Face, Forbidden, Image, ImageError,
                    NotFound, Quality, Template, compare, default_engine, detect, embed,
                    models_candidates, sha256)
from ._store import (AuditReport, Candidate, Collection, CollectionInfo, Erasure, SearchResult,
                     Store, Subject, Verification)

# mien's status numbers (mien.h MIEN_STATUS_MAP), as Error.code carries them
OK, ERR_ARG, ERR_NOMEM, ERR_IO, ERR_MODEL, ERR_UNSUPPORTED, ERR_SHAPE, ERR_BACKEND, \
    ERR_NOT_FOUND, ERR_IMAGE, ERR_INTERNAL, ERR_STORE, ERR_EXISTS, ERR_FORBIDDEN = range(14)

__version__ = "0.1.0"
__all__ = ["AuditReport", "Candidate", "Collection", "CollectionInfo", "Comparison", "Engine",
           "Erasure", "Error", "Exists", "Face", "Forbidden", "Image", "ImageError", "NotFound",
           "Quality", "SearchResult", "Store", "Subject", "Template", "Verification", "compare",
           "default_engine", "detect", "embed", "library_path", "load_library",
           "models_candidates", "sha256"]
