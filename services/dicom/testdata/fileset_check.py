"""Loads a file-set with pydicom's FileSet and prints, for every instance,
its path, the SOP Instance UID of its record and that of the file: for the
DICOMDIR given as argument, or for each DICOMDIR path read from standard
input, one JSON line each (one Python for a whole test run)."""
import json
import sys

from pydicom.fileset import FileSet


def check(path):
    out = []
    for inst in FileSet(path):
        ds = inst.load()
        out.append({
            "path": inst.path,
            "record_uid": str(inst.SOPInstanceUID),
            "file_uid": str(ds.SOPInstanceUID),
        })
    return out


if len(sys.argv) > 1:
    json.dump(check(sys.argv[1]), sys.stdout)
else:
    for line in sys.stdin:
        try:
            result = check(line.rstrip("\n"))
        except Exception as e:  # the test reports it with the path
            result = {"error": str(e)}
        print(json.dumps(result), flush=True)
