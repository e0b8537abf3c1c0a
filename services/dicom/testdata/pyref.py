"""Reference reader for the corpus test: pydicom dcmread(force=True,
stop_before_pixels=True) on each path given; prints one JSON object per path."""
import json
import sys

import pydicom

out = {}
for p in sys.argv[1:]:
    r = {"ok": False}
    try:
        ds = pydicom.dcmread(p, stop_before_pixels=True, force=True)
        r["ok"] = True
        for k in ("PatientID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
            v = ds.get(k)
            r[k] = "" if v is None else str(v).strip()
        r["PatientName"] = str(ds.get("PatientName", "") or "")
    except Exception as e:  # noqa: BLE001
        r["error"] = type(e).__name__
    out[p] = r
json.dump(out, sys.stdout)
