"""Loads a file-set with pydicom's FileSet and prints, for every instance,
its path, the SOP Instance UID of its record and that of the file."""
import json
import sys

from pydicom.fileset import FileSet

fs = FileSet(sys.argv[1])
out = []
for inst in fs:
    ds = inst.load()
    out.append({
        "path": inst.path,
        "record_uid": str(inst.SOPInstanceUID),
        "file_uid": str(ds.SOPInstanceUID),
    })
json.dump(out, sys.stdout)
