package api

import (
	_ "embed"
	"net/http"

	"github.com/handoffmed/handoff/platform/clinical"
	"github.com/handoffmed/handoff/platform/record"
)

// OpenAPI is the API's OpenAPI 3.1 document, served at /v1/openapi.json.
//
//go:embed openapi.json
var OpenAPI []byte

func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(OpenAPI)
}

// webApp serves the web app's files (index page, the patient link page,
// its assets), or 404 when the server has none.
func (s *Server) webApp(w http.ResponseWriter, r *http.Request) {
	if s.web == nil {
		writeError(w, http.StatusNotFound, "route.not_found", "this server has no web app")
		return
	}
	s.web.ServeHTTP(w, r)
}

// Label is a text in English and Chinese (clinical.Label).
type Label struct {
	EN string `json:"en"`
	ZH string `json:"zh"`
}

// Labels are the clinical vocabulary's labels the pages show.
type Labels struct {
	Parts      map[string]Label `json:"parts"`
	Statuses   map[string]Label `json:"statuses"`
	Severities map[string]Label `json:"severities"`
	Fields     map[string]Label `json:"fields"`
	Findings   map[string]Label `json:"findings"`
}

func label(l clinical.Label) Label { return Label{EN: l.EN, ZH: l.ZH} }

// labels serves the bilingual labels of parts, statuses, severities,
// summary fields and findings, from the one clinical vocabulary.
func (s *Server) labels(w http.ResponseWriter, _ *http.Request) {
	out := Labels{Parts: map[string]Label{}, Statuses: map[string]Label{}, Severities: map[string]Label{}, Fields: map[string]Label{}, Findings: map[string]Label{}}
	for _, p := range record.Parts {
		out.Parts[p] = label(clinical.PartLabel(p))
	}
	for _, st := range []string{record.PartOK, record.PartWarning, record.PartMissing} {
		out.Statuses[st] = label(clinical.StatusLabel(st))
	}
	for _, sv := range []string{record.SeverityError, record.SeverityWarning, record.SeverityInfo} {
		out.Severities[sv] = label(clinical.SeverityLabel(sv))
	}
	for _, f := range []string{clinical.FieldPart, clinical.FieldStatus, clinical.FieldFindings, clinical.FieldChecklist, clinical.FieldFiles,
		clinical.FieldMedications, clinical.FieldLabs, clinical.FieldAllergies, clinical.FieldProcedure, clinical.FieldSymptoms,
		clinical.FieldUSRec, clinical.FieldCost, clinical.FieldAbroad, clinical.FieldConditions, clinical.FieldSurgeries,
		clinical.FieldAge, clinical.FieldHeight, clinical.FieldWeight, clinical.FieldPatient, clinical.FieldBirthDate, clinical.FieldSex} {
		out.Fields[f] = label(clinical.SummaryLabel(f))
	}
	for _, code := range clinical.FindingCodes() {
		l, _ := clinical.FindingLabel(code)
		out.Findings[code] = label(l)
	}
	w.Header().Set("Cache-Control", "max-age=300")
	writeJSON(w, http.StatusOK, out)
}
