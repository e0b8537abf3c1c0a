package config

import (
	"runtime"
	"time"

	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/record"
)

// The variables of this file are the table of Handoff's settings, one
// entry per setting: nothing assigns to them, binaries read them with Add
// (taking another flag name with As or another default with WithDefault).

// Log formats and levels.
var (
	LogFormats = []string{"text", "json"}
	LogLevels  = []string{"debug", "info", "warn", "error"}
)

// Connections and operations: every binary.
var (
	NATSURL = Var[string]{Flag: "nats-url", Env: "HANDOFF_NATS_URL",
		Help: "NATS URL(s), comma-separated; handoff serve runs NATS embedded when empty"}
	NATSCreds = Var[string]{Flag: "nats-creds", Env: "HANDOFF_NATS_CREDS",
		Help: "NATS credentials file (.creds, JWT), for a NATS run in operator mode"}
	NATSKeys = Var[string]{Flag: "nats-keys", Env: "HANDOFF_NATS_KEYS",
		Help: "directory of the services' NATS nkey seeds (<role>.nk, written by handoff nats-auth); handoff serve keeps its own in <data>/nats-keys"}
	NATSCA = Var[string]{Flag: "nats-ca", Env: "HANDOFF_NATS_CA",
		Help: "CA certificate (PEM file) to trust for NATS's TLS; handoff serve --tls auto uses its own"}
	NATSCert = Var[string]{Flag: "nats-cert", Env: "HANDOFF_NATS_CERT",
		Help: "client certificate (PEM file) for NATS servers that verify clients"}
	NATSKey = Var[string]{Flag: "nats-key", Env: "HANDOFF_NATS_KEY",
		Help: "client certificate's key (PEM file)"}
	S3Endpoint = Var[string]{Flag: "s3-endpoint", Env: "HANDOFF_S3_ENDPOINT",
		Help: "S3/MinIO endpoint, http(s)://host:port; handoff serve runs S3 embedded when empty"}
	S3Region = Var[string]{Flag: "s3-region", Env: "HANDOFF_S3_REGION", Default: "us-east-1",
		Help: "S3 region"}
	S3CA = Var[string]{Flag: "s3-ca", Env: "HANDOFF_S3_CA",
		Help: "extra CA certificate (PEM file) for the S3 endpoint's TLS"}
	S3PublicURL = Var[string]{Flag: "s3-public-url", Env: "HANDOFF_S3_PUBLIC_URL",
		Help: "URL browsers and the CLI reach the S3 endpoint at, for presigned uploads and downloads (a proxy, a public name); default: the endpoint itself"}
	S3Insecure = Var[bool]{Flag: "s3-insecure", Env: "HANDOFF_S3_INSECURE",
		Help: "skip TLS verification of the S3 endpoint, development only"}
	S3AccessKey = Var[string]{Env: "HANDOFF_S3_ACCESS_KEY", Secret: true,
		Help: "S3 access key"}
	S3SecretKey = Var[string]{Env: "HANDOFF_S3_SECRET_KEY", Secret: true,
		Help: "S3 secret key"}
	HTTP = Var[string]{Flag: "http", Env: "HANDOFF_HTTP", Default: "127.0.0.1:8080",
		Help: "listen address of the API (intake) and of /healthz, /readyz and /metrics; port 0 picks one"}
	LogFormat = Var[string]{Flag: "log-format", Env: "HANDOFF_LOG_FORMAT", Default: "text", Choices: LogFormats,
		Help: "log format"}
	LogLevel = Var[string]{Flag: "log-level", Env: "HANDOFF_LOG_LEVEL", Default: "info", Choices: LogLevels,
		Help: "log level"}
	Replicas = Var[int]{Flag: "replicas", Env: "HANDOFF_REPLICAS", Default: 1,
		Help: "JetStream stream and key-value replicas (3 on a cluster)"}
	AuditMaxAge = Var[time.Duration]{Flag: "audit-max-age", Env: "HANDOFF_AUDIT_MAX_AGE", Default: 6 * 365 * 24 * time.Hour,
		Help: "how long the audit trail (the AUDIT stream) is kept"}
	BucketSubject = Var[string]{Flag: "bucket-subject", Env: "HANDOFF_BUCKET_SUBJECT", Default: event.DefaultBucketSubject,
		Help: "NATS subject bucket notifications arrive on"}
)

