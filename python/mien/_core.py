"""_core.py — errors, the engine (models loaded once, a session per thread), images, faces,
templates, and the three calls face_recognition and DeepFace users know: detect, embed,
compare. Every C object is wrapped in a Python object that frees it in close(), in a `with`
block's end or when it is collected, whichever comes first; closing twice is a no-op."""

import ctypes
import getpass
import os
import re
import threading
from dataclasses import dataclass, field

from . import _abi

# ---- errors -----------------------------------------------------------------------------------


class Error(Exception):
    """A failure mien reported: `code` is mien's status number (mien.h MIEN_STATUS_MAP, the
    numbers HTTP clients and scripts see), `status` its name ("ERR_IMAGE"), `message` what
    failed. A front-end refusal of a picture also sets `reason` ("no_face", "several_faces",
    "low_quality", as the HTTP API's error codes)."""

    def __init__(self, code, message, reason=None):
        self.code = int(code)
        self.status = _abi.STATUS.get(self.code, "unknown")
        self.message = message
        self.reason = reason
        super().__init__(f"{message} ({self.status}, {self.code})")


# One subclass per status a caller may want to catch on its own.
class NotFound(Error):
    pass


class ImageError(Error):
    pass


class Exists(Error):
    pass


class Forbidden(Error):
    pass


_CLASSES = {8: NotFound, 9: ImageError, 12: Exists, 13: Forbidden}


def _raise(code, err=None, message=None):
    text = message
    if text is None and err is not None:
        text = err.message.decode("utf-8", "replace")
    if not text:
        text = _abi.load().mien_strerror(code).decode()
    raise _CLASSES.get(code, Error)(code, text)


def _check(code, err=None):
    if code != 0:
        _raise(code, err)


def _enc(text):
    return None if text is None else os.fsencode(text) if isinstance(text, os.PathLike) \
        else text.encode("utf-8")


def _name_value(parse, text, what):
    """An enum's value from its mien name (mien_profile_parse and friends)."""
    v = ctypes.c_int()
    if parse(_enc(text), ctypes.byref(v)) != 0:
        raise Error(1, f"unknown {what} '{text}'")
    return v.value


class _Owned:
    """A C object this Python object owns: close() frees it (with the library's `_free`
    function) once, a second call doing nothing; so do the end of a `with` block and, as a
    last resort, the garbage collector. A use after close is Error code 1."""
    _free = None      # the mien_*_free function's name
    _what = "object"  # for the message of a use after close
    _handle = None

    def _ptr(self):
        if self._handle is None:
            raise Error(1, f"the {self._what} is closed")
        return self._handle

    def close(self):
        h, self._handle = self._handle, None
        if h is not None:
            getattr(self._lib, self._free)(h)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


# ---- engine ----------------------------------------------------------------------------------


def models_candidates(models=None):
    """Where the models folder is looked for: `models`, $MIEN_MODELS, ./models, the tree's
    models/ beside a library from the build tree, then the installed share/mien/models."""
    out = [os.fspath(models)] if models else []
    if os.environ.get("MIEN_MODELS"):
        out.append(os.environ["MIEN_MODELS"])
    out.append("models")
    lib = _abi.loaded_path() or ""
    if lib.startswith(os.path.join(_abi.TREE_ROOT, "build") + os.sep):
        out.append(os.path.join(_abi.TREE_ROOT, "models"))
    return out + _abi.installed_models()


