"""Load a scan folder's DICOMDIR with pydicom's FileSet and read every
instance it lists: checkfileset.py SCAN_DIR; prints the instance count."""
import sys, os
import pydicom
from pydicom.fileset import FileSet

fs = FileSet(pydicom.dcmread(os.path.join(sys.argv[1], "DICOMDIR")))
n = 0
for inst in fs:
    ds = inst.load()
    if ds.SOPInstanceUID != inst.SOPInstanceUID:
        sys.exit("SOP Instance UID differs between DICOMDIR and file")
    n += 1
print(n)
