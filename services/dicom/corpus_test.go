package dicom

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/testenv"
)

// corpusDir is the shared DICOM corpus (made absolute by TestMain, since
// the embedded S3 gateway changes the working directory).
var corpusDir = "../../testdata/corpus/dicom-peer"

// testdata is this package's testdata folder, absolute after TestMain.
var testdata = "testdata"

func needTool(t *testing.T, name string) string {
	t.Helper()
	return testenv.Tool(t, name)
}

// pythonPath is a python3 with pydicom (Debian's python3-pydicom).
func pythonPath(t *testing.T) string {
	t.Helper()
	return testenv.Python(t, "pydicom")
}

func corpusFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(corpusDir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk corpus: %v", err)
	}
	if len(files) < 150 {
		t.Fatalf("got %d corpus files, want the whole corpus", len(files))
	}
	return files
}

// ids are the identifying attributes compared with the reference tools.
type ids struct {
	PatientID, StudyUID, SeriesUID, SOPInstanceUID string
}

var dumpLine = regexp.MustCompile(`^\((0010,0020|0020,000d|0020,000e|0008,0018)\) [A-Z]{2} (?:\[(.*)\]|\(no value available\))`)

// dcmdumpIDs runs dcmdump on a file and reads the top-level identifiers;
// ok is false when dcmdump cannot read the file.
func dcmdumpIDs(t *testing.T, path string) (ids, bool) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command("dcmdump", "-q", "+sb", "7fe0,0010", path)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil || strings.Contains(errb.String(), "E: ") {
		return ids{}, false
	}
	var r ids
	sc := bufio.NewScanner(&out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := dumpLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		switch m[1] {
		case "0010,0020":
			r.PatientID = m[2]
		case "0020,000d":
			r.StudyUID = m[2]
		case "0020,000e":
			r.SeriesUID = m[2]
		case "0008,0018":
			r.SOPInstanceUID = m[2]
		}
	}
	return r, true
}

type pyRef struct {
	OK                bool   `json:"ok"`
	PatientID         string `json:"PatientID"`
	StudyInstanceUID  string `json:"StudyInstanceUID"`
	SeriesInstanceUID string `json:"SeriesInstanceUID"`
	SOPInstanceUID    string `json:"SOPInstanceUID"`
	PatientName       string `json:"PatientName"`
}

func pydicomRefs(t *testing.T, files []string) map[string]pyRef {
	t.Helper()
	py := pythonPath(t)
	out, err := exec.Command(py, append([]string{filepath.Join(testdata, "pyref.py")}, files...)...).Output()
	if err != nil {
		t.Fatalf("pyref.py: %v", err)
	}
	refs := map[string]pyRef{}
	if err := json.Unmarshal(out, &refs); err != nil {
		t.Fatalf("pyref.py output: %v", err)
	}
	return refs
}

func readPath(t *testing.T, path string) (*Header, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return Read(f, st.Size(), ReadOptions{})
}

func idsOf(h *Header) ids {
	return ids{h.Instance.PatientID, h.Instance.StudyUID, h.Instance.SeriesUID, h.Instance.SOPInstanceUID}
}