class Engine(_Owned):
    """The face models, loaded once from a models folder (mien_engine), and one inference
    session per thread that uses it (mien_session). `precision` ("f32", "bf16", "bf16-all")
    and `max_isa` ("avx2", ...) default to $MIEN_PRECISION and $MIEN_MAX_ISA, as for the mien
    command. Close it (or use `with`) to free the models and every session, once no thread
    uses it; closing twice is safe."""

    _what = "engine"

    def __init__(self, models=None, *, library=None, threads=1, precision=None, max_isa=None):
        self._lib = _abi.load(library)
        lib = self._lib
        tried = models_candidates(models)
        # A folder named (argument or $MIEN_MODELS) is used as given, its error naming it;
        # otherwise the first that exists, or ./models for the library's own message.
        explicit = bool(models or os.environ.get("MIEN_MODELS"))
        folder = tried[0] if explicit else next((d for d in tried if os.path.isdir(d)),
                                                "models")
        self.models = os.path.abspath(folder)
        opt = lib.mien_engine_options_default()
        opt.models_dir = _enc(folder)
        opt.threads = threads
        err = _abi.Error()
        precision = precision or os.environ.get("MIEN_PRECISION") or None
        if precision:
            v = ctypes.c_int()
            _check(lib.mien_precision_parse(_enc(precision), ctypes.byref(v), ctypes.byref(err)),
                   err)
            opt.precision = v.value
        max_isa = max_isa or os.environ.get("MIEN_MAX_ISA") or None
        if max_isa:
            v = ctypes.c_int()
            _check(lib.mien_isa_parse(_enc(max_isa), ctypes.byref(v), ctypes.byref(err)), err)
            opt.max_isa = v.value
        handle = ctypes.c_void_p()
        st = lib.mien_engine_new(ctypes.byref(opt), ctypes.byref(handle), ctypes.byref(err))
        if st != 0 and not explicit:
            _raise(st, message=err.message.decode("utf-8", "replace") +
                   " (looked in: " + ", ".join(tried) + "; set MIEN_MODELS or pass models=)")
        _check(st, err)
        self._handle = handle
        self._local = threading.local()
        self._sessions = []
        self._sessions_lock = threading.Lock()

    def session(self):
        """This thread's session (mien.h: a session belongs to one thread)."""
        handle = self._ptr()
        s = getattr(self._local, "session", None)
        if s is None:
            h = ctypes.c_void_p()
            err = _abi.Error()
            _check(self._lib.mien_session_new(handle, ctypes.byref(h), ctypes.byref(err)),
                   err)
            s = self._local.session = h
            with self._sessions_lock:
                self._sessions.append(h)
        return s

    def close(self):
        """Frees every session, then the models. Safe to call twice."""
        h, self._handle = self._handle, None
        if h is None:
            return
        with self._sessions_lock:
            for s in self._sessions:
                self._lib.mien_session_free(s)
            self._sessions = []
        self._lib.mien_engine_free(h)

    # The calls, on this engine (the module's functions use the default engine).
    def detect(self, image, **kw):
        return detect(image, engine=self, **kw)

    def embed(self, image, **kw):
        return embed(image, engine=self, **kw)

    def compare(self, a, b, **kw):
        return compare(a, b, engine=self, **kw)


_default = None
_default_lock = threading.Lock()


def default_engine():
    """The engine the module's functions use, made on first use from the default models
    folder (see models_candidates)."""
    global _default
    with _default_lock:
        if _default is None or _default._handle is None:
            _default = Engine()
        return _default


# ---- images ----------------------------------------------------------------------------------


