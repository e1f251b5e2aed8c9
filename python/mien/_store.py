"""_store.py — the gallery (1:N) over mien_store: Store(uri).collection(name) with enroll,
search, verify, subjects and erase, each done for a declared purpose and case and written to
the store's audit log by the library. The binding adds no rule of its own to the library's;
it applies the enrolment rules every front end applies (several faces need a say-which, a
low-quality face needs force) and records those refusals as they do (mien_record_refusal)."""

import ctypes
import os
from dataclasses import dataclass

from . import _abi
from ._core import (_CLASSES, Error, Template, _Owned, _Borrowed, _check, _embed_face, _enc, _find,
                    _name_value, default_actor, default_engine)


def _text(b):
    return b.decode("utf-8", "replace")


class _Why:
    """A mien_context and the buffers it points into (kept alive while it is used)."""

    def __init__(self, actor, purpose, case_ref, sha=None):
        self._keep = [_enc(actor), _enc(purpose), _enc(case_ref)]
        self.ctx = _abi.Context(self._keep[0], self._keep[1], self._keep[2], None)
        if sha is not None:
            self._sha = (ctypes.c_uint8 * 32).from_buffer_copy(sha)
            self.ctx.input_sha256 = ctypes.cast(self._sha, ctypes.POINTER(ctypes.c_uint8))

    def ref(self):
        return ctypes.byref(self.ctx)


@dataclass
class CollectionInfo:
    """mien_collection_info: the collection, its models and its policy."""
    name: str
    profile: str
    description: str
    created_at: int
    subjects: int
    faces: int
    purposes: list
    legal_basis: str
    consent: str
    retention_s: int
    review: str
    verification_only: bool
    max_fmr: float
    max_candidates: int


@dataclass
class Candidate:
    """One subject a search proposes, for a person to review: its aggregate similarity, the
    calibrated false-match rate of that score, its best face and every face's similarity."""
    subject: str
    similarity: float
    fmr: float
    face_id: int
    faces: list  # [(face_id, similarity)], best first


@dataclass
class SearchResult:
    """Ranked candidates (never a verdict), the review they await ("" when the collection
    opted out) and the audit entry that records the search."""
    candidates: list
    review_id: str
    reviews_required: int
    audit_seq: int
    top_k: int
    max_fmr: float
    capped: bool

    def __iter__(self):
        return iter(self.candidates)

    def __len__(self):
        return len(self.candidates)


@dataclass
class Verification:
    similarity: float
    fmr: float
    accepted: bool
    audit_seq: int
    faces: int


@dataclass
class Erasure:
    """The receipt of an erasure: what left the store, the subject as its keyed hash, and the
    audit entry (sequence and hash) that records it."""
    faces_deleted: int
    crops_deleted: int
    reviews_deleted: int
    subject_hash: str
    erased_at: int
    audit_seq: int
    audit_hash: str


@dataclass
class Subject:
    subject: str
    display_name: str
    faces: int
    created_at: int
    consent_ref: str
    expires_at: int


@dataclass
class AuditReport:
    ok: bool
    entries: int
    first_bad: int
    head_seq: int
    problem: str
    public_key: str


