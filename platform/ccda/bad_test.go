package ccda_test

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/handoffmed/handoff/platform/ccda"
)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

const ccdaOpen = `<?xml version="1.0"?><ClinicalDocument xmlns="urn:hl7-org:v3">`

// badInputs are inputs Read must refuse, with the error it must give.
var badInputs = []struct {
	name string
	in   string
	want error
}{
	{"empty", "", ccda.ErrMalformed},
	{"white space", " \n ", ccda.ErrMalformed},
	{"not XML", "Patient: SECRETNAME", ccda.ErrMalformed},
	{"unclosed", ccdaOpen + `<title>SECRETNAME</title>`, ccda.ErrMalformed},
	{"mismatched end", ccdaOpen + `<title>SECRETNAME</titel></ClinicalDocument>`, ccda.ErrMalformed},
	{"bad attribute", ccdaOpen + `<code code=SECRETNAME/></ClinicalDocument>`, ccda.ErrMalformed},
	{"undeclared entity", ccdaOpen + `<title>&SECRETNAME;</title></ClinicalDocument>`, ccda.ErrMalformed},
	{"control character", ccdaOpen + "<title>SECRET\x01NAME</title></ClinicalDocument>", ccda.ErrMalformed},
	{"invalid UTF-8", ccdaOpen + "<title>SECRET\xffNAME</title></ClinicalDocument>", ccda.ErrMalformed},
	{"two roots", ccdaOpen + `</ClinicalDocument><ClinicalDocument xmlns="urn:hl7-org:v3"/>`, ccda.ErrMalformed},
	{"unknown encoding", `<?xml version="1.0" encoding="EBCDIC-SECRETNAME"?><ClinicalDocument xmlns="urn:hl7-org:v3"/>`, ccda.ErrMalformed},
	{"not a C-CDA", `<?xml version="1.0"?><html><body>SECRETNAME</body></html>`, ccda.ErrNotCCDA},
	{"CDA without namespace", `<ClinicalDocument><title>SECRETNAME</title></ClinicalDocument>`, ccda.ErrNotCCDA},
	{"CDA in another namespace", `<ClinicalDocument xmlns="urn:hl7-org:v2"/>`, ccda.ErrNotCCDA},
	{"billion laughs", `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&lol9;</title></ClinicalDocument>`, ccda.ErrEntities},
	{"external entity", `<?xml version="1.0"?><!DOCTYPE ClinicalDocument [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&xxe;</title></ClinicalDocument>`, ccda.ErrEntities},
	{"parameter entity", `<!DOCTYPE ClinicalDocument [<!ENTITY % p SYSTEM "http://example.invalid/x.dtd"> %p;]><ClinicalDocument xmlns="urn:hl7-org:v3"/>`, ccda.ErrEntities},
	{"entity without DOCTYPE", ccdaOpen + `<title>&lol9;</title></ClinicalDocument>`, ccda.ErrMalformed},
	{"deep nesting", ccdaOpen + strings.Repeat("<component>", 300) + strings.Repeat("</component>", 300) + `</ClinicalDocument>`, ccda.ErrTooDeep},
	{"deep nesting, unclosed", ccdaOpen + strings.Repeat("<a>", 100000), ccda.ErrTooDeep},
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	for _, tc := range badInputs {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ccda.Read(strings.NewReader(tc.in), ccda.Options{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if d != nil {
				t.Errorf("got a document with the error %v", err)
			}
			if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "lol") || strings.Contains(err.Error(), "passwd") {
				t.Errorf("error %q quotes the document", err)
			}
			// Extract gives the same verdict on the same bytes (or finds no C-CDA).
			_, err = ccda.Extract([]byte(tc.in), ccda.Options{})
			if !errors.Is(err, tc.want) && !errors.Is(err, ccda.ErrNotCCDA) {
				t.Errorf("Extract: got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestMalformedPosition(t *testing.T) {
	t.Parallel()
	_, err := ccda.Read(strings.NewReader(ccdaOpen+"\n<title>\nx</titel>"), ccda.Options{})
	var me *ccda.MalformedError
	if !errors.As(err, &me) {
		t.Fatalf("got %v, want a *MalformedError", err)
	}
	if me.Line != 3 {
		t.Errorf("got line %d, want 3", me.Line)
	}
}

func TestDepthOption(t *testing.T) {
	t.Parallel()
	in := ccdaOpen + strings.Repeat("<a>", 9) + strings.Repeat("</a>", 9) + "</ClinicalDocument>"
	if _, err := ccda.Read(strings.NewReader(in), ccda.Options{MaxDepth: 10}); err != nil {
		t.Errorf("depth 10 with MaxDepth 10: got %v, want nil", err)
	}
	if _, err := ccda.Read(strings.NewReader(in), ccda.Options{MaxDepth: 9}); !errors.Is(err, ccda.ErrTooDeep) {
		t.Errorf("depth 10 with MaxDepth 9: got %v, want ErrTooDeep", err)
	}
}

// endless streams a C-CDA of n bytes: a header, then result narrative
// repeated, never held in memory.
type endless struct {
	n, off int64
	block  []byte
}

func newEndless(n int64) *endless {
	unit := `<content ID="r">Sodium 140 mmol/L (07/10/2013)</content>`
	return &endless{n: n, block: []byte(ccdaOpen + strings.Repeat(unit, (64<<10)/len(unit)))}
}

func (e *endless) Read(p []byte) (int, error) {
	if e.off >= e.n {
		return 0, io.EOF
	}
	// The header once, then the block's body over and over.
	start := int(e.off)
	if e.off >= int64(len(e.block)) {
		body := int64(len(e.block) - len(ccdaOpen))
		start = len(ccdaOpen) + int((e.off-int64(len(ccdaOpen)))%body)
	}
	k := copy(p[:min(int64(len(p)), e.n-e.off)], e.block[start:])
	e.off += int64(k)
	return k, nil
}

// TestTooLarge streams a 200 MB C-CDA through Read: it must stop at the
// default 64 MiB limit (8 MiB under -race), quickly, having read no more
// than that.
func TestTooLarge(t *testing.T) {
	var opt ccda.Options
	limit := int64(ccda.DefaultMaxBytes)
	if ccda.RaceOn {
		opt.MaxBytes, limit = 8<<20, 8<<20
	}
	src := newEndless(200 << 20)
	start := time.Now()
	_, err := ccda.Read(src, opt)
	took := time.Since(start)
	if !errors.Is(err, ccda.ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
	if src.off > limit+64<<10 {
		t.Errorf("read %d bytes, want at most the limit %d (and a read buffer)", src.off, limit)
	}
	// Reading 64 MiB is bound by memory bandwidth: a fraction of a second
	// on an idle machine, seconds on a loaded one or under -race. The bytes
	// read are the check; the bound only catches reading all 200 MB.
	if took > time.Minute {
		t.Errorf("took %v to refuse, want well under a minute", took)
	}
	t.Logf("refused after %d bytes in %v", src.off, took)

	// A smaller limit stops a corpus document.
	doc := readCorpus(t, cerner)
	if _, err := ccda.Read(bytes.NewReader(doc), ccda.Options{MaxBytes: int64(len(doc) - 1)}); !errors.Is(err, ccda.ErrTooLarge) {
		t.Errorf("document one byte over MaxBytes: got %v, want ErrTooLarge", err)
	}
	if _, err := ccda.Read(bytes.NewReader(doc), ccda.Options{MaxBytes: int64(len(doc))}); err != nil {
		t.Errorf("document exactly MaxBytes: got %v, want nil", err)
	}
	runtime.GC()
}

// FuzzRead: no input makes Read panic, and every failure is one of the
// package's errors.
func FuzzRead(f *testing.F) {
	for _, p := range []string{"HL7/UD.sample.xml", "mTuitive_OpNote/colonoscopy.xml", cerner} {
		f.Add(readCorpus(f, p))
	}
	for _, tc := range badInputs {
		f.Add([]byte(tc.in))
	}
	f.Add([]byte(ccdaOpen + `<component><structuredBody><component><section><code code="10160-0"/><entry><substanceAdministration><text><reference value="#x"/></text></substanceAdministration></entry><text><content ID="x">aspirin 81 mg daily</content></text></section></component></structuredBody></component></ClinicalDocument>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opt := range []ccda.Options{{}, {MaxBytes: 4096, MaxDepth: 16}} {
			d, err := ccda.Read(bytes.NewReader(data), opt)
			if err == nil && d == nil {
				t.Fatal("no document and no error")
			}
			if err != nil && !oneOfOurs(err) {
				t.Fatalf("error %v is none of the package's", err)
			}
			if d != nil && len(data) > 0 {
				for _, m := range d.Medications {
					if strings.ContainsRune(m.Name, 0) || strings.ContainsRune(m.Dose, 0) {
						t.Fatalf("unresolved reference in %q", m.Name)
					}
				}
			}
			_, _ = ccda.Extract(data, opt)
			_ = ccda.Sniff(data)
		}
	})
}

func oneOfOurs(err error) bool {
	for _, e := range []error{ccda.ErrTooLarge, ccda.ErrTooDeep, ccda.ErrEntities, ccda.ErrMalformed, ccda.ErrNotCCDA} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
