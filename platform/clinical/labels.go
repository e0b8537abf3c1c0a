package clinical

import "github.com/handoffmed/handoff/platform/record"

// Label is a text in English and in Simplified Chinese medical terminology.
type Label struct {
	EN, ZH string
}

// String is the label as the bilingual documents print it: "Allergies 过敏史".
func (l Label) String() string {
	if l.ZH == "" {
		return l.EN
	}
	return l.EN + " " + l.ZH
}

// PartLabel returns the title of one of the seven parts (record.Part*).
func PartLabel(part string) Label {
	return map[string]Label{
		record.PartSummary:     {"Case summary", "病例摘要"},
		record.PartImaging:     {"Imaging (DICOM)", "影像资料（DICOM）"},
		record.PartRadiology:   {"Radiology reports", "影像学报告"},
		record.PartLabs:        {"Recent labs (within 90 days)", "近期化验（90天内）"},
		record.PartSurgical:    {"Prior surgical notes", "既往手术记录"},
		record.PartMedications: {"Current medications", "当前用药"},
		record.PartID:          {"Passport", "护照"},
	}[part]
}

// StatusLabel returns the label of a part status (record.Part*).
func StatusLabel(status string) Label {
	switch status {
	case record.PartOK:
		return Label{"OK", "齐全"}
	case record.PartWarning:
		return Label{"CHECK", "需核对"}
	case record.PartMissing:
		return Label{"MISSING", "缺失"}
	}
	return Label{EN: status}
}

// SeverityLabel returns the label of a finding severity (record.Severity*).
func SeverityLabel(sev string) Label {
	switch sev {
	case record.SeverityError:
		return Label{"ERROR", "错误"}
	case record.SeverityWarning:
		return Label{"WARNING", "警告"}
	case record.SeverityInfo:
		return Label{"NOTE", "提示"}
	}
	return Label{EN: sev}
}

// Summary field keys (SummaryLabel).
const (
	FieldTitle       = "title"
	FieldPatient     = "patient"
	FieldBirthDate   = "birth_date"
	FieldSex         = "sex"
	FieldAge         = "age"
	FieldHeight      = "height"
	FieldWeight      = "weight"
	FieldAllergies   = "allergies"
	FieldProcedure   = "procedure"
	FieldSymptoms    = "symptoms"
	FieldUSRec       = "us_recommendation"
	FieldCost        = "quoted_cost"
	FieldAbroad      = "reason_abroad"
	FieldConditions  = "conditions"
	FieldSurgeries   = "prior_surgeries"
	FieldMedications = "medications"
	FieldLabs        = "labs"
	FieldImaging     = "imaging"
	FieldImpression  = "impression"
	FieldFindings    = "findings"
	FieldOther       = "other"
	FieldChecklist   = "checklist"
	FieldFiles       = "files"
	FieldStatus      = "status"
	FieldPart        = "part"
)

// SummaryLabel returns the label of a summary or checklist field (Field*).
func SummaryLabel(field string) Label {
	return map[string]Label{
		FieldTitle:       {"Case Summary", "病例摘要"},
		FieldPatient:     {"Patient", "患者"},
		FieldBirthDate:   {"DOB", "出生日期"},
		FieldSex:         {"Sex", "性别"},
		FieldAge:         {"Age", "年龄"},
		FieldHeight:      {"Height", "身高"},
		FieldWeight:      {"Weight", "体重"},
		FieldAllergies:   {"Allergies", "过敏史"},
		FieldProcedure:   {"Procedure sought", "拟行手术"},
		FieldSymptoms:    {"Symptom history", "现病史"},
		FieldUSRec:       {"US recommendation", "美国医生建议"},
		FieldCost:        {"Quoted cost (US)", "美国报价费用"},
		FieldAbroad:      {"Reason for care abroad", "出国就医原因"},
		FieldConditions:  {"Complicating conditions", "合并症及既往史"},
		FieldSurgeries:   {"Prior surgeries", "既往手术史"},
		FieldMedications: {"Current medications", "当前用药"},
		FieldLabs:        {"Key recent labs", "近期主要化验"},
		FieldImaging:     {"Imaging", "影像资料"},
		FieldImpression:  {"Impression", "影像诊断意见"},
		FieldFindings:    {"Open findings", "待补充事项"},
		FieldOther:       {"Other", "其他"},
		FieldChecklist:   {"Checklist", "清单"},
		FieldFiles:       {"Files", "文件"},
		FieldStatus:      {"Status", "状态"},
		FieldPart:        {"Part", "部分"},
	}[field]
}