class Store(_Owned):
    """A store of collections (mien_store): "sqlite:PATH" or a PATH, or "postgres://...".
    uri None: $MIEN_STORE, else ./mien.db; key_file None: $MIEN_KEY_FILE, else the database
    path + ".key" (created, mode 0600, when absent: `key_created` says so — back it up).
    `actor` is who the audit log names (default "python:USER"); `engine` the models that
    embed for it (default: the module's engine). A store handle belongs to one thread."""

    _free, _what = "mien_store_close", "store"

    def __init__(self, uri=None, *, key_file=None, actor=None, engine=None, library=None):
        self._lib = _abi.load(library)
        self._engine = engine
        self.actor = actor or default_actor()
        uri = uri if uri is not None else os.environ.get("MIEN_STORE") or None
        key_file = key_file or os.environ.get("MIEN_KEY_FILE") or None
        self._keep = [_enc(key_file), _enc(os.fspath(uri)) if uri else None]
        opt = _abi.StoreOptions(self._keep[0], True, 0, None)
        h = ctypes.c_void_p()
        err = _abi.Error()
        _check(self._lib.mien_store_open_with(self._keep[1], ctypes.byref(opt), ctypes.byref(h),
                                              ctypes.byref(err)), err)
        self._handle = h
        # A store made before row tags gets them now, once, as the mien commands do
        # (mien.h mien_store_upgrade).
        why = _Why(self.actor, None, None)
        tagged = ctypes.c_int64()
        st = self._lib.mien_store_upgrade(h, why.ref(), ctypes.byref(tagged), ctypes.byref(err))
        if st != 0:
            self.close()
            _check(st, err)
        self.key_created = bool(self._lib.mien_store_key_created(h))
        self.key_file = _text(self._lib.mien_store_key_file(h) or b"")

    @property
    def engine(self):
        if self._engine is None:
            self._engine = default_engine()
        return self._engine

    def create_collection(self, name, *, purposes, legal_basis, profile="fast",
                          consent="required", retention_s=0, review="one",
                          verification_only=False, max_fmr=0.0, max_candidates=0,
                          description=None, case_ref=None):
        """Creates collection `name` for `purposes` (a list or "a,b"), with its legal basis,
        consent rule ("required", "not_needed"), retention, review mode ("one", "two_person",
        "none") and search caps, locked to the engine's models. Exists (code 12) when taken."""
        lib = self._lib
        if not isinstance(purposes, str):
            purposes = ",".join(purposes)
        keep = [_enc(purposes), _enc(legal_basis)]
        pol = _abi.CollectionPolicy(
            keep[0], keep[1], _name_value(lib.mien_consent_parse, consent, "consent"),
            retention_s, _name_value(lib.mien_review_mode_parse, review, "review mode"),
            1 if verification_only else 0, max_fmr, max_candidates)
        why = _Why(self.actor, None, case_ref)
        err = _abi.Error()
        _check(lib.mien_collection_create(
            self._ptr(), _enc(name), _name_value(lib.mien_profile_parse, profile, "profile"),
            self.engine._ptr(), _enc(description), ctypes.byref(pol), why.ref(),
            ctypes.byref(err)), err)
        return Collection(self, name)

    def collection(self, name):
        """Collection `name`; NotFound (code 8) when the store has none."""
        c = Collection(self, name)
        c.info()
        return c

    def collections(self):
        arr = ctypes.POINTER(_abi.CollectionInfo)()
        n = ctypes.c_size_t()
        err = _abi.Error()
        _check(self._lib.mien_collection_list(self._ptr(), ctypes.byref(arr), ctypes.byref(n),
                                              ctypes.byref(err)), err)
        try:
            return [_collection_info(self._lib, arr[i]) for i in range(n.value)]
        finally:
            self._lib.mien_free(ctypes.cast(arr, ctypes.c_void_p))

    def audit_verify(self):
        """Checks the audit chain and its signed head (mien_audit_verify)."""
        r = _abi.AuditReport()
        err = _abi.Error()
        _check(self._lib.mien_audit_verify(self._ptr(), ctypes.byref(r), ctypes.byref(err)), err)
        return AuditReport(bool(r.ok), r.entries, r.first_bad, r.head_seq, _text(r.problem),
                           _text(r.public_key))


def _collection_info(lib, c):
    return CollectionInfo(
        name=_text(c.name), profile=_text(lib.mien_profile_name(c.profile)),
        description=_text(c.description), created_at=c.created_at, subjects=c.subjects,
        faces=c.faces, purposes=[p for p in _text(c.purposes).split(",") if p],
        legal_basis=_text(c.legal_basis), consent=_text(lib.mien_consent_name(c.consent)),
        retention_s=c.retention_s, review=_text(lib.mien_review_mode_name(c.review)),
        verification_only=bool(c.verification_only), max_fmr=c.max_fmr,
        max_candidates=c.max_candidates)


