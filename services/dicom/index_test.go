package dicom

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/handoffmed/handoff/platform/record"
)

func TestFolderName(t *testing.T) {
	tests := []struct {
		name string
		st   record.Study
		want string
	}{
		{"spec example", record.Study{Date: "2026-04-12", Series: []record.Series{{Modality: "MR", BodyPart: "HIP", Laterality: "R"}}}, "2026-04-12_MRI_right_hip"},
		{"xray from CR", record.Study{Date: "2025-01-02", Series: []record.Series{{Modality: "CR", BodyPart: "CHEST"}}}, "2025-01-02_XRay_chest"},
		{"DX is xray", record.Study{Date: "2025-01-02", Series: []record.Series{{Modality: "DX", BodyPart: "KNEE", Laterality: "L"}}}, "2025-01-02_XRay_left_knee"},
		{"study description fallback", record.Study{Date: "2025-01-02", Description: "Knee (Left) w/o contrast", Series: []record.Series{{Modality: "MR"}}}, "2025-01-02_MRI_knee_left_w_o_contrast"},
		{"series description fallback", record.Study{Date: "2025-01-02", Series: []record.Series{{Modality: "US", Description: "ABD Complete"}}}, "2025-01-02_Ultrasound_abd_complete"},
		{"pet-ct", record.Study{Date: "2025-01-02", Series: []record.Series{{Modality: "PT"}, {Modality: "CT"}, {Modality: "PT"}}}, "2025-01-02_PET-CT"},
		{"mammo", record.Study{Date: "2025-01-02", Series: []record.Series{{Modality: "MG", Laterality: "B", BodyPart: "BREAST"}}}, "2025-01-02_Mammogram_both_breast"},
		{"lspine", record.Study{Date: "2025-01-02", Series: []record.Series{{Modality: "MR", BodyPart: "LSPINE"}}}, "2025-01-02_MRI_lumbar_spine"},
		{"no date", record.Study{Series: []record.Series{{Modality: "NM"}}}, "undated_NM"},
		{"laterality already in description", record.Study{Date: "2025-01-02", Description: "Right hip", Series: []record.Series{{Modality: "MR", Laterality: "R"}}}, "2025-01-02_MRI_right_hip"},
		{"SR only", record.Study{Date: "2025-01-02", Series: []record.Series{{Modality: "SR"}}}, "2025-01-02_Report"},
		{"unsafe characters", record.Study{Date: "2025-01-02", Description: "../../etc/pässwd ÉTÉ", Series: []record.Series{{Modality: "MR"}}}, "2025-01-02_MRI_etc_passwd_ete"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := FolderName(tc.st); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFolderNamesUnique(t *testing.T) {
	st := record.Study{Date: "2026-04-12", Series: []record.Series{{Modality: "MR", BodyPart: "HIP", Laterality: "R"}}}
	got := FolderNames([]record.Study{st, st, st})
	want := []string{"2026-04-12_MRI_right_hip", "2026-04-12_MRI_right_hip_2", "2026-04-12_MRI_right_hip_3"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("folder names (-want +got):\n%s", diff)
	}
}

func TestNameMatches(t *testing.T) {
	p := record.Patient{FamilyName: "García López", GivenName: "Ana María"}
	tests := []struct {
		pn   string
		want bool
	}{
		{"GARCIA LOPEZ^ANA MARIA", true},
		{"Garcia-Lopez^Ana^Maria", true},
		{"ana maria garcia lopez", true},
		{"GarciaLopez^AnaMaria", true},
		{"García López^Ana María^^Dr.", true},
		{"Garcia Lopez^Anna Maria", false},
		{"Garsia Lopez^Ana Maria", false},
		{"Lopez^Ana", false},
		{"", true},
		{"=山田^太郎", true},
		{"Yamada^Tarou=山田^太郎", false},
	}
	for _, tc := range tests {
		t.Run(tc.pn, func(t *testing.T) {
			if got := NameMatches(p, tc.pn); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	if !NameMatches(record.Patient{FamilyName: "O'Brien", GivenName: "Seán"}, "OBRIEN^SEAN") {
		t.Error("O'Brien^Seán should match OBRIEN^SEAN")
	}
}

func inst(study, series, sop string, n int) record.DicomInstance {
	return record.DicomInstance{
		PatientName: "Doe^Jane", PatientID: "MRN1", PatientBirthDate: "1960-02-03",
		StudyUID: study, StudyDate: "2026-04-12", SeriesUID: series, SeriesNumber: 3,
		Modality: "MR", BodyPart: "HIP", Laterality: "R", SOPClassUID: "1.2.840.10008.5.1.4.1.1.4",
		SOPInstanceUID: sop, InstanceNumber: n, Frames: 1,
	}
}

func TestBuildIndexAndFindings(t *testing.T) {
	items := []Item{
		{FileID: "f1", Instance: inst("1.1", "1.1.1", "1.1.1.1", 1)},
		{FileID: "f2", Instance: inst("1.1", "1.1.1", "1.1.1.2", 2)},
		{FileID: "f3", Instance: inst("1.1", "1.1.1", "1.1.1.4", 4)},
		{FileID: "f4", Instance: inst("1.1", "1.1.1", "1.1.1.1", 1)}, // duplicate of f1
	}
	sc := inst("1.1", "1.1.2", "1.1.2.1", 1)
	sc.SeriesNumber, sc.SecondaryCapture = 99, true
	items = append(items, Item{FileID: "f5", Instance: sc})
	other := inst("2.2", "2.2.1", "2.2.1.1", 1)
	other.PatientName, other.StudyDate = "Roe^Richard", "2025-01-01"
	items = append(items, Item{FileID: "f6", Instance: other})

	p := record.Patient{FamilyName: "Doe", GivenName: "Jane", BirthDate: "1960-02-03"}
	idx := BuildIndex("case1", p, items, time.Unix(0, 0))
	if len(idx.Studies) != 2 || idx.Studies[0].UID != "2.2" || idx.Studies[1].Folder != "2026-04-12_MRI_right_hip" {
		t.Fatalf("studies: %+v", idx.Studies)
	}
	se := idx.Studies[1].Series[0]
	if se.Instances != 3 || !cmp.Equal(se.Missing, []int{3}) {
		t.Errorf("series: %d instances, missing %v", se.Instances, se.Missing)
	}
	var codes []string
	for _, f := range idx.Findings {
		codes = append(codes, f.Code+":"+f.Severity)
	}
	want := []string{
		"imaging.patient_mismatch:error",
		"imaging.incomplete_series:warning",
		"imaging.secondary_capture:warning",
		"imaging.duplicate:info",
	}
	if diff := cmp.Diff(want, codes); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if got := idx.Findings[3].Files; !cmp.Equal(got, []string{"f4"}) {
		t.Errorf("duplicate files %v", got)
	}
}

func TestIsoDate(t *testing.T) {
	for in, want := range map[string]string{"20260412": "2026-04-12", "2026.04.12": "2026-04-12", "2026041": "", "20261341": "", "": ""} {
		if got := isoDate(in); got != want {
			t.Errorf("isoDate(%q) = %q, want %q", in, got, want)
		}
	}
}
