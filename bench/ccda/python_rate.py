#!/usr/bin/env python3
"""The Python side of bench/ccda: the test suite's reference reading
(platform/ccda/testdata/reference.py: xml.etree and path queries) over the
same corpus, held in memory, for the same time.

    python3 python_rate.py CORPUS SECONDS
    python3 python_rate.py --big FILE
"""
import importlib.util
import os
import statistics
import sys
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "reference", os.path.join(HERE, "..", "..", "platform", "ccda", "testdata", "reference.py"))
reference = importlib.util.module_from_spec(spec)
spec.loader.exec_module(reference)


def read(data):
    root = ET.fromstring(data)
    if root.tag != "{urn:hl7-org:v3}ClinicalDocument":
        raise ValueError("not a C-CDA")
    return reference.read(root)


def rate(corpus, seconds):
    docs = []
    for dp, _, fn in os.walk(corpus):
        for f in sorted(fn):
            if f.lower().endswith(".xml"):
                with open(os.path.join(dp, f), "rb") as fh:
                    docs.append(fh.read())
    size = sum(len(d) for d in docs)
    n, start, cpu0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        for d in docs:
            read(d)
            n += 1
    el = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    print("python %d docs (%d bytes) read %d times in %.2fs: %.1f docs/s, %.1f MB/s; cpu %.2fs: %.1f docs/cpu-s"
          % (len(docs), size, n, el, n / el, n * size / len(docs) / el / 1e6, cpu, n / cpu))


def big(path):
    with open(path, "rb") as fh:
        data = fh.read()
    times = []
    for _ in range(3):
        start = time.perf_counter()
        d = read(data)
        times.append(time.perf_counter() - start)
    print("python big C-CDA %d bytes, %d results: median %.0fms (min %.0fms, max %.0fms) over 3 reads"
          % (len(data), len(d["results"]), statistics.median(times) * 1e3, min(times) * 1e3, max(times) * 1e3))


if __name__ == "__main__":
    if sys.argv[1] == "--big":
        big(sys.argv[2])
    else:
        rate(sys.argv[1], float(sys.argv[2]))