class Collection:
    """A collection of a Store. Every call that reads or changes personal data takes the
    purpose and case it is done for; search and verify refuse without them (Error code 1),
    and a purpose the collection does not allow is Forbidden (code 13): refusals are audited
    too."""

    def __init__(self, store, name):
        self.store, self.name = store, name

    def info(self):
        c = _abi.CollectionInfo()
        err = _abi.Error()
        _check(self.store._lib.mien_collection_get(self.store._ptr(), _enc(self.name),
                                                   ctypes.byref(c), ctypes.byref(err)), err)
        return _collection_info(self.store._lib, c)

    def _refuse(self, why, subject, reason, faces, message, code=1):
        """Records a front-end refusal of a picture (one audit entry), then raises it."""
        err = _abi.Error()
        _check(self.store._lib.mien_record_refusal(
            self.store._ptr(), _enc(self.name), b"enrol", _enc(subject), _abi.REFUSAL[reason],
            faces, why.ref(), None, ctypes.byref(err)), err)
        x = _CLASSES.get(code, Error)(code, message, reason)
        x.faces = faces
        raise x

    def enroll(self, subject, image, *, consent=None, purpose=None, case_ref=None,
               display_name=None, face=None, force=False, crop=False, expires_at=0):
        """Enrols one face of `image` as `subject`; returns the new face id. `consent` is the
        consent record's reference (Forbidden, code 13, without one where the collection
        requires it). The face: `face` (an index or a Face of this image), else the only
        one; a picture with several faces is refused unless `face` says which or `force`
        takes the most prominent, and a face of low quality unless `force` (Error code 1,
        .reason "several_faces" / "low_quality"; no face: NotFound, .reason "no_face"),
        each refusal audited. `crop` also stores the aligned chip for reviewers. An image
        already enrolled for this subject: Exists (code 12)."""
        lib, store = self.store._lib, self.store
        keep = [_enc(subject), _enc(display_name), _enc(consent)]
        e = _abi.Enrollment(keep[0], keep[1], None, None, None, None, keep[2], expires_at)
        err = _abi.Error()
        why = _Why(store.actor, purpose, case_ref)
        # the checks that need no face, before the picture is read (a refusal audited)
        _check(lib.mien_enroll_check(store._ptr(), _enc(self.name), ctypes.byref(e), why.ref(),
                                     ctypes.byref(err)), err)
        info = self.info()
        engine = store.engine
        with _Borrowed(image) as img:
            why = _Why(store.actor, purpose, case_ref, img.sha256)
            try:
                chosen, faces = _find(engine, img, face)
            except Error as x:
                if x.code == 8:
                    self._refuse(why, subject, "no_face", getattr(x, "faces", 0), x.message, 8)
                raise
            n = len(faces) if faces else 1
            if faces and len(faces) > 1 and face is None and not force:
                self._refuse(why, subject, "several_faces", n,
                             f"{n} faces: say which with face=N, or force=True for the most "
                             "prominent")
            if chosen.quality.klass == "low" and not force:
                q = chosen.quality
                self._refuse(why, subject, "low_quality", n,
                             f"low quality (interocular {q.interocular_px:.0f} px, sharpness "
                             f"{q.sharpness:.0f}, yaw {q.yaw:.0f}, pitch {q.pitch:.0f}); "
                             "force=True to enrol anyway")
            prof = lib.mien_profile_parse  # the collection's profile makes its templates
            t = _embed_face(engine, img, chosen, _name_value(prof, info.profile, "profile"), n)
            try:
                chip = None
                if crop:
                    side = lib.mien_face_chip_side()
                    chip = (ctypes.c_uint8 * (side * side * 3))()
                    _check(lib.mien_face_chip(img._ptr(), ctypes.byref(chosen._raw), chip,
                                              ctypes.byref(err)), err)
                sha = (ctypes.c_uint8 * 32).from_buffer_copy(img.sha256) if img.sha256 else None
                e.template_ = t._ptr()
                e.quality = ctypes.pointer(chosen._raw.quality)
                e.image_sha256 = sha
                e.crop_rgb = chip
                face_id = ctypes.c_int64()
                _check(lib.mien_enroll(store._ptr(), _enc(self.name), ctypes.byref(e), why.ref(),
                                       ctypes.byref(face_id), ctypes.byref(err)), err)
                return face_id.value
            finally:
                t.close()

    def _probe(self, probe, face):
        """(template, sha256 of the picture or None, whether to close the template)."""
        if isinstance(probe, Template):
            return probe, probe._sha, False
        engine = self.store.engine
        lib = self.store._lib
        prof = _name_value(lib.mien_profile_parse, self.info().profile, "profile")
        with _Borrowed(probe) as img:
            chosen, faces = _find(engine, img, face)
            return _embed_face(engine, img, chosen, prof, len(faces or [])), img.sha256, True

    def search(self, probe, *, purpose=None, case_ref=None, top_k=0, max_fmr=0.0,
               mode="auto", aggregate="default", clamp=False, face=None):
        """Ranked candidates for the most prominent face of `probe` (an image, or a Template
        of this collection's profile), for `purpose` and `case_ref` (required: Error code 1
        without them; a purpose the collection does not allow: Forbidden, code 13). Only
        candidates at a false-match rate <= max_fmr (default 1e-3) are returned, at most
        top_k (default 10), within the collection's caps. Audited; a review awaits them."""
        lib, store = self.store._lib, self.store
        opt = lib.mien_search_options_default()
        opt.top_k, opt.max_fmr, opt.clamp = top_k, max_fmr, clamp
        if mode not in _abi.SEARCH_MODE:
            raise Error(1, f"unknown search mode '{mode}' (auto, exact, approximate)")
        opt.mode = _abi.SEARCH_MODE[mode]
        opt.aggregate = _name_value(lib.mien_aggregate_parse, aggregate, "aggregate rule")
        t, sha, own = self._probe(probe, face)
        res = _abi.SearchResult()
        err = _abi.Error()
        why = _Why(store.actor, purpose, case_ref, sha)
        try:
            _check(lib.mien_search(store._ptr(), _enc(self.name), t._ptr(), ctypes.byref(opt),
                                   why.ref(), ctypes.byref(res), ctypes.byref(err)), err)
        finally:
            if own:
                t.close()
        try:
            cands = []
            for i in range(res.count):
                c = res.candidates[i]
                cands.append(Candidate(_text(c.subject), c.similarity, c.fmr, c.face_id,
                                       [(c.faces[j].face_id, c.faces[j].similarity)
                                        for j in range(c.n_faces)]))
            return SearchResult(cands, _text(res.review_id), res.reviews_required,
                                res.audit_seq, res.top_k, res.max_fmr, bool(res.capped))
        finally:
            lib.mien_search_result_free(ctypes.byref(res))

    def verify(self, subject, probe, *, purpose=None, case_ref=None, max_fmr=0.0, face=None):
        """1:1: is the face of `probe` the enrolled `subject`? Accepted at max_fmr (default
        1e-4). Purpose rules as for search; audited."""
        lib, store = self.store._lib, self.store
        t, sha, own = self._probe(probe, face)
        out = _abi.Verification()
        err = _abi.Error()
        why = _Why(store.actor, purpose, case_ref, sha)
        try:
            _check(lib.mien_verify(store._ptr(), _enc(self.name), _enc(subject), t._ptr(),
                                   max_fmr, why.ref(), ctypes.byref(out), ctypes.byref(err)),
                   err)
        finally:
            if own:
                t.close()
        return Verification(out.similarity, out.fmr, bool(out.accepted), out.audit_seq,
                            out.n_faces)

    def subjects(self, *, purpose=None, case_ref=None):
        """The subjects (personal data: an audited read)."""
        lib, store = self.store._lib, self.store
        arr = ctypes.POINTER(_abi.SubjectInfo)()
        n = ctypes.c_size_t()
        err = _abi.Error()
        why = _Why(store.actor, purpose, case_ref)
        _check(lib.mien_subject_list(store._ptr(), _enc(self.name), why.ref(), ctypes.byref(arr),
                                     ctypes.byref(n), ctypes.byref(err)), err)
        try:
            return [Subject(_text(s.subject), _text(s.display_name), s.faces, s.created_at,
                            _text(s.consent_ref), s.expires_at)
                    for s in (arr[i] for i in range(n.value))]
        finally:
            lib.mien_free(ctypes.cast(arr, ctypes.c_void_p))

    def erase(self, subject, *, purpose=None, case_ref=None):
        """Erases `subject`: its templates, crops and the reviews naming it leave the store;
        returns the receipt. NotFound (code 8) for an unknown subject. When the file could
        not be scrubbed the erasure is still committed: Error code 11 carries the receipt in
        .receipt (the scrub is retried at the next writes)."""
        lib, store = self.store._lib, self.store
        out = _abi.Erasure()
        err = _abi.Error()
        why = _Why(store.actor, purpose, case_ref)
        st = lib.mien_erase_subject(store._ptr(), _enc(self.name), _enc(subject), why.ref(),
                                    ctypes.byref(out), ctypes.byref(err))
        receipt = Erasure(out.faces_deleted, out.crops_deleted, out.reviews_deleted,
                          _text(out.subject_hash), out.erased_at, out.audit_seq,
                          _text(out.audit_hash))
        try:
            _check(st, err)
        except Error as x:
            if st == 11 and receipt.audit_seq:
                x.receipt = receipt
            raise
        return receipt
