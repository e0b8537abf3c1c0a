"""Header-only indexing baseline with pydicom: dcmread(stop_before_pixels=True) on every file.

Usage: python3 py_index.py DIR [DIR...]   (Debian's python3-pydicom)
Prints one summary line to stderr, like services/dicom/cmd/dicom-index --stats.
The peer the DICOM benchmark (run.sh) measures the indexer against.
"""
import os
import sys
import time

import pydicom

KEYS = ("PatientID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "Modality")


def main(roots):
    paths, total = [], 0
    for root in roots:
        for d, _, files in os.walk(root):
            for f in files:
                p = os.path.join(d, f)
                total += os.path.getsize(p)
                paths.append(p)
    paths.sort()
    failed = elements = 0
    start = time.perf_counter()
    for p in paths:
        try:
            ds = pydicom.dcmread(p, stop_before_pixels=True, force=True)
            elements += len(ds)
            for k in KEYS:
                ds.get(k)
        except Exception:
            failed += 1
    el = time.perf_counter() - start
    print(
        f"pydicom-{pydicom.__version__} files={len(paths)} failed={failed} bytes={total} "
        f"seconds={el:.3f} files_per_s={len(paths)/el:.1f} MB_per_s={total/1e6/el:.1f} top_elements={elements}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
