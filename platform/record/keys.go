package record

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strings"
)

// Default bucket names. Every service takes them from its Config.
const (
	DefaultIntakeBucket  = "handoff-intake"
	DefaultDerivedBucket = "handoff-derived"
	DefaultBundleBucket  = "handoff-bundles"
)

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewCaseID returns a random case ID: 16 lower-case base32 characters, safe in
// object keys, NATS subjects and KV keys.
func NewCaseID() string {
	var b [10]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return idEncoding.EncodeToString(b[:])
}

// ValidID reports whether s can be a case or file ID.
func ValidID(s string) bool {
	if len(s) < 4 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// FileID derives a file's ID from where it is stored, so that every
// redelivery of the same upload lands on the same record.
func FileID(bucket, key string) string {
	h := sha256.Sum256([]byte(bucket + "\x00" + key))
	return idEncoding.EncodeToString(h[:12])
}

// UploadsPrefix starts the key of every upload in the intake bucket: only
// these keys are notified (MinIO: mc event add … --prefix cases/).
const UploadsPrefix = "cases/"

// UploadPrefix is the intake-bucket prefix of a case's uploads.
func UploadPrefix(caseID string) string { return UploadsPrefix + caseID + "/uploads/" }

// UploadKey is where an upload of path to a case is stored in the intake bucket.
func UploadKey(caseID, path string) string { return UploadPrefix(caseID) + path }

// UploadRef is the key segment that stands for a file path in the keys of
// uploads made through the API: the path is the patient's choice (patient
// data), so the key holds a reference derived from it instead, and the
// path itself is kept in the case store (casestore.UploadName). The same
// path of a case gives the same reference, so a re-upload replaces the
// file.
func UploadRef(caseID, path string) string {
	h := sha256.Sum256([]byte("upload\x00" + caseID + "\x00" + path))
	return uploadRefPrefix + idEncoding.EncodeToString(h[:15])
}

const uploadRefPrefix = "u-"

// IsUploadRef reports whether a key's path is an UploadRef.
func IsUploadRef(path string) bool {
	if len(path) != len(uploadRefPrefix)+24 || !strings.HasPrefix(path, uploadRefPrefix) {
		return false
	}
	return ValidID(path[len(uploadRefPrefix):])
}

// ParseUploadKey splits an intake-bucket key "cases/{case}/uploads/{path}".
func ParseUploadKey(key string) (caseID, path string, ok bool) {
	rest, ok := strings.CutPrefix(key, UploadsPrefix)
	if !ok {
		return "", "", false
	}
	caseID, path, ok = strings.Cut(rest, "/uploads/")
	if !ok || !ValidID(caseID) || path == "" || strings.HasSuffix(path, "/") {
		return "", "", false
	}
	return caseID, path, true
}

// DerivedPrefix is the derived-bucket prefix for outputs made from one file.
func DerivedPrefix(caseID, fileID string) string {
	return "cases/" + caseID + "/files/" + fileID + "/"
}

// ArchiveEntryKey is where an expanded archive entry is stored in the
// derived bucket: per revision of the archive (its ETag), and under a
// reference to the entry's path rather than the path itself (patient
// data, kept in the entry's file record).
func ArchiveEntryKey(caseID, archiveID, archiveETag, entry string) string {
	rev := sha256.Sum256([]byte(archiveETag))
	e := sha256.Sum256([]byte("entry\x00" + entry))
	return "cases/" + caseID + "/archives/" + archiveID + "/" + idEncoding.EncodeToString(rev[:5]) + "/" + idEncoding.EncodeToString(e[:15])
}

// DicomIndexKey is the derived-bucket key of a case's imaging index.
func DicomIndexKey(caseID string) string { return "cases/" + caseID + "/dicom/index.json" }

// FileSetPrefix is the derived-bucket prefix of a scan folder's file-set
// in the index of the given basis (DicomIndex.Basis): each index writes
// its own, so an index never points at the file-sets of another.
func FileSetPrefix(caseID string, basis uint64, folder string) string {
	return fmt.Sprintf("cases/%s/dicom/filesets/%d/%s/", caseID, basis, folder)
}

// ReportKey is the derived-bucket key of a case's checklist report.
func ReportKey(caseID string) string { return "cases/" + caseID + "/report.json" }

// BundleKey is the bundles-bucket key of one bundle version. The readable
// name (the patient's names and birth date) is never part of it: it is the
// object's download file name (Content-Disposition) only.
func BundleKey(caseID string, version int) string {
	return fmt.Sprintf("cases/%s/bundles/v%d.zip", caseID, version)
}
