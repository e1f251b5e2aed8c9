"""test_mien.py — the Python package (python/mien/) over libmien.so, with Debian's python3 and
unittest only (CTest `python`). CTest passes MIEN_LIBRARY (build/libmien.so), MIEN_ABI_LAYOUT
(the C program that prints the structs' layout) and MIEN_CLI (the mien binary, to check the
binding answers as the command does). Photos: models/samples (scripts/setup)."""

import ctypes
import json
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))

import mien  # noqa: E402
from mien import _abi  # noqa: E402

MODELS = os.environ.get("MIEN_MODELS") or os.path.join(ROOT, "models")
S1 = os.path.join(MODELS, "samples", "sample1.jpg")
S2 = os.path.join(MODELS, "samples", "sample2.jpg")
# As tests/cli/test_cli.sh: sample1.jpg's face 2 and sample2.jpg's face 0 are two different
# people, both of high quality; sample1.jpg has 3 faces.
BASIS = "consent, GDPR Art. 9(2)(a)"
HAVE_SAMPLES = os.path.exists(S2) and os.path.exists(os.path.join(MODELS, "pnet.tflite"))


class Layout(unittest.TestCase):
    """_abi.py's ctypes mirror against what the C compiler makes of mien.h."""

    def setUp(self):
        prog = os.environ.get("MIEN_ABI_LAYOUT")
        if not prog:
            self.fail("MIEN_ABI_LAYOUT is not set (run through CTest: ctest -R python)")
        self.c = {}
        for line in subprocess.run([prog], check=True, capture_output=True,
                                   text=True).stdout.splitlines():
            *key, value = line.split()
            self.c[" ".join(key)] = int(value)

    def test_structs(self):
        seen = set()
        for cname, cls in _abi.STRUCTS.items():
            self.assertIn(cname, self.c, f"abi_layout.c does not print {cname}")
            self.assertEqual(ctypes.sizeof(cls), self.c[cname], f"sizeof({cname})")
            seen.add(cname)
            for fname, _ in cls._fields_:
                key = f"{cname}.{fname}"
                self.assertIn(key, self.c, f"abi_layout.c does not print {key}")
                self.assertEqual(getattr(cls, fname).offset, self.c[key], f"offsetof({key})")
                seen.add(key)
        printed = {k for k in self.c if k.startswith("mien_")}
        self.assertEqual(printed - seen, set(), "printed by C but not mirrored in _abi.py")

    def test_numbers(self):
        c_status = {v: k.split()[1] for k, v in self.c.items() if k.startswith("status ")}
        self.assertEqual(c_status, _abi.STATUS)
        self.assertEqual(mien.ERR_FORBIDDEN, self.c["status ERR_FORBIDDEN"])
        self.assertEqual(_abi.FACE_PROMINENT, self.c["const FACE_PROMINENT"])
        self.assertEqual(_abi.FACE_LARGEST, self.c["const FACE_LARGEST"])
        for name, v in _abi.REFUSAL.items():
            self.assertEqual(v, self.c[f"refusal {name}"])
        for name, v in _abi.SEARCH_MODE.items():
            self.assertEqual(v, self.c[f"search_mode {name}"])

    def test_layout_check_can_fail(self):
        # a mirror with one field missing is caught (the check is not vacuous)
        class Short(ctypes.Structure):
            _fields_ = _abi.Verification._fields_[:-1]
        self.assertNotEqual(ctypes.sizeof(Short), self.c["mien_verification"])


