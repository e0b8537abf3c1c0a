package dicom

import (
	"cmp"
	"slices"
	"strings"
	"unicode"

	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/textfold"
)

// modalityNames are the readable modality names of scan folders.
var modalityNames = map[string]string{
	"MR": "MRI", "CT": "CT", "CR": "XRay", "DX": "XRay", "DR": "XRay", "RG": "XRay",
	"US": "Ultrasound", "PT": "PET", "NM": "NM", "MG": "Mammogram", "XA": "Angiography",
	"RF": "Fluoroscopy", "IO": "DentalXRay", "PX": "PanoramicXRay", "OP": "Ophthalmic",
	"OPT": "OCT", "ES": "Endoscopy", "XC": "Photo", "ECG": "ECG", "HD": "Waveform",
	"SR": "Report", "DOC": "Document", "SEG": "Segmentation", "OT": "Other", "SC": "Capture",
	"RTIMAGE": "RT", "RTDOSE": "RT", "RTSTRUCT": "RT", "RTPLAN": "RT", "RTRECORD": "RT",
	"BMD": "DEXA", "PR": "Presentation", "KO": "KeyImages",
}

// nonImaging modalities only name a folder when nothing else does.
var nonImaging = map[string]bool{"SR": true, "PR": true, "KO": true, "DOC": true, "SEG": true, "REG": true}

// ReadableModality maps a DICOM modality code to its folder name form
// (MR → MRI, CR/DX → XRay, ...); unknown codes are kept, made safe.
func ReadableModality(code string) string {
	code = strings.ToUpper(strings.TrimSpace(code))
	if n, ok := modalityNames[code]; ok {
		return n
	}
	return safe(code, false)
}

// bodyParts gives readable forms of some BodyPartExamined terms.
var bodyParts = map[string]string{
	"LSPINE": "lumbar_spine", "CSPINE": "cervical_spine", "TSPINE": "thoracic_spine",
	"SSPINE": "sacral_spine", "WHOLEBODY": "whole_body", "HEADNECK": "head_neck",
	"CHESTABDOMEN": "chest_abdomen", "CHESTABDPELVIS": "chest_abdomen_pelvis",
	"ABDOMENPELVIS": "abdomen_pelvis", "TMJ": "tmj", "EXTREMITY": "extremity",
}

var lateralities = map[string]string{"R": "right", "L": "left", "B": "both"}

// FolderName is the scan folder name of a study without the uniqueness
// suffix: date, readable modality, laterality and body part joined by "_",
// e.g. 2026-04-12_MRI_right_hip.
func FolderName(st record.Study) string {
	parts := []string{cmp.Or(st.Date, "undated")}
	if m := studyModality(st); m != "" {
		parts = append(parts, m)
	}
	lat := ""
	for _, s := range st.Series {
		l := lateralities[strings.ToUpper(s.Laterality)]
		if l == "" {
			continue
		}
		if lat != "" && lat != l {
			lat = "both"
			break
		}
		lat = l
	}
	body := ""
	for _, s := range st.Series {
		if s.BodyPart != "" {
			b := strings.ToUpper(strings.TrimSpace(s.BodyPart))
			body = cmp.Or(bodyParts[strings.NewReplacer(" ", "", "_", "", "-", "").Replace(b)], safe(b, true))
			if body != "" {
				break
			}
		}
	}
	if body == "" {
		body = safe(st.Description, true)
	}
	if body == "" {
		for _, s := range st.Series {
			if body = safe(s.Description, true); body != "" {
				break
			}
		}
	}
	if lat != "" && !strings.HasPrefix(body, lat) && !strings.Contains(body, "_"+lat+"_") {
		parts = append(parts, lat)
	}
	if body != "" {
		parts = append(parts, body)
	}
	return strings.Join(parts, "_")
}

// studyModality names a study's modalities: its imaging modalities by number
// of series ("PET-CT"), or its other modalities when it has none.
func studyModality(st record.Study) string {
	count := map[string]int{}
	var order []string
	for _, pass := range []bool{false, true} {
		for _, s := range st.Series {
			m := strings.ToUpper(strings.TrimSpace(s.Modality))
			if m == "" || nonImaging[m] != pass {
				continue
			}
			name := ReadableModality(m)
			if name == "" {
				continue
			}
			if count[name] == 0 {
				order = append(order, name)
			}
			count[name]++
		}
		if len(order) > 0 {
			break
		}
	}
	slices.SortStableFunc(order, func(a, b string) int { return count[b] - count[a] })
	if len(order) > 2 {
		order = order[:2]
	}
	return strings.Join(order, "-")
}

// FolderNames returns the folder name of each study, made unique within the
// case with a numeric suffix in study order ("..._hip", "..._hip_2").
func FolderNames(studies []record.Study) []string {
	names := make([]string, len(studies))
	seen := map[string]int{}
	for i, st := range studies {
		base := FolderName(st)
		n := base
		for k := 2; seen[n] > 0; k++ {
			n = base + "_" + itoa(k)
		}
		seen[n]++
		seen[base]++
		names[i] = n
	}
	return names
}

// safe makes s a filesystem-safe folder part: accents folded, ASCII letters
// and digits kept (lower-cased when lower), everything else one "_",
// at most 40 characters.
func safe(s string, lower bool) string {
	s = textfold.ASCII(s)
	var b strings.Builder
	under := false
	for _, r := range s {
		switch {
		case r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if under && b.Len() > 0 {
				b.WriteByte('_')
			}
			under = false
			if lower {
				r = unicode.ToLower(r)
			}
			b.WriteRune(r)
		default:
			under = true
		}
		if b.Len() >= 40 {
			break
		}
	}
	return strings.Trim(b.String(), "_")
}