// TestCorpus walks the whole corpus: every file that dcmtk or pydicom reads
// is indexed with the identifiers dcmdump shows (or, where dcmdump fails,
// pydicom); every other file gets a clear input error; nothing panics.
// Files that only this reader can make sense of are checked by running
// dcmdump on their normalised Part 10 copy.
func TestCorpus(t *testing.T) {
	needTool(t, "dcmdump")
	files := corpusFiles(t)
	refs := pydicomRefs(t, files)
	indexed, rejected := 0, 0
	for _, path := range files {
		rel, _ := filepath.Rel(corpusDir, path)
		t.Run(rel, func(t *testing.T) {
			h, err := readPath(t, path)
			dump, dumpOK := dcmdumpIDs(t, path)
			py := refs[path]
			ref, refOK, refName := dump, dumpOK, "dcmdump"
			if !dumpOK && py.OK {
				ref, refOK, refName = ids{py.PatientID, py.StudyInstanceUID, py.SeriesInstanceUID, py.SOPInstanceUID}, true, "pydicom"
			}
			if h != nil && h.DICOMDIR {
				if !refOK {
					t.Fatalf("DICOMDIR that neither dcmdump nor pydicom reads")
				}
				return
			}
			if err != nil {
				var re *record.Error
				if !errors.As(err, &re) || re.Code == "" || len(re.Message) < 10 {
					t.Fatalf("got error %v, want a *record.Error with a code and a clear reason", err)
				}
				if refOK && ref.SOPInstanceUID != "" && ref.StudyUID != "" && ref.SeriesUID != "" {
					t.Fatalf("got %v, but %s reads %+v", err, refName, ref)
				}
				rejected++
				return
			}
			indexed++
			got := idsOf(h)
			switch {
			case refOK && ref.StudyUID != "" && ref.SeriesUID != "":
				if ref.SOPInstanceUID == "" {
					ref.SOPInstanceUID = got.SOPInstanceUID // taken from the file meta, checked below
				}
				if got != ref {
					t.Fatalf("got %+v, %s shows %+v", got, refName, ref)
				}
			default:
				// Only this reader makes sense of the file: dcmdump must
				// read the same identifiers from its normalised Part 10 copy.
				if !h.NeedsPart10 {
					t.Fatalf("indexed %+v where %s reads %+v (ok=%v), and the file needs no normalisation", got, refName, ref, refOK)
				}
			}
			if h.NeedsPart10 {
				norm := normalise(t, path, h.Instance)
				d2, ok := dcmdumpIDs(t, norm)
				if !ok {
					t.Fatalf("dcmdump cannot read the normalised copy")
				}
				if d2.SOPInstanceUID == "" {
					d2.SOPInstanceUID = got.SOPInstanceUID
				}
				if d2 != got {
					t.Fatalf("normalised copy: dcmdump shows %+v, indexed %+v", d2, got)
				}
			}
		})
	}
	t.Logf("%d instances indexed, %d files rejected", indexed, rejected)
	if indexed < 120 {
		t.Errorf("got %d instances indexed, want most of the corpus", indexed)
	}
}

func normalise(t *testing.T, path string, in record.DicomInstance) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := Part10(in, f)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "norm.dcm")
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, r); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestCharsets checks decoded person names against pydicom, which decodes
// every top-level PatientName of the charset samples correctly.
func TestCharsets(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(corpusDir, "pydicom/charset/chr*.dcm"))
	if err != nil || len(files) < 10 {
		t.Fatalf("charset samples: %v (%d)", err, len(files))
	}
	refs := pydicomRefs(t, files)
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			h, err := readPath(t, path)
			want := refs[path].PatientName
			if err != nil {
				if want != "" {
					t.Fatalf("got %v, want name %q", err, want)
				}
				return
			}
			if h.Instance.PatientName != want {
				t.Errorf("got name %q, want %q", h.Instance.PatientName, want)
			}
		})
	}
}

var fileIDComponent = regexp.MustCompile(`^[A-Z0-9_]{1,8}$`)