// ConditionLabel returns the label of a condition (Condition*), or of
// "blood_thinners" (the patient says they take blood thinners).
func ConditionLabel(key string) Label {
	return map[string]Label{
		ConditionDiabetes:    {"Diabetes", "糖尿病"},
		ConditionPrediabetes: {"Prediabetes", "糖尿病前期"},
		ConditionCardiac:     {"Heart disease", "心脏病"},
		ConditionRespiratory: {"Respiratory disease", "呼吸系统疾病"},
		"blood_thinners":     {"Takes blood thinners", "服用抗凝药物"},
	}[key]
}

// ClassLabel returns how a medication class is flagged on the summary
// ("" for classes that are not flagged).
func ClassLabel(class string) Label {
	switch class {
	case ClassAnticoagulant:
		return Label{"BLOOD THINNER", "抗凝药"}
	case ClassAntiplatelet:
		return Label{"BLOOD THINNER", "抗血小板药"}
	case ClassClottingSupplement:
		return Label{"AFFECTS CLOTTING", "影响凝血"}
	case ClassNSAID:
		return Label{"NSAID", "非甾体抗炎药"}
	}
	return Label{}
}

// FindingLabel returns a finding as the specialist abroad reads it: what it
// means for the case, in English and Chinese (not the patient's to-do
// wording of the report). ok is false for a code it does not know.
func FindingLabel(code string) (Label, bool) {
	l, ok := findingTable()[code]
	return l, ok
}

// FindingCodes returns every code FindingLabel knows.
func FindingCodes() []string {
	t := findingTable()
	out := make([]string, 0, len(t))
	for c := range t {
		out = append(out, c)
	}
	return out
}

