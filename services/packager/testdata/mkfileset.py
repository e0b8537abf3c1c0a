"""Write a DICOM file-set (DICOMDIR + instances) with pydicom, as the test
stand-in for the DICOM service's file-set writer: mkfileset.py OUT_DIR FILE..."""
import sys
import pydicom
from pydicom.fileset import FileSet

fs = FileSet()
for p in sys.argv[2:]:
    fs.add(pydicom.dcmread(p))
fs.write(sys.argv[1])