class Image(_Owned):
    """A decoded picture (mien_image). `source` is a path (str or os.PathLike), the file's
    bytes (bytes, bytearray, memoryview), or an RGB array of shape (height, width, 3) and
    dtype uint8 (numpy, when installed). JPEG, PNG and WebP are read by content; EXIF
    orientation is applied. Bad input raises ImageError (code 9), an unreadable file Error
    with code 3. Decode once, use it for detect and embed: `with mien.Image(p) as img:`."""

    _free, _what = "mien_image_free", "image"

    def __init__(self, source, *, library=None):
        self._lib = _abi.load(library)
        self.sha256 = None  # SHA-256 of the input bytes, for the audit log (not for arrays)
        h = ctypes.c_void_p()
        err = _abi.Error()
        opt = self._lib.mien_image_options_faces()
        if isinstance(source, (str, os.PathLike)):
            st = self._lib.mien_image_load(os.fsencode(source), ctypes.byref(opt), ctypes.byref(h),
                                           ctypes.byref(err))
            if st == 0:
                self.sha256 = _file_sha256(source)
        elif isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
            st = self._lib.mien_image_decode(data, len(data), ctypes.byref(opt), ctypes.byref(h),
                                             ctypes.byref(err))
            self.sha256 = sha256(data)
        elif hasattr(source, "__array_interface__"):
            st = self._from_array(source, h, err)
        else:
            raise Error(1, "an image is a path, bytes, or an RGB array (height, width, 3), "
                           f"not {type(source).__name__}")
        _check(st, err)
        self._handle = h
        self.width = self._lib.mien_image_original_width(h)
        self.height = self._lib.mien_image_original_height(h)

    def rgb(self):
        """The decoded pixels: (width, height, bytes), RGB, rows without padding. A big JPEG
        may have been decoded at 1/2 to 1/8 scale (mien.h mien_image_options_faces), so width
        and height may be below the original's (self.width, self.height, in which every
        coordinate mien reports is given)."""
        w, h = self._lib.mien_image_width(self._ptr()), self._lib.mien_image_height(self._ptr())
        return w, h, ctypes.string_at(self._lib.mien_image_pixels(self._ptr()), w * h * 3)

    def __array__(self, dtype=None, copy=None):
        import numpy  # optional: only asked for by numpy itself
        w, h, data = self.rgb()
        return numpy.frombuffer(data, numpy.uint8).reshape(h, w, 3).astype(dtype or numpy.uint8)

    def _from_array(self, arr, h, err):
        shape = tuple(arr.shape)
        if len(shape) != 3 or shape[2] != 3 or str(arr.dtype) != "uint8":
            raise Error(1, f"an image array is (height, width, 3) uint8 RGB, not {shape} "
                           f"{arr.dtype}")
        import numpy  # only here: numpy is optional, and an array means it is installed
        arr = numpy.ascontiguousarray(arr)
        return self._lib.mien_image_from_rgb(arr.ctypes.data, shape[1], shape[0], shape[1] * 3,
                                             ctypes.byref(h), ctypes.byref(err))


def sha256(data):
    """SHA-256 of bytes (mien_sha256: the digest the audit log records)."""
    out = (ctypes.c_uint8 * 32)()
    _check(_abi.load().mien_sha256(bytes(data), len(data), out))
    return bytes(out)


def _file_sha256(path):
    import hashlib  # the same FIPS 180-4 digest, streamed: a file need not fit in memory
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.digest()


class _Borrowed:
    """An Image made here from a caller's source (closed at the end), or the caller's own."""

    def __init__(self, source):
        self.own = not isinstance(source, Image)
        self.image = Image(source) if self.own else source

    def __enter__(self):
        return self.image

    def __exit__(self, *exc):
        if self.own:
            self.image.close()


# ---- faces -----------------------------------------------------------------------------------


@dataclass
class Quality:
    """mien_quality: what the enrolment rules judge (docs/quality.md)."""
    interocular_px: float
    sharpness: float
    yaw: float
    pitch: float
    roll: float
    detector_score: float
    landmark_score: float
    klass: str  # "low", "medium", "high"


@dataclass
class Face:
    """One detected face, in pixels of the original picture: box (x1, y1, x2, y2), score,
    five landmarks (left eye, right eye, nose, left and right mouth corners) and quality.
    `index` is its place in the detection order (best score first)."""
    index: int
    box: tuple
    score: float
    landmarks: tuple
    quality: Quality
    _raw: object = field(default=None, repr=False, compare=False)


def _face(lib, raw, index):
    q = raw.quality
    copy = _abi.Face.from_buffer_copy(raw)  # own the bytes: the C array is freed right after
    return Face(index=index, box=tuple(raw.box), score=raw.score,
                landmarks=tuple((p[0], p[1]) for p in raw.landmarks),
                quality=Quality(q.interocular_px, q.sharpness, q.yaw, q.pitch, q.roll,
                                q.detector_score, q.landmark_score,
                                lib.mien_quality_class_name(q.klass).decode()),
                _raw=copy)