func findingTable() map[string]Label {
	return map[string]Label{
		"summary.missing":    {"No case summary was provided by the patient.", "患者未提供病例摘要。"},
		"summary.incomplete": {"The case summary does not state the exact procedure sought.", "病例摘要未写明拟行的具体手术。"},

		"imaging.none":              {"No DICOM imaging is included; the images will be requested.", "未附DICOM影像，需另行索取。"},
		"imaging.not_dicom":         {"Imaging is only available as pictures or screenshots, not diagnostic DICOM.", "影像仅为照片或截图，非可诊断的DICOM原始影像。"},
		"imaging.patient_mismatch":  {"Some imaging carries a different patient name or birth date.", "部分影像的患者姓名或出生日期与本人不符。"},
		"imaging.incomplete_series": {"An imaging series is incomplete (images missing).", "影像序列不完整，部分图像缺失。"},
		"imaging.secondary_capture": {"Some imaging is a secondary capture (screenshot) stored as DICOM.", "部分影像为以DICOM保存的截图（二次采集）。"},
		"imaging.duplicate":         {"Some DICOM images were uploaded twice; duplicates are left out.", "部分DICOM影像重复上传，已去重。"},

		"report.missing":     {"A scan has no radiology report.", "部分影像检查缺少影像学报告。"},
		"report.scanned_ocr": {"A radiology report was a scan; its text was recognised by OCR.", "部分影像学报告为扫描件，文字经OCR识别。"},

		"labs.missing":            {"No recent laboratory results (CBC, BMP, PT/INR) are included.", "未提供近期化验结果（血常规、基础代谢、凝血功能）。"},
		"labs.stale":              {"Some laboratory results are older than 90 days and should be repeated.", "部分化验结果已超过90天，需复查。"},
		"labs.undated":            {"The collection date of some laboratory results could not be read.", "部分化验结果无法确认采样日期。"},
		"labs.cbc_missing":        {"No complete blood count (CBC).", "缺少血常规。"},
		"labs.bmp_missing":        {"No basic or comprehensive metabolic panel (BMP/CMP).", "缺少基础或综合代谢检查（BMP/CMP）。"},
		"labs.coag_missing":       {"No coagulation test (PT/INR).", "缺少凝血功能检查（PT/INR）。"},
		"labs.hba1c_missing":      {"Diabetic or prediabetic, but no HbA1c.", "患者有糖尿病或糖尿病前期，但缺少糖化血红蛋白。"},
		"labs.ekg_missing":        {"No EKG, though over 50 or with a cardiac history.", "年龄超过50岁或有心脏病史，但缺少心电图。"},
		"labs.chest_xray_missing": {"Respiratory condition, but no chest X-ray.", "有呼吸系统疾病，但缺少胸部X线检查。"},

		"surgical.missing": {"A relevant prior surgery is declared, but its operative report is not included.", "有相关既往手术史，但未附手术记录。"},

		"meds.missing":       {"No medication list was provided.", "未提供用药清单。"},
		"meds.anticoagulant": {"Takes blood thinners, antiplatelets or supplements that affect clotting (highlighted above): a supervised stop 5-7 days before surgery is needed.", "服用抗凝药、抗血小板药或影响凝血的补充剂（见上方标红）：术前5-7天需在医生指导下停药。"},
		"meds.dose_missing":  {"Some medications are listed without a dose.", "部分药物未注明剂量。"},
		"meds.nsaid":         {"Takes NSAIDs, usually stopped a few days before surgery.", "服用非甾体抗炎药，术前通常需停药数日。"},

		"id.missing":               {"No passport identification page is included.", "未提供护照信息页。"},
		"id.name_mismatch":         {"The name or birth date differs between the passport and the records.", "护照与病历上的姓名或出生日期不一致。"},
		"id.mrz_unreadable":        {"The passport's machine-readable lines could not be verified.", "护照机读码无法校验。"},
		"id.not_passport":          {"The identity document is not a passport.", "身份证件不是护照。"},
		"id.passport_expiry":       {"The passport has expired or expires within 6 months.", "护照已过期或有效期不足6个月。"},
		"records.patient_mismatch": {"A document names a different patient.", "有文件显示为其他患者。"},
		"portal.export_dump":       {"A long patient-portal export was uploaded without a summary.", "上传了冗长的患者门户导出文件，且无病例摘要。"},

		"input.empty":          {"An uploaded file was empty and is not included.", "有上传文件为空，未纳入。"},
		"input.unreadable":     {"An uploaded file could not be read and is not included.", "有上传文件无法读取，未纳入。"},
		"input.encrypted":      {"An uploaded file is password-protected and is not included.", "有上传文件设有密码，未纳入。"},
		"input.unsafe_archive": {"An uploaded archive was unsafe and is not included.", "有上传压缩包不安全，未纳入。"},
		"input.archive_bomb":   {"An uploaded archive expanded beyond the limit and is not included.", "有上传压缩包解压后超出限制，未纳入。"},
		"input.unknown_type":   {"An uploaded file is of an unknown type and is not included.", "有上传文件类型无法识别，未纳入。"},
		"input.too_large":      {"An uploaded file is larger than the limit and is not included.", "有上传文件超出大小限制，未纳入。"},
		"input.bad_name":       {"An uploaded file has an unusable name and is not included.", "有上传文件名称无法使用，未纳入。"},
		"input.too_many_pages": {"An uploaded document has too many pages and is not included.", "有上传文件页数过多，未纳入。"},
		"input.page_too_large": {"An uploaded document has a page larger than the limit.", "有上传文件页面超出大小限制。"},
		"input.timeout":        {"An uploaded file took too long to process and is not included.", "有上传文件处理超时，未纳入。"},
	}
}