// Buckets.
var (
	IntakeBucket = Var[string]{Flag: "intake-bucket", Env: "HANDOFF_INTAKE_BUCKET", Default: record.DefaultIntakeBucket,
		Help: "bucket of uploads"}
	DerivedBucket = Var[string]{Flag: "derived-bucket", Env: "HANDOFF_DERIVED_BUCKET", Default: record.DefaultDerivedBucket,
		Help: "bucket of derived outputs (archive entries, searchable PDFs, text, DICOM index and file-sets)"}
	BundleBucket = Var[string]{Flag: "bundle-bucket", Env: "HANDOFF_BUNDLE_BUCKET", Default: record.DefaultBundleBucket,
		Help: "bucket of bundles, never public"}
)

// `handoff serve` only.
var (
	Data = Var[string]{Flag: "data", Env: "HANDOFF_DATA", Default: "./data",
		Help: "data directory: embedded NATS and S3 storage, generated credentials"}
	S3Addr = Var[string]{Flag: "s3", Env: "HANDOFF_S3", Default: "127.0.0.1:9000",
		Help: "embedded S3 listen address; port 0 picks one"}
	NATSAddr = Var[string]{Flag: "nats", Env: "HANDOFF_NATS", Default: "127.0.0.1:4222",
		Help: "embedded NATS listen address; port 0 picks one"}
	Services = Var[string]{Flag: "services", Env: "HANDOFF_SERVICES", Default: "all",
		Help: "services this process runs: all, or a comma-separated list of intake,dicom,ocr,packager"}
	Pprof = Var[string]{Flag: "pprof", Env: "HANDOFF_PPROF",
		Help: "serve Go profiling endpoints on this address; off when empty"}
	TLS = Var[string]{Flag: "tls", Env: "HANDOFF_TLS", Default: "off", Choices: []string{"off", "auto", "cert"},
		Help: "TLS for the API, the embedded S3 and NATS: auto makes a local CA in <data>/tls (the handoff CLI trusts it), cert takes --tls-cert and --tls-key, off is plain (loopback)"}
	TLSCert = Var[string]{Flag: "tls-cert", Env: "HANDOFF_TLS_CERT",
		Help: "server certificate (PEM file) with --tls cert"}
	TLSKey = Var[string]{Flag: "tls-key", Env: "HANDOFF_TLS_KEY",
		Help: "server certificate's key (PEM file) with --tls cert"}
	NATSStoreKeyFile = Var[string]{Flag: "nats-store-key", Env: "HANDOFF_NATS_STORE_KEY_FILE",
		Help: "file holding the key that encrypts the embedded NATS's storage; default: made once in the user's configuration directory, outside the data it protects"}
	NATSStoreKey = Var[string]{Env: "HANDOFF_NATS_STORE_KEY", Secret: true,
		Help: "the key that encrypts the embedded NATS's storage (instead of a file)"}
)

// Intake.
var (
	APIToken = Var[string]{Env: "HANDOFF_API_TOKEN", Secret: true,
		Help: "API bearer token"}
	IntakeWorkers = Var[int]{Flag: "intake-workers", Env: "HANDOFF_INTAKE_WORKERS", Default: 16,
		Help: "bucket events handled at once"}
	IntakeArchiveWorkers = Var[int]{Flag: "archive-workers", Env: "HANDOFF_INTAKE_ARCHIVE_WORKERS", Default: 2,
		Help: "archives expanded at once"}
	IntakeDocumentWorkers = Var[int]{Flag: "document-workers", Env: "HANDOFF_INTAKE_DOCUMENT_WORKERS", Default: 4,
		Help: "documents understood at once"}
	ArchiveCaseEntries = Var[int]{Flag: "archive-case-entries", Env: "HANDOFF_INTAKE_ARCHIVE_CASE_ENTRIES", Default: 60000,
		Help: "entries expanded from all of a case's archives (input.case_archive_budget); -1 no budget"}
	ArchiveCaseBytes = Var[int64]{Flag: "archive-case-bytes", Env: "HANDOFF_INTAKE_ARCHIVE_CASE_BYTES", Default: 40 << 30,
		Help: "bytes expanded from all of a case's archives; -1 no budget"}
	IntakeMaxUpload = Var[int64]{Flag: "max-upload", Env: "HANDOFF_INTAKE_MAX_UPLOAD", Default: 8 << 30,
		Help: "largest upload through the API, bytes"}
	Reconcile = Var[time.Duration]{Flag: "reconcile", Env: "HANDOFF_RECONCILE", Default: 2 * time.Minute,
		Help: "how often intake looks for uploads whose notification was lost; 0 disables"}
	BundleLinkExpiry = Var[time.Duration]{Flag: "bundle-link-expiry", Env: "HANDOFF_BUNDLE_LINK_EXPIRY", Default: 7 * 24 * time.Hour,
		Help: "how long a bundle stays downloadable through its link; then it is deleted"}
	CleanupInterval = Var[time.Duration]{Flag: "cleanup-interval", Env: "HANDOFF_CLEANUP_INTERVAL", Default: time.Hour,
		Help: "how often unfinished uploads and expired bundles are cleaned up (and at start)"}
	UploadMaxAge = Var[time.Duration]{Flag: "upload-max-age", Env: "HANDOFF_UPLOAD_MAX_AGE", Default: 24 * time.Hour,
		Help: "an unfinished multipart upload older than this is aborted (until then a client may resume it)"}
	BundleUploadMaxAge = Var[time.Duration]{Flag: "bundle-upload-max-age", Env: "HANDOFF_BUNDLE_UPLOAD_MAX_AGE", Default: 2 * time.Hour,
		Help: "an unfinished bundle upload older than this (a packager killed mid-bundle) is aborted"}
)

