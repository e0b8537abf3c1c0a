package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/big"
	"sort"
	"time"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/frame"
	"github.com/suyashkumar/dicom/pkg/tag"
	"github.com/suyashkumar/dicom/pkg/uid"
)

// uidFor derives a DICOM UID from a name: "2.25." and the decimal value of
// 128 bits of its hash (PS3.5 B.2), so that regenerated cases keep their UIDs.
func uidFor(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	n := new(big.Int).SetBytes(h.Sum(nil)[:16])
	return "2.25." + n.String()
}

// seriesSpec describes one series to write.
type seriesSpec struct {
	patientName string // DICOM PN: FAMILY^GIVEN^MIDDLE
	patientID   string
	birth       time.Time
	sex         string
	studyKey    string // seeds the study UID
	studyDate   time.Time
	studyDesc   string
	accession   string
	institution string
	modality    string // MR, CT, CR...
	sopClass    string
	bodyPart    string
	laterality  string
	seriesNo    int
	seriesDesc  string
	instances   int
	size        int // rows = columns
}

// Storage SOP classes.
const (
	sopMR = "1.2.840.10008.5.1.4.1.1.4"
	sopCT = "1.2.840.10008.5.1.4.1.1.2"
	sopCR = "1.2.840.10008.5.1.4.1.1.1"
)

// writeSeries returns the Part 10 files of a series, written by the
// suyashkumar/dicom writer: explicit VR little endian, 16-bit monochrome
// pixels, tiny images.
func writeSeries(s seriesSpec) ([][]byte, error) {
	studyUID := uidFor("study", s.studyKey)
	seriesUID := uidFor("series", s.studyKey, fmt.Sprint(s.seriesNo))
	var out [][]byte
	for i := 1; i <= s.instances; i++ {
		sop := uidFor("sop", s.studyKey, fmt.Sprint(s.seriesNo), fmt.Sprint(i))
		img := slice(s.size, s.size, i, uint64(s.seriesNo))
		raw := make([]uint16, s.size*s.size)
		for p := range raw {
			raw[p] = uint16(img.Pix[p]) * 8
		}
		pixels := dicom.PixelDataInfo{Frames: []*frame.Frame{{NativeData: &frame.NativeFrame[uint16]{
			InternalBitsPerSample: 16, InternalRows: s.size, InternalCols: s.size, InternalSamplesPerPixel: 1, RawData: raw,
		}}}}
		elems := []struct {
			t tag.Tag
			v any
		}{
			{tag.MediaStorageSOPClassUID, []string{s.sopClass}},
			{tag.MediaStorageSOPInstanceUID, []string{sop}},
			{tag.TransferSyntaxUID, []string{uid.ExplicitVRLittleEndian}},
			{tag.ImplementationClassUID, []string{"1.2.826.0.1.3680043.10.1466.1"}},
			{tag.SpecificCharacterSet, []string{"ISO_IR 100"}},
			{tag.ImageType, []string{"ORIGINAL", "PRIMARY", "AXIAL"}},
			{tag.SOPClassUID, []string{s.sopClass}},
			{tag.SOPInstanceUID, []string{sop}},
			{tag.StudyDate, []string{s.studyDate.Format("20060102")}},
			{tag.SeriesDate, []string{s.studyDate.Format("20060102")}},
			{tag.StudyTime, []string{"104200"}},
			{tag.AccessionNumber, []string{s.accession}},
			{tag.Modality, []string{s.modality}},
			{tag.Manufacturer, []string{"CASEGEN"}},
			{tag.InstitutionName, []string{s.institution}},
			{tag.ReferringPhysicianName, []string{"LEE^ROBERT"}},
			{tag.StudyDescription, []string{s.studyDesc}},
			{tag.SeriesDescription, []string{s.seriesDesc}},
			{tag.PatientName, []string{s.patientName}},
			{tag.PatientID, []string{s.patientID}},
			{tag.PatientBirthDate, []string{s.birth.Format("20060102")}},
			{tag.PatientSex, []string{s.sex}},
			{tag.BodyPartExamined, []string{s.bodyPart}},
			{tag.StudyInstanceUID, []string{studyUID}},
			{tag.SeriesInstanceUID, []string{seriesUID}},
			{tag.StudyID, []string{"1"}},
			{tag.SeriesNumber, []string{fmt.Sprint(s.seriesNo)}},
			{tag.InstanceNumber, []string{fmt.Sprint(i)}},
			{tag.Laterality, []string{s.laterality}},
			{tag.ImagesInAcquisition, []string{fmt.Sprint(s.instances)}},
			{tag.SliceThickness, []string{"4"}},
			{tag.SamplesPerPixel, []int{1}},
			{tag.PhotometricInterpretation, []string{"MONOCHROME2"}},
			{tag.Rows, []int{s.size}},
			{tag.Columns, []int{s.size}},
			{tag.PixelSpacing, []string{"0.9", "0.9"}},
			{tag.BitsAllocated, []int{16}},
			{tag.BitsStored, []int{12}},
			{tag.HighBit, []int{11}},
			{tag.PixelRepresentation, []int{0}},
			{tag.WindowCenter, []string{"1000"}},
			{tag.WindowWidth, []string{"2000"}},
			{tag.PixelData, pixels},
		}
		ds := dicom.Dataset{}
		for _, e := range elems {
			if e.t == tag.Laterality && s.laterality == "" {
				continue
			}
			el, err := dicom.NewElement(e.t, e.v)
			if err != nil {
				return nil, fmt.Errorf("element %v: %w", e.t, err)
			}
			ds.Elements = append(ds.Elements, el)
		}
		// Data elements go in ascending tag order (PS3.5 7.1).
		sort.Slice(ds.Elements, func(a, b int) bool {
			ta, tb := ds.Elements[a].Tag, ds.Elements[b].Tag
			return ta.Group < tb.Group || ta.Group == tb.Group && ta.Element < tb.Element
		})
		var b bytes.Buffer
		if err := dicom.Write(&b, ds); err != nil {
			return nil, fmt.Errorf("write instance %d: %w", i, err)
		}
		out = append(out, b.Bytes())
	}
	return out, nil
}