// TestFileSets writes a file-set for each multi-instance series of the
// corpus and checks it with dciodvfy, dcmdump and pydicom's FileSet.
func TestFileSets(t *testing.T) {
	needTool(t, "dciodvfy")
	needTool(t, "dcmdump")
	py := startFilesetChecker(t, pythonPath(t))
	li, err := IndexLocal(t.Context(), []string{corpusDir}, LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, st := range li.Index.Studies {
		for _, se := range st.Series {
			if se.Instances < 2 {
				continue
			}
			n++
			one := st
			one.Series = []record.Series{se}
			t.Run(st.Folder+"/"+itoa(se.Number), func(t *testing.T) {
				t.Parallel()
				checkFileSet(t, py, one, li.Instances, validUIDs(one))
			})
		}
	}
	if n < 5 {
		t.Errorf("got %d multi-instance series, want at least 5", n)
	}
	// Every study of the corpus as one file-set: SR, RT, waveform, SC and
	// normalised records too.
	for _, st := range li.Index.Studies {
		t.Run("study/"+st.Folder, func(t *testing.T) {
			t.Parallel()
			checkFileSet(t, py, st, li.Instances, validUIDs(st))
		})
	}
}

var uidPattern = regexp.MustCompile(`^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$`)

func validUIDs(st record.Study) bool {
	if !uidPattern.MatchString(st.UID) {
		return false
	}
	for _, se := range st.Series {
		if !uidPattern.MatchString(se.UID) {
			return false
		}
		for _, m := range se.Members {
			if !uidPattern.MatchString(m.SOPInstanceUID) || !uidPattern.MatchString(m.SOPClassUID) {
				return false
			}
		}
	}
	return true
}

// checkFileSet writes a study's file-set and checks it with dciodvfy,
// dcmdump and pydicom. A study whose source instances carry invalid UIDs
// (validUIDs false) gets the same checks except dciodvfy's complaints about
// those UIDs, which the directory records must repeat.
func checkFileSet(t *testing.T, py *filesetChecker, st record.Study, insts map[string]record.DicomInstance, validUIDs bool) {
	t.Helper()
	plan, err := PlanFileSet(st, insts)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := WritePlan(context.Background(), root, plan, openLocal); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "DICOMDIR")
	// dciodvfy: no Error lines.
	out, _ := exec.Command("dciodvfy", dir).CombinedOutput()
	bad := false
	for _, line := range strings.Split(string(out), "\n") {
		uidError := strings.Contains(line, "UID") || strings.Contains(line, " UI ") ||
			strings.Contains(line, "contains invalid data values for Value Representations") // dciodvfy's summary of the above
		if strings.HasPrefix(line, "Error") && (validUIDs || !uidError) {
			t.Errorf("dciodvfy: %s", line)
			bad = true
		}
	}
	if bad {
		t.Logf("dciodvfy output:\n%s", out)
	}
	// dcmdump: explicit VR little endian in the file meta.
	out, err = exec.Command("dcmdump", "-q", "-M", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("dcmdump: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "(0002,0010) UI =LittleEndianExplicit") {
		t.Errorf("dcmdump shows no explicit VR LE transfer syntax:\n%s", out)
	}
	// Path rules.
	for _, m := range plan.Members {
		for _, c := range strings.Split(m.Path, "/") {
			if !fileIDComponent.MatchString(c) {
				t.Errorf("path %s: component %q breaks ^[A-Z0-9_]{1,8}$", m.Path, c)
			}
		}
	}
	// pydicom FileSet loads every instance, with matching SOP Instance UIDs.
	out, err = py.check(dir)
	if err != nil {
		t.Fatalf("fileset_check.py: %v", err)
	}
	var got []struct {
		Path      string `json:"path"`
		RecordUID string `json:"record_uid"`
		FileUID   string `json:"file_uid"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("fileset_check.py: %v: %s", err, out)
	}
	if len(got) != len(plan.Members) {
		t.Fatalf("pydicom FileSet has %d instances, want %d", len(got), len(plan.Members))
	}
	var want []string
	for _, m := range plan.Members {
		want = append(want, m.Ref.SOPInstanceUID)
	}
	var loaded []string
	for _, g := range got {
		if g.RecordUID != g.FileUID {
			t.Errorf("%s: record UID %s, file UID %s", g.Path, g.RecordUID, g.FileUID)
		}
		loaded = append(loaded, g.FileUID)
	}
	slices.Sort(want)
	slices.Sort(loaded)
	if !slices.Equal(want, loaded) {
		t.Errorf("pydicom loaded %v, want %v", loaded, want)
	}
}

// filesetChecker is one fileset_check.py for a whole test: a DICOMDIR path
// a line in, its instances as a JSON line out (pydicom's import costs more
// than a check).
type filesetChecker struct {
	mu  sync.Mutex
	in  io.WriteCloser
	out *bufio.Reader
}

func startFilesetChecker(t *testing.T, python string) *filesetChecker {
	t.Helper()
	cmd := exec.Command(python, filepath.Join(testdata, "fileset_check.py"))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		_ = cmd.Wait()
	})
	return &filesetChecker{in: in, out: bufio.NewReaderSize(out, 1<<20)}
}

// check returns the JSON pydicom gives for the file-set of a DICOMDIR.
func (c *filesetChecker) check(dicomdir string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := io.WriteString(c.in, dicomdir+"\n"); err != nil {
		return nil, err
	}
	line, err := c.out.ReadBytes('\n')
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(line, []byte(`{"error"`)) {
		return nil, fmt.Errorf("%s: %s", dicomdir, line)
	}
	return line, nil
}