def detect(image, *, min_score=0.0, small_faces=False, max_faces=0, engine=None):
    """Every face of `image` (a path, bytes, an RGB array or an Image), best score first: a
    list of Face (empty when none). face_recognition's face_locations, DeepFace's
    extract_faces."""
    engine = engine or default_engine()
    lib = engine._lib
    opt = lib.mien_detect_options_default()
    opt.min_score, opt.small_faces, opt.max_faces = min_score, small_faces, max_faces
    faces = ctypes.POINTER(_abi.Face)()
    n = ctypes.c_size_t()
    err = _abi.Error()
    with _Borrowed(image) as img:
        _check(lib.mien_detect(engine.session(), img._ptr(), ctypes.byref(opt),
                               ctypes.byref(faces), ctypes.byref(n), ctypes.byref(err)), err)
    try:
        return [_face(lib, faces[i], i) for i in range(n.value)]
    finally:
        lib.mien_faces_free(ctypes.cast(faces, ctypes.c_void_p))


# ---- templates -------------------------------------------------------------------------------


class Template(_Owned):
    """What mien keeps of a face (mien_template): L2-normalised embeddings of a profile's
    models. len(t) is the number of floats; t.vector() the floats (part 0: embedder A, 1:
    embedder B for `accurate`); numpy.asarray(t) works when numpy is installed. bytes(t) and
    Template.from_bytes() serialise it. `face` is the face it was made from (None after
    from_bytes), `faces` how many faces its picture had."""

    _free, _what = "mien_template_free", "template"

    def __init__(self, lib, handle, face=None, faces=0, sha=None):
        self._lib, self._handle, self.face, self.faces, self._sha = lib, handle, face, faces, sha

    @classmethod
    def from_bytes(cls, data, *, library=None):
        lib = _abi.load(library)
        h = ctypes.c_void_p()
        err = _abi.Error()
        data = bytes(data)
        _check(lib.mien_template_deserialize(data, len(data), ctypes.byref(h), ctypes.byref(err)),
               err)
        return cls(lib, h)

    @property
    def profile(self):
        return self._lib.mien_profile_name(self._lib.mien_template_profile(self._ptr())).decode()

    def vector(self, part=None):
        """The floats of `part` (0 or 1), or of every part in turn (None), as a list."""
        out = []
        for p in ([part] if part is not None else range(2)):
            data = ctypes.POINTER(ctypes.c_float)()
            dim = ctypes.c_int()
            st = self._lib.mien_template_vector(self._ptr(), p, ctypes.byref(data),
                                                ctypes.byref(dim))
            if st != 0:
                if part is not None or p == 0:
                    _raise(st, message=f"the template has no part {p}")
                break
            out += data[:dim.value]
        return out

    def __len__(self):
        return len(self.vector())

    def __array__(self, dtype=None, copy=None):
        import numpy  # optional: only asked for by numpy itself
        return numpy.asarray(self.vector(), dtype=dtype or numpy.float32)

    def __bytes__(self):
        n = ctypes.c_size_t()
        self._lib.mien_template_serialize(self._ptr(), None, 0, ctypes.byref(n))
        buf = ctypes.create_string_buffer(n.value)
        _check(self._lib.mien_template_serialize(self._ptr(), buf, n.value, ctypes.byref(n)))
        return buf.raw[:n.value]


def _choice(face):
    if face is None or face == "prominent":
        return _abi.FACE_PROMINENT
    if face == "largest":
        return _abi.FACE_LARGEST
    if isinstance(face, int) and face >= 0:
        return face
    raise Error(1, f"face is an index >= 0, a Face, 'prominent' or 'largest', not {face!r}")