@unittest.skipUnless(HAVE_SAMPLES, "models/samples missing (run scripts/setup)")
class Faces(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.engine = mien.Engine(MODELS)

    @classmethod
    def tearDownClass(cls):
        cls.engine.close()

    def cli(self, *args):
        prog = os.environ.get("MIEN_CLI")
        if not prog:
            self.skipTest("MIEN_CLI not set")
        env = dict(os.environ, MIEN_MODELS=MODELS)
        env.pop("MIEN_STORE", None)
        out = subprocess.run([prog, *args, "--json"], check=True, capture_output=True,
                             text=True, env=env).stdout
        return json.loads(out.splitlines()[0])

    def test_detect(self):
        faces = self.engine.detect(S1)
        self.assertEqual(len(faces), 3)
        self.assertEqual([f.index for f in faces], [0, 1, 2])
        f = faces[0]
        self.assertEqual(len(f.box), 4)
        self.assertLess(f.box[0], f.box[2])
        self.assertEqual(len(f.landmarks), 5)
        self.assertIn(f.quality.klass, ("low", "medium", "high"))
        self.assertEqual(len(self.engine.detect(S1, max_faces=1)), 1)
        with open(S1, "rb") as fh:
            self.assertEqual(len(self.engine.detect(fh.read())), 3)  # bytes as well as paths
        # the same faces as `mien detect`
        cli = self.cli("detect", S1)
        self.assertEqual(len(cli["faces"]), len(faces))

    def test_embed(self):
        t = self.engine.embed(S1, face=2)
        self.assertEqual(len(t), 192)
        self.assertEqual(t.profile, "fast")
        self.assertEqual((t.face.index, t.faces), (2, 3))
        self.assertAlmostEqual(sum(v * v for v in t.vector()), 1.0, places=4)
        again = mien.Template.from_bytes(bytes(t))
        self.assertEqual(again.vector(), t.vector())
        acc = self.engine.embed(S1, face=2, profile="accurate")
        self.assertEqual(len(acc), 192 + 512)
        with self.assertRaises(mien.Error) as e:
            self.engine.compare(t, acc)  # different models are never compared
        self.assertEqual(e.exception.code, mien.ERR_ARG)
        with self.assertRaises(mien.NotFound) as e:
            self.engine.embed(S1, face=7)
        self.assertEqual((e.exception.code, e.exception.faces), (mien.ERR_NOT_FOUND, 3))

    def test_compare(self):
        with open(S1, "rb") as fh:
            same = self.engine.compare(S1, fh.read())
        self.assertTrue(same.same_person)
        self.assertEqual(same.decision, "same person")
        self.assertGreater(same.similarity, 0.99)
        a, b = self.engine.embed(S1, face=2), self.engine.embed(S2, face=0)
        diff = self.engine.compare(a, b)
        self.assertFalse(diff)
        self.assertEqual(diff.decision, "different people")
        self.assertGreater(diff.fmr, 1e-4)
        self.assertLess(diff.similarity, diff.threshold)
        # the most prominent faces, as `mien compare` answers
        mine = self.engine.compare(S1, S2)
        cli = self.cli("compare", S1, S2)
        self.assertAlmostEqual(mine.similarity, cli["similarity"], places=4)
        self.assertEqual(mine.same_person, cli["same_person"])

    def test_bad_input(self):
        with self.assertRaises(mien.ImageError) as e:
            self.engine.detect(b"this is not a picture")
        self.assertEqual(e.exception.code, mien.ERR_IMAGE)
        self.assertEqual(e.exception.status, "ERR_IMAGE")
        with self.assertRaises(mien.Error) as e:
            self.engine.detect(os.path.join(MODELS, "samples", "no-such.jpg"))
        self.assertEqual(e.exception.code, mien.ERR_IO)
        with self.assertRaises(mien.Error) as e:
            self.engine.detect(12)
        self.assertEqual(e.exception.code, mien.ERR_ARG)
        with self.assertRaises(mien.Error) as e:
            self.engine.embed(S1, profile="quick")
        self.assertEqual(e.exception.code, mien.ERR_ARG)
        with self.assertRaises(mien.Error) as e:
            mien.Engine(os.path.join(MODELS, "no-such-folder"))
        self.assertEqual(e.exception.code, mien.ERR_IO)

    def test_close_twice(self):
        eng = mien.Engine(MODELS)
        img = mien.Image(S1)
        self.assertEqual((img.width, img.height) > (0, 0), True)
        t = eng.embed(img)
        self.assertEqual(len(eng.detect(img)), 3)  # one decode, used twice
        for obj in (t, img, eng):
            obj.close()
            obj.close()
        with self.assertRaises(mien.Error):
            eng.detect(S1)
        with self.assertRaises(mien.Error):
            len(t)
        with mien.Image(S1) as img2:
            pass
        img2.close()

    def test_threads(self):
        # one engine, a session per thread (mien.h: a session belongs to one thread)
        import threading
        counts, errors = [], []

        def work():
            try:
                for _ in range(3):
                    counts.append(len(self.engine.detect(S1)))
            except Exception as e:  # reported below: a thread's failure must fail the test
                errors.append(e)
        threads = [threading.Thread(target=work) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(counts, [3] * 9)
        self.assertGreaterEqual(len(self.engine._sessions), 3)

    def test_numpy_optional(self):
        code = "import sys, mien; sys.exit('numpy' in sys.modules)"
        r = subprocess.run([sys.executable, "-c", code], env=dict(
            os.environ, PYTHONPATH=os.path.join(ROOT, "python")))
        self.assertEqual(r.returncode, 0, "import mien imported numpy")
        try:
            import numpy
        except ImportError:
            return
        with mien.Image(S1) as img:
            arr = numpy.asarray(img)
            self.assertEqual(arr.shape, (img.height, img.width, 3))  # not scaled: 1280 high
        from_array = self.engine.detect(arr)
        self.assertEqual([f.box for f in from_array], [f.box for f in self.engine.detect(S1)])
        self.assertEqual(self.engine.detect(numpy.zeros_like(arr)), [])
        with self.assertRaises(mien.Error) as e:
            self.engine.detect(arr[:, :, :2])
        self.assertEqual(e.exception.code, mien.ERR_ARG)
        self.assertEqual(numpy.asarray(self.engine.embed(S1)).shape, (192,))


@unittest.skipUnless(HAVE_SAMPLES, "models/samples missing (run scripts/setup)")
class Finding(unittest.TestCase):
    """Where the library and the models are found, each in a fresh interpreter."""

    def run_py(self, code, cwd, **env):
        e = {k: v for k, v in os.environ.items()
             if k not in ("MIEN_LIBRARY", "MIEN_MODELS", "MIEN_STORE")}
        e.update(env, PYTHONPATH=os.path.join(ROOT, "python"))
        return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=e,
                              capture_output=True, text=True)

    def test_installed_layout(self):
        # PREFIX/lib/libmien.so.0 finds PREFIX/share/mien/models from any directory
        lib = os.environ.get("MIEN_LIBRARY") or os.path.join(ROOT, "build", "libmien.so")
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "lib"))
            os.makedirs(os.path.join(d, "share", "mien"))
            os.symlink(os.path.abspath(lib), os.path.join(d, "lib", "libmien.so.0"))
            os.symlink(MODELS, os.path.join(d, "share", "mien", "models"))
            code = "import mien; e = mien.Engine(); print(e.models)"
            r = self.run_py(code, d, MIEN_LIBRARY=os.path.join(d, "lib", "libmien.so.0"))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.strip(), os.path.join(d, "share", "mien", "models"))
            # $MIEN_MODELS comes first; a wrong one is an error naming it, not a fallback
            r = self.run_py(code, d, MIEN_LIBRARY=os.path.join(d, "lib", "libmien.so.0"),
                            MIEN_MODELS=os.path.join(d, "elsewhere"))
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("elsewhere", r.stderr)

    def test_explicit_library_must_load(self):
        with tempfile.TemporaryDirectory() as d:
            r = self.run_py("import mien; mien.Engine()", d,
                            MIEN_LIBRARY=os.path.join(d, "libmien.so"))
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("libmien cannot be loaded; tried: " + os.path.join(d, "libmien.so"),
                          r.stderr)
            r = self.run_py("import mien; mien.load_library(); print(mien.library_path())", d)
            self.assertEqual(r.stdout.strip(), os.path.join(ROOT, "build", "libmien.so"))


