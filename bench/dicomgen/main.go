// Command dicomgen builds the DICOM throughput corpus of the benchmarks:
// 2,000 instances in PATIENT/STUDY/SERIES folders, made from the real files
// of testdata/corpus/dicom-peer by giving each copy fresh study, series and
// instance UIDs (and nothing else: pixel data, transfer syntaxes and the
// rest of each header stay as they were).
//
//	go run ./bench/dicomgen -out /tmp/dicom-bulk [-corpus testdata/corpus/dicom-peer]
//
// The UIDs of each template are read with the project's own indexer; each
// copy replaces every occurrence of them with a fresh UID of the same length,
// so that no element length or offset changes. A deflated data set is
// inflated, rewritten and deflated again.
package main

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"

	"github.com/handoffmed/handoff/services/dicom"
)

// template is one kind of instance of the corpus: a real file, how many
// copies, how many per series.
type template struct {
	name, path   string
	n, perSeries int
}

var templates = []template{
	{"mr_large", "pydicom-data/MR2_UNCR.dcm", 300, 20},
	{"mr_tcia", "suyashkumar-dicom/3.dcm", 300, 20},
	{"pet", "suyashkumar-dicom/1.dcm", 300, 20},
	{"ct_small", "pydicom/CT_small.dcm", 300, 20},
	{"mr_implicit", "pydicom/MR_small_implicit.dcm", 200, 20},
	{"mr_bigendian", "pydicom/MR_small_bigendian.dcm", 100, 20},
	{"us_j2k", "pydicom-data/US1_J2KR.dcm", 100, 20},
	{"sc_jpegll", "pydicom-data/JPEG-LL.dcm", 100, 20},
	{"us_mf_jpeg", "pydicom/examples_ybr_color.dcm", 100, 20},
	{"ect_mf", "suyashkumar-dicom/5.dcm", 100, 20},
	{"deflate", "pydicom/image_dfl.dcm", 80, 20},
	{"cr_large", "suyashkumar-dicom/4.dcm", 20, 2},
}

const deflatedTS = "1.2.840.10008.1.2.1.99"

func main() {
	out := flag.String("out", "/tmp/dicom-bulk", "output folder (replaced)")
	corpus := flag.String("corpus", "testdata/corpus/dicom-peer", "the DICOM corpus the templates come from")
	patients := flag.Int("patients", 10, "patients the series are spread over (two studies each)")
	flag.Parse()
	n, series, err := generate(*out, *corpus, *patients)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dicomgen:", err)
		os.Exit(1)
	}
	fmt.Printf("instances %d series %d\n", n, series)
}

func generate(out, corpus string, patients int) (instances, series int, err error) {
	if err := os.RemoveAll(out); err != nil {
		return 0, 0, err
	}
	// A study is shared by the series of one patient and study number whose
	// templates' study UIDs have the same length (a replacement keeps the
	// length).
	studies := map[[3]int]string{}
	for _, tpl := range templates {
		src, err := os.ReadFile(filepath.Join(corpus, tpl.path))
		if err != nil {
			return 0, 0, err
		}
		inst, err := uidsOf(filepath.Join(corpus, tpl.path))
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", tpl.path, err)
		}
		for range tpl.n / tpl.perSeries {
			p, st := series%patients, (series/patients)%2
			key := [3]int{p, st, len(inst.study)}
			if studies[key] == "" {
				studies[key] = newUID(len(inst.study))
			}
			seriesUID := newUID(len(inst.series))
			dir := filepath.Join(out, fmt.Sprintf("PT%06d", p), fmt.Sprintf("ST%06d", st), fmt.Sprintf("SE%06d", series))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return 0, 0, err
			}
			for i := range tpl.perSeries {
				repl := map[string]string{inst.study: studies[key], inst.series: seriesUID, inst.sop: newUID(len(inst.sop))}
				b, err := rewrite(src, inst.deflated, repl)
				if err != nil {
					return 0, 0, fmt.Errorf("%s: %w", tpl.path, err)
				}
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("IM%06d", i)), b, 0o644); err != nil {
					return 0, 0, err
				}
				instances++
			}
			series++
		}
	}
	return instances, series, nil
}

type uids struct {
	study, series, sop string
	deflated           bool
}

// uidsOf reads a template's UIDs with the project's indexer.
func uidsOf(path string) (uids, error) {
	li, err := dicom.IndexLocal(context.Background(), []string{path}, dicom.LocalOptions{Workers: 1})
	if err != nil {
		return uids{}, err
	}
	for _, d := range li.Instances {
		if d.StudyUID == "" || d.SeriesUID == "" || d.SOPInstanceUID == "" {
			break
		}
		return uids{study: d.StudyUID, series: d.SeriesUID, sop: d.SOPInstanceUID, deflated: d.TransferSyntax == deflatedTS}, nil
	}
	return uids{}, errors.New("no study, series and instance UIDs read")
}

// rewrite replaces every occurrence of each UID in repl by its same-length
// replacement: in the whole file, or, for a deflated data set, in the file
// meta and in the inflated data set.
func rewrite(src []byte, deflated bool, repl map[string]string) ([]byte, error) {
	if !deflated {
		return replaceAll(src, repl), nil
	}
	metaEnd, err := metaEnd(src)
	if err != nil {
		return nil, err
	}
	ds, err := io.ReadAll(flate.NewReader(bytes.NewReader(src[metaEnd:])))
	if err != nil {
		return nil, fmt.Errorf("inflate: %w", err)
	}
	var b bytes.Buffer
	b.Write(replaceAll(src[:metaEnd], repl))
	w, err := flate.NewWriter(&b, flate.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(replaceAll(ds, repl)); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// metaEnd is the offset after the file meta group of a Part 10 file: the
// preamble, "DICM", and (0002,0000) giving the group's length.
func metaEnd(b []byte) (int, error) {
	const groupLen = 132 + 12
	if len(b) < groupLen || string(b[128:132]) != "DICM" || !bytes.Equal(b[132:136], []byte{2, 0, 0, 0}) {
		return 0, errors.New("deflated file without a file meta group length")
	}
	return groupLen + int(binary.LittleEndian.Uint32(b[140:144])), nil
}

func replaceAll(b []byte, repl map[string]string) []byte {
	out := bytes.Clone(b)
	for old, new := range repl {
		o, n := []byte(old), []byte(new)
		for i := 0; ; {
			j := bytes.Index(out[i:], o)
			if j < 0 {
				break
			}
			copy(out[i+j:], n)
			i += j + len(o)
		}
	}
	return out
}

// newUID returns a random UID of n characters: under the 2.25 root (a UUID
// derived arc, PS3.5 B.2), "2.25." and n-5 decimal digits; a UID shorter
// than 7 characters becomes one component of n digits.
func newUID(n int) string {
	prefix := "2.25."
	if n < 7 {
		prefix = ""
	}
	digits := make([]byte, n-len(prefix))
	for i := range digits {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		digits[i] = byte('0' + d.Int64())
	}
	if digits[0] == '0' {
		digits[0] = '1'
	}
	return prefix + string(digits)
}
