#!/usr/bin/python3
"""bench/python.py — what the Python package (python/mien/) costs per call, on one thread:
engine load, detect, embed (decode + detect + embed) on models/samples/sample1.jpg, and a
compare of two templates (ctypes' overhead around a 192-float dot product).

    /usr/bin/python3 bench/python.py [ROUNDS]      (after `make build`; docs/python.md)"""
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
import mien  # noqa: E402

n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
models = os.environ.get("MIEN_MODELS") or os.path.join(ROOT, "models")
img = os.path.join(models, "samples", "sample1.jpg")
t0 = time.perf_counter()
eng = mien.Engine(models)
t1 = time.perf_counter()
eng.detect(img)  # warm-up: the first run at an input shape plans it
eng.embed(img, face=2)
t2 = time.perf_counter()
for _ in range(n):
    eng.detect(img)
t3 = time.perf_counter()
for _ in range(n):
    eng.embed(img, face=2)
t4 = time.perf_counter()
a, b = eng.embed(img, face=2), eng.embed(os.path.join(models, "samples", "sample2.jpg"), face=0)
t5 = time.perf_counter()
for _ in range(100 * n):
    eng.compare(a, b)
t6 = time.perf_counter()
print(f"engine load {1e3 * (t1 - t0):.0f} ms; detect {1e3 * (t3 - t2) / n:.1f} ms; "
      f"embed {1e3 * (t4 - t3) / n:.1f} ms; compare {1e6 * (t6 - t5) / (100 * n):.1f} us "
      f"({n} rounds, library {mien.library_path()})")