@unittest.skipUnless(HAVE_SAMPLES, "models/samples missing (run scripts/setup)")
class Gallery(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.engine = mien.Engine(MODELS)
        self.db = os.path.join(self.dir.name, "g.db")
        self.store = mien.Store("sqlite:" + self.db, engine=self.engine)

    def tearDown(self):
        self.store.close()
        self.engine.close()
        self.dir.cleanup()

    def test_enroll_search_erase(self):
        self.assertTrue(self.store.key_created)
        self.assertEqual(self.store.key_file, self.db + ".key")
        people = self.store.create_collection("people", purposes=["access_control"],
                                              legal_basis=BASIS, description="python test")
        with self.assertRaises(mien.Exists):
            self.store.create_collection("people", purposes="x", legal_basis=BASIS)
        self.assertEqual([c.name for c in self.store.collections()], ["people"])
        self.assertEqual(people.info().purposes, ["access_control"])
        with self.assertRaises(mien.NotFound):
            self.store.collection("nobody")

        # enrolment: consent required; a group photo needs a say-which
        with self.assertRaises(mien.Forbidden) as e:
            people.enroll("A", S1, face=2)
        self.assertEqual(e.exception.code, mien.ERR_FORBIDDEN)
        with self.assertRaises(mien.Error) as e:
            people.enroll("A", S1, consent="F-1")
        self.assertEqual((e.exception.code, e.exception.reason), (mien.ERR_ARG, "several_faces"))
        fa = people.enroll("A", S1, face=2, consent="F-1", case_ref="T-1", crop=True)
        with open(S2, "rb") as fh:
            fb = people.enroll("B", fh.read(), face=0, consent="F-2", display_name="Bea")
        self.assertNotEqual(fa, fb)
        with self.assertRaises(mien.Exists):
            people.enroll("A", S1, face=2, consent="F-1")
        self.assertEqual({s.subject: s.faces for s in people.subjects(purpose="access_control")},
                         {"A": 1, "B": 1})

        # search: purpose and case required, refusals carry mien's codes
        probe = self.engine.embed(S1, face=2)
        with self.assertRaises(mien.Error) as e:
            people.search(probe)
        self.assertEqual(e.exception.code, mien.ERR_ARG)
        with self.assertRaises(mien.Forbidden) as e:
            people.search(probe, purpose="marketing", case_ref="T-2")
        self.assertEqual(e.exception.code, mien.ERR_FORBIDDEN)
        hits = people.search(probe, purpose="access_control", case_ref="T-2")
        self.assertEqual([c.subject for c in hits], ["A"])
        self.assertEqual(hits.candidates[0].face_id, fa)
        self.assertGreater(hits.candidates[0].similarity, 0.99)
        self.assertTrue(hits.review_id)
        hits = people.search(S2, purpose="access_control", case_ref="T-3", face=0)
        self.assertEqual([c.subject for c in hits], ["B"])
        v = people.verify("B", S1, face=2, purpose="access_control", case_ref="T-4")
        self.assertFalse(v.accepted)

        # erasure: a receipt, and A is gone from searches
        receipt = people.erase("A", case_ref="T-5")
        self.assertEqual((receipt.faces_deleted, receipt.crops_deleted), (1, 1))
        self.assertEqual(len(receipt.subject_hash), 64)
        self.assertGreater(receipt.audit_seq, 0)
        self.assertEqual(len(people.search(probe, purpose="access_control", case_ref="T-6")), 0)
        with self.assertRaises(mien.NotFound) as e:
            people.erase("A")
        self.assertEqual(e.exception.code, mien.ERR_NOT_FOUND)
        report = self.store.audit_verify()
        self.assertTrue(report.ok, report.problem)
        self.assertGreater(report.entries, 8)

    def test_refusals_are_audited(self):
        people = self.store.create_collection("people", purposes="access_control",
                                              legal_basis=BASIS)
        before = self.store.audit_verify().entries
        with self.assertRaises(mien.Error):
            people.enroll("A", S1, consent="F-1")  # several faces
        with self.assertRaises(mien.NotFound) as e:
            people.enroll("A", S1, face=9, consent="F-1")
        self.assertEqual(e.exception.reason, "no_face")
        with self.assertRaises(mien.Error):
            people.search(S1, face=2)  # no purpose
        self.assertEqual(self.store.audit_verify().entries, before + 3)

    def test_close_twice(self):
        self.store.close()
        self.store.close()
        with self.assertRaises(mien.Error) as e:
            self.store.collections()
        self.assertEqual(e.exception.code, mien.ERR_ARG)
        with mien.Store(self.db, engine=self.engine) as again:
            self.assertFalse(again.key_created)


if __name__ == "__main__":
    unittest.main(verbosity=2)