def _find(engine, img, face):
    """(the chosen Face, every Face) of img; `face` an index, a rule or a Face. No face, or
    no face N: NotFound (code 8) with mien's words."""
    lib = engine._lib
    if isinstance(face, Face):
        return face, None
    pick = _abi.FacePick()
    err = _abi.Error()
    st = lib.mien_face_find(engine.session(), img._ptr(), _choice(face), ctypes.byref(pick),
                            ctypes.byref(err))
    try:
        faces = [_face(lib, pick.faces[i], i) for i in range(pick.count)]
    finally:
        lib.mien_faces_free(ctypes.cast(pick.faces, ctypes.c_void_p))
    if st != 0:
        e = (NotFound if st == 8 else Error)(st, err.message.decode("utf-8", "replace"),
                                             "no_face" if st == 8 else None)
        e.faces = len(faces)
        raise e
    return faces[pick.index], faces


def _embed_face(engine, img, chosen, profile, faces_found):
    lib = engine._lib
    h = ctypes.c_void_p()
    err = _abi.Error()
    _check(lib.mien_embed(engine.session(), img._ptr(), ctypes.byref(chosen._raw), profile,
                          ctypes.byref(h), ctypes.byref(err)), err)
    return Template(lib, h, chosen, faces_found, img.sha256)


def embed(image, *, face=None, profile="fast", engine=None):
    """The template of one face of `image`: by default the most prominent (largest and most
    central); `face` an index in detect()'s order, a Face from detect() on this image,
    "prominent" or "largest". profile "fast" (192 floats) or "accurate" (192 + 512). No face
    → NotFound (code 8). face_recognition's face_encodings, DeepFace's represent."""
    engine = engine or default_engine()
    prof = _name_value(engine._lib.mien_profile_parse, profile, "profile")
    with _Borrowed(image) as img:
        chosen, faces = _find(engine, img, face)
        return _embed_face(engine, img, chosen, prof, len(faces) if faces else 0)


@dataclass
class Comparison:
    """mien.compare's answer: the similarity (cosine), the calibrated false-match rate at
    which it would be accepted (the fraction of different-person pairs scoring as high), and
    the decision at `at_fmr`: same_person when similarity >= threshold."""
    similarity: float
    fmr: float
    same_person: bool
    threshold: float
    at_fmr: float
    profile: str

    @property
    def decision(self):
        return "same person" if self.same_person else "different people"

    def __bool__(self):
        return self.same_person


def compare(a, b, *, fmr=1e-4, profile="fast", engine=None):
    """Are the people in a and b the same person? a and b are images (the most prominent face
    of each) or Templates. Decides at false-match rate `fmr` (default 1e-4, as `mien compare`).
    A local measurement: nothing is recorded (a Store's searches are audited).
    DeepFace's verify, face_recognition's compare_faces."""
    ta = a if isinstance(a, Template) else embed(a, profile=profile, engine=engine)
    tb = b if isinstance(b, Template) else embed(b, profile=profile, engine=engine)
    lib = ta._lib
    try:
        sim = ctypes.c_float()
        err = _abi.Error()
        _check(lib.mien_template_compare(ta._ptr(), tb._ptr(), ctypes.byref(sim),
                                         ctypes.byref(err)), err)
        prof = lib.mien_template_profile(ta._ptr())
        at = ctypes.c_double()
        thr = ctypes.c_float()
        _check(lib.mien_similarity_fmr(prof, sim.value, ctypes.byref(at)))
        _check(lib.mien_threshold_for_fmr(prof, fmr, ctypes.byref(thr)))
        return Comparison(similarity=sim.value, fmr=at.value, same_person=sim.value >= thr.value,
                          threshold=thr.value, at_fmr=fmr,
                          profile=lib.mien_profile_name(prof).decode())
    finally:
        if ta is not a:
            ta.close()
        if tb is not b:
            tb.close()


def default_actor():
    """"python:USER" for the audit log (the uid when $USER is not a plain account name), as
    the CLI records "cli:USER"."""
    try:
        user = getpass.getuser()
    except Exception:
        user = ""
    if re.fullmatch(r"[A-Za-z0-9_.@-]{1,64}", user or ""):
        return f"python:{user}"
    return f"python:uid{os.getuid()}"