// DICOM.
var (
	DICOMWorkers = Var[int]{Flag: "dicom-workers", Env: "HANDOFF_DICOM_WORKERS", Default: 4,
		Help: "DICOM instances indexed at once"}
	DICOMMaxObject = Var[int64]{Flag: "max-object", Env: "HANDOFF_DICOM_MAX_OBJECT", Default: 4 << 30,
		Help: "largest DICOM object accepted, bytes"}
	DICOMMaxHeader = Var[int64]{Flag: "max-header", Env: "HANDOFF_DICOM_MAX_HEADER", Default: 32 << 20,
		Help: "most header bytes read before the pixel data"}
	DICOMRangeSize = Var[int64]{Flag: "range-size", Env: "HANDOFF_DICOM_RANGE_SIZE", Default: 64 << 10,
		Help: "bytes per ranged S3 read, at most 64 KiB"}
	DICOMAckWait = Var[time.Duration]{Flag: "ack-wait", Env: "HANDOFF_DICOM_ACK_WAIT", Default: time.Minute,
		Help: "redeliver a DICOM work item after this long without progress"}
	DICOMCaseInstances = Var[int]{Flag: "dicom-case-instances", Env: "HANDOFF_DICOM_CASE_INSTANCES", Default: 30000,
		Help: "DICOM files indexed per case; more are kept but not indexed (input.case_dicom_budget); -1 no budget"}
	DICOMCaseBytes = Var[int64]{Flag: "dicom-case-bytes", Env: "HANDOFF_DICOM_CASE_BYTES", Default: 30 << 30,
		Help: "bytes of DICOM indexed per case; -1 no budget"}
)

// OCR.
var (
	OCRWorkers = Var[int]{Flag: "ocr-workers", Env: "HANDOFF_OCR_WORKERS", Default: runtime.NumCPU(),
		Help: "pages recognised at once, one single-threaded Tesseract each (default: CPUs)"}
	OCRLang = Var[string]{Flag: "ocr-lang", Env: "HANDOFF_OCR_LANG", Default: "eng",
		Help: "Tesseract languages, e.g. eng+fra"}
	OCRFileWorkers = Var[int]{Flag: "file-workers", Env: "HANDOFF_OCR_FILE_WORKERS", Default: 2,
		Help: "documents taken at once"}
	OCRSplitPages = Var[int]{Flag: "split-pages", Env: "HANDOFF_OCR_SPLIT_PAGES", Default: 2,
		Help: "split a PDF with more pages to OCR than this into page work items; -1 never"}
	OCRMaxPages = Var[int]{Flag: "max-pages", Env: "HANDOFF_OCR_MAX_PAGES", Default: 2000,
		Help: "page-count cap"}
	OCRMaxPagePixels = Var[int64]{Flag: "max-page-pixels", Env: "HANDOFF_OCR_MAX_PAGE_PIXELS", Default: 40_000_000,
		Help: "pixels of one page image given to Tesseract"}
	OCRPageTimeout = Var[time.Duration]{Flag: "page-timeout", Env: "HANDOFF_OCR_PAGE_TIMEOUT", Default: 3 * time.Minute,
		Help: "time cap for one page"}
	OCRMaxBytes = Var[int64]{Flag: "max-bytes", Env: "HANDOFF_OCR_MAX_BYTES", Default: 2 << 30,
		Help: "largest input, bytes"}
	OCRAckWait = Var[time.Duration]{Flag: "ack-wait", Env: "HANDOFF_OCR_ACK_WAIT", Default: time.Minute,
		Help: "redeliver an OCR work item after this long without progress"}
	OCRMaxDeliver = Var[int]{Flag: "max-deliver", Env: "HANDOFF_OCR_MAX_DELIVER", Default: 3,
		Help: "tries of a page before it is dead-lettered"}
	OCRWorkDir = Var[string]{Flag: "work-dir", Env: "HANDOFF_OCR_WORK_DIR",
		Help: "directory for the documents being processed (default: the system's temporary directory)"}
	OCRPageWindow = Var[int]{Flag: "page-window", Env: "HANDOFF_OCR_PAGE_WINDOW", Default: 2,
		Help: "page items of one split document queued at once; -1 every page at the split"}
	OCRCaseDocuments = Var[int]{Flag: "case-documents", Env: "HANDOFF_OCR_CASE_DOCUMENTS", Default: 2,
		Help: "documents of one case OCRed at once, the others wait their turn; -1 no limit"}
	OCRFirstPages = Var[int]{Flag: "first-pages", Env: "HANDOFF_OCR_FIRST_PAGES", Default: 16,
		Help: "a case's first pages to OCR go ahead of other cases' later pages; -1 none"}
	OCRCasePages = Var[int]{Flag: "ocr-case-pages", Env: "HANDOFF_OCR_CASE_PAGES", Default: 1000,
		Help: "pages OCRed per case, more are left as scanned (input.case_page_budget); -1 no budget"}
)

// Packager.
var (
	PackagerWorkers = Var[int]{Flag: "packager-workers", Env: "HANDOFF_PACKAGER_WORKERS", Default: 1,
		Help: "bundles made at once"}
	QuietPeriod = Var[time.Duration]{Flag: "quiet-period", Env: "HANDOFF_QUIET_PERIOD", Default: 15 * time.Minute,
		Help: "bundle a case with a clean report automatically this long after its newest upload; negative disables"}
	PackagerPendingRetry = Var[time.Duration]{Flag: "pending-retry", Env: "HANDOFF_PACKAGER_PENDING_RETRY", Default: 2 * time.Second,
		Help: "look again this often at a requested case with files still processing"}
	PackagerPendingWait = Var[time.Duration]{Flag: "pending-wait", Env: "HANDOFF_PACKAGER_PENDING_WAIT", Default: 20 * time.Minute,
		Help: "then bundle what is there after this long"}
	PackagerPartSize = Var[int64]{Flag: "part-size", Env: "HANDOFF_PACKAGER_PART_SIZE", Default: 8 << 20,
		Help: "multipart part size, bytes"}
	PackagerUploadConcurrency = Var[int]{Flag: "upload-concurrency", Env: "HANDOFF_PACKAGER_UPLOAD_CONCURRENCY", Default: 2,
		Help: "parts uploaded at once"}
	PackagerPrefetch = Var[int]{Flag: "prefetch", Env: "HANDOFF_PACKAGER_PREFETCH", Default: 4,
		Help: "source objects opened ahead"}
	PackagerMinGain = Var[float64]{Flag: "min-gain", Env: "HANDOFF_PACKAGER_MIN_GAIN", Default: 0.10,
		Help: "deflate an entry when a sample shrinks by at least this share"}
	PackagerCJKFont = Var[string]{Flag: "cjk-font", Env: "HANDOFF_PACKAGER_CJK_FONT",
		Help: "CJK TrueType font for the PDFs (default: Debian fonts-droid-fallback)"}
	PackagerLatinFont = Var[string]{Flag: "latin-font", Env: "HANDOFF_PACKAGER_LATIN_FONT",
		Help: "Latin TrueType font (default: Debian fonts-dejavu-core)"}
	PackagerLatinBoldFont = Var[string]{Flag: "latin-bold-font", Env: "HANDOFF_PACKAGER_LATIN_BOLD_FONT",
		Help: "Latin bold TrueType font"}
	PackagerMemoryLimit = Var[int64]{Flag: "memory-limit", Env: "HANDOFF_PACKAGER_MEMORY_LIMIT", Default: 96 << 20,
		Help: "Go soft memory limit, bytes; 0 leaves GOMEMLIMIT to decide"}
)
