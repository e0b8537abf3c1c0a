package clinical

import (
	"regexp"
	"strings"

	"github.com/handoffmed/handoff/platform/record"
)

// Drug classes. The first three are the record.Med* classes a medication
// record carries when it affects clotting.
const (
	ClassAnticoagulant      = record.MedAnticoagulant
	ClassAntiplatelet       = record.MedAntiplatelet
	ClassClottingSupplement = record.MedSupplement
	// ClassNSAID: non-steroidal anti-inflammatory drugs inhibit platelets
	// while taken and are usually stopped days before surgery.
	ClassNSAID = "nsaid"
	// ClassAntidiabetic: a drug that says the patient is treated for diabetes.
	ClassAntidiabetic = "antidiabetic"
	// ClassInhaledRespiratory: an inhaler that says the patient has a
	// respiratory disease (asthma, COPD).
	ClassInhaledRespiratory = "inhaled_respiratory"
)

// Drug is one entry of the drug dictionary.
type Drug struct {
	// Generic is the normalised generic name (lower case): the identity of
	// the drug across sources.
	Generic string
	// Names are the other names it is written as (lower case): brands,
	// salts, abbreviations, US and common international brands.
	Names []string
	// Class is a Class* constant, or "" for a drug none of the rules cares
	// about.
	Class string
	// Supplement marks over-the-counter supplements, whose dose is often a
	// count ("1 capsule") rather than a strength.
	Supplement bool
	// RxCUI is the RxNorm ingredient code, where known.
	RxCUI string
	// Chinese is the generic name in Simplified Chinese.
	Chinese string
}

// AffectsClotting reports whether the drug is a blood thinner, an
// antiplatelet (aspirin included) or a supplement that affects clotting:
// the drugs the checklist flags and the summary highlights.
func (d Drug) AffectsClotting() bool { return Flagged(d.Class) }

// MedicationClass is the class a medication record carries
// (record.Medication.Class): the clotting classes and NSAIDs, else "".
func (d Drug) MedicationClass() string {
	switch d.Class {
	case ClassAnticoagulant, ClassAntiplatelet, ClassClottingSupplement, ClassNSAID:
		return d.Class
	}
	return ""
}

// Flagged reports whether a medication class is one the checklist flags
// (meds.anticoagulant) and the summary highlights.
func Flagged(class string) bool {
	return class == ClassAnticoagulant || class == ClassAntiplatelet || class == ClassClottingSupplement
}

func (v *Vocabulary) indexDrugs() {
	v.drugName = map[string]int{}
	v.drugRx = map[string]int{}
	var names []string
	for i, d := range v.drugs {
		for _, n := range append([]string{d.Generic}, d.Names...) {
			k := Key(n)
			if _, dup := v.drugName[k]; dup {
				continue // the tests forbid this; the first entry wins
			}
			v.drugName[k] = i
			names = append(names, k)
		}
		if zh := Key(d.Chinese); zh != "" {
			if _, dup := v.drugName[zh]; !dup {
				v.drugName[zh] = i
			}
		}
		if d.RxCUI != "" {
			v.drugRx[d.RxCUI] = i
		}
	}
	longestFirst(names)
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = strings.ReplaceAll(regexp.QuoteMeta(n), " ", `[\s-]+`)
	}
	v.drugRe = regexp.MustCompile(`(?i)(?:^|[^a-z0-9])(` + strings.Join(quoted, "|") + `)(?:$|[^a-z0-9])`)
}

// Drugs returns the dictionary's entries.
func (v *Vocabulary) Drugs() []Drug { return v.drugs }

// Drug looks a drug up by one of its names (generic, brand, Chinese),
// written in any case; hyphens may stand for spaces.
func (v *Vocabulary) Drug(name string) (Drug, bool) {
	k := Key(name)
	if i, ok := v.drugName[k]; ok {
		return v.drugs[i], true
	}
	if i, ok := v.drugName[strings.ReplaceAll(k, "-", " ")]; ok {
		return v.drugs[i], true
	}
	return Drug{}, false
}

// DrugByRxNorm looks a drug up by its RxNorm ingredient code.
func (v *Vocabulary) DrugByRxNorm(code string) (Drug, bool) {
	i, ok := v.drugRx[strings.TrimSpace(code)]
	if !ok {
		return Drug{}, false
	}
	return v.drugs[i], true
}

// DrugMatch is a drug named in free text.
type DrugMatch struct {
	Drug Drug
	// Text is the name as written; Start and End its byte offsets.
	Text       string
	Start, End int
}

// FindDrug returns the first drug named in free text ("Eliquis 5 mg twice
// daily", "aspirin 81 mg; fish oil"). "ASA" counts only in capitals.
func (v *Vocabulary) FindDrug(s string) (DrugMatch, bool) {
	for _, m := range v.drugRe.FindAllStringSubmatchIndex(s, -1) {
		n := s[m[2]:m[3]]
		if strings.ContainsAny(n, "\n\r\v\f") {
			continue // a name is written on one line
		}
		d, ok := v.Drug(n)
		if !ok {
			continue
		}
		if Key(n) == "asa" && n != "ASA" {
			continue
		}
		return DrugMatch{Drug: d, Text: n, Start: m[2], End: m[3]}, true
	}
	return DrugMatch{}, false
}

// DrugByDisplayName reads a drug from a coded entry's display name, as C-CDA
// exports write them: "Insulin Glargine 100 UNT/ML Injectable Solution
// [Lantus]", "Aspirin 81 MG Oral Tablet". A bracketed brand decides when
// the dictionary knows it.
func (v *Vocabulary) DrugByDisplayName(s string) (Drug, bool) {
	if i := strings.LastIndex(s, "["); i >= 0 {
		if j := strings.Index(s[i:], "]"); j > 0 {
			if d, ok := v.Drug(s[i+1 : i+j]); ok {
				return d, true
			}
		}
	}
	if d, ok := v.Drug(s); ok {
		return d, true
	}
	if m, ok := v.FindDrug(s); ok {
		return m.Drug, true
	}
	return Drug{}, false
}

// MedicationText finds the drug of a medication as typed ("Eliquis 5 mg
// twice daily"): the first drug it names, else its first word taken as a
// name (a lower-case "asa" is read as aspirin here, where it stands alone
// as the medicine's name).
func (v *Vocabulary) MedicationText(s string) (Drug, bool) {
	if m, ok := v.FindDrug(s); ok {
		return m.Drug, true
	}
	if f := strings.Fields(s); len(f) > 0 {
		return v.Drug(f[0])
	}
	return Drug{}, false
}

// Medication finds the drug of a medication record: by its RxNorm code,
// then its generic name, then the name as written.
func (v *Vocabulary) Medication(m record.Medication) (Drug, bool) {
	if d, ok := v.DrugByRxNorm(m.RxNorm); ok {
		return d, true
	}
	if m.Generic != "" {
		if d, ok := v.Drug(m.Generic); ok {
			return d, true
		}
	}
	if d, ok := v.DrugByDisplayName(m.Name); ok {
		return d, true
	}
	return Drug{}, false
}

// MedicationClass is the class of a medication record as the checklist and
// the summary judge it: the dictionary's when it knows the drug, else the
// class the record carries.
func (v *Vocabulary) MedicationClass(m record.Medication) string {
	if d, ok := v.Medication(m); ok {
		return d.MedicationClass()
	}
	return m.Class
}

// drugTable is the dictionary. Generic names are those the pipeline has
// always used (fixed combinations are joined with "-").
func drugTable() []Drug {
	const (
		ac, ap, sup, nsaid = ClassAnticoagulant, ClassAntiplatelet, ClassClottingSupplement, ClassNSAID
		dm, inh            = ClassAntidiabetic, ClassInhaledRespiratory
	)
	d := func(generic, class, zh, rxcui string, names ...string) Drug {
		return Drug{Generic: generic, Class: class, Chinese: zh, RxCUI: rxcui, Names: names, Supplement: class == sup}
	}
	s := func(generic, zh string, names ...string) Drug {
		return Drug{Generic: generic, Chinese: zh, Names: names, Supplement: true}
	}
	return []Drug{
		// Anticoagulants.
		d("warfarin", ac, "华法林", "11289", "coumadin", "jantoven", "warfarin sodium", "marevan"),
		d("apixaban", ac, "阿哌沙班", "1364430", "eliquis"),
		d("rivaroxaban", ac, "利伐沙班", "", "xarelto"),
		d("dabigatran", ac, "达比加群酯", "1037042", "pradaxa", "dabigatran etexilate", "prazaxa"),
		d("edoxaban", ac, "依度沙班", "", "savaysa", "lixiana"),
		d("betrixaban", ac, "贝曲沙班", "", "bevyxxa"),
		d("heparin", ac, "肝素", "", "heparin sodium", "unfractionated heparin"),
		d("enoxaparin", ac, "依诺肝素", "67108", "lovenox", "clexane", "enoxaparin sodium"),
		d("dalteparin", ac, "达肝素", "", "fragmin"),
		d("tinzaparin", ac, "亭扎肝素", "", "innohep"),
		d("nadroparin", ac, "那屈肝素", "", "fraxiparine", "fraxiparin"),
		d("fondaparinux", ac, "磺达肝癸钠", "", "arixtra"),
		d("argatroban", ac, "阿加曲班", ""),
		d("bivalirudin", ac, "比伐芦定", "", "angiomax"),
		d("acenocoumarol", ac, "醋硝香豆素", "", "sintrom"),
		d("phenprocoumon", ac, "苯丙香豆素", "", "marcumar", "marcoumar", "falithrom"),
		d("fluindione", ac, "氟茚二酮", "", "previscan"),
		// Antiplatelets (aspirin included).
		d("clopidogrel", ap, "氯吡格雷", "32968", "plavix", "iscover"),
		d("prasugrel", ap, "普拉格雷", "", "effient", "efient"),
		d("ticagrelor", ap, "替格瑞洛", "", "brilinta", "brilique"),
		d("ticlopidine", ap, "噻氯匹定", "", "ticlid"),
		d("vorapaxar", ap, "沃拉帕沙", "", "zontivity"),
		d("cilostazol", ap, "西洛他唑", "", "pletal"),
		d("dipyridamole", ap, "双嘧达莫", "", "persantine"),
		d("aspirin-dipyridamole", ap, "阿司匹林/双嘧达莫", "", "aggrenox", "asasantin", "aspirin/dipyridamole"),
		d("aspirin", ap, "阿司匹林", "1191", "asa", "acetylsalicylic acid", "bayer", "bayer aspirin", "ecotrin", "bufferin",
			"durlaza", "baby aspirin", "low dose aspirin", "low-dose aspirin", "ec aspirin", "excedrin", "st. joseph aspirin",
			"aspirin cardio", "disprin", "cardiprin"),
		// NSAIDs (celecoxib spares platelets and is not one here).
		d("ibuprofen", nsaid, "布洛芬", "5640", "advil", "motrin", "brufen", "nurofen"),
		d("naproxen", nsaid, "萘普生", "7258", "aleve", "naprosyn", "anaprox", "naproxen sodium"),
		d("diclofenac", nsaid, "双氯芬酸", "3355", "voltaren", "cataflam", "arthrotec"),
		d("meloxicam", nsaid, "美洛昔康", "", "mobic"),
		d("ketorolac", nsaid, "酮咯酸", "", "toradol"),
		d("indomethacin", nsaid, "吲哚美辛", "", "indocin"),
		d("nabumetone", nsaid, "萘丁美酮", "", "relafen"),
		d("etodolac", nsaid, "依托度酸", "", "lodine"),
		d("oxaprozin", nsaid, "奥沙普秦", "", "daypro"),
		d("piroxicam", nsaid, "吡罗昔康", "", "feldene"),
		d("ketoprofen", nsaid, "酮洛芬", ""),
		d("sulindac", nsaid, "舒林酸", "", "clinoril"),
		// Supplements that affect clotting.
		d("fish oil", sup, "鱼油", "", "omega-3", "omega 3", "omega-3 fatty acids", "omega 3 fatty acids", "omega-3-acid ethyl esters",
			"lovaza", "vascepa", "icosapent ethyl", "krill oil", "cod liver oil", "epa/dha", "omacor"),
		d("ginkgo", sup, "银杏", "", "ginkgo biloba", "gingko"),
		d("vitamin e", sup, "维生素E", "", "vit e", "tocopherol", "alpha-tocopherol", "d-alpha tocopherol"),
		d("garlic", sup, "大蒜", "", "garlic extract", "kyolic", "garlique", "aged garlic"),
		d("turmeric", sup, "姜黄", "", "curcumin"),
		d("ginger", sup, "生姜", "", "ginger root"),
		d("ginseng", sup, "人参", "", "panax ginseng"),
		d("feverfew", sup, "小白菊", ""),
		d("dong quai", sup, "当归", ""),
		d("saw palmetto", sup, "锯棕榈", ""),
		d("nattokinase", sup, "纳豆激酶", ""),
		d("bromelain", sup, "菠萝蛋白酶", ""),
		d("danshen", sup, "丹参", ""),
		d("willow bark", sup, "柳树皮", ""),
		d("evening primrose oil", sup, "月见草油", "", "evening primrose"),
		d("flaxseed oil", sup, "亚麻籽油", "", "flax seed oil"),
		// Antidiabetics.
		d("metformin", dm, "二甲双胍", "6809", "glucophage", "metformin er"),
		d("glipizide", dm, "格列吡嗪", "", "glucotrol"),
		d("glimepiride", dm, "格列美脲", "", "amaryl"),
		d("glyburide", dm, "格列本脲", ""),
		d("pioglitazone", dm, "吡格列酮", "", "actos"),
		d("sitagliptin", dm, "西格列汀", "", "januvia", "janumet"),
		d("linagliptin", dm, "利格列汀", "", "tradjenta"),
		d("empagliflozin", dm, "恩格列净", "", "jardiance"),
		d("dapagliflozin", dm, "达格列净", "", "farxiga"),
		d("canagliflozin", dm, "卡格列净", "", "invokana"),
		d("liraglutide", dm, "利拉鲁肽", "", "victoza", "saxenda"),
		d("dulaglutide", dm, "度拉糖肽", "", "trulicity"),
		d("tirzepatide", dm, "替尔泊肽", "", "mounjaro", "zepbound"),
		d("insulin", dm, "胰岛素", "5856", "insulin glargine", "insulin lispro", "insulin aspart", "insulin detemir", "insulin degludec",
			"lantus", "basaglar", "toujeo", "humalog", "novolog", "levemir", "tresiba", "humulin", "novolin", "admelog", "fiasp"),
		// Semaglutide is also prescribed for weight alone: it says nothing of diabetes.
		d("semaglutide", "", "司美格鲁肽", "", "ozempic", "wegovy", "rybelsus"),
		// Inhalers.
		d("albuterol", inh, "沙丁胺醇", "435", "proair", "ventolin", "proventil", "salbutamol"),
		d("tiotropium", inh, "噻托溴铵", "", "spiriva"),
		d("ipratropium", inh, "异丙托溴铵", "", "atrovent", "combivent"),
		d("fluticasone-salmeterol", inh, "氟替卡松/沙美特罗", "", "advair", "wixela", "seretide"),
		d("budesonide-formoterol", inh, "布地奈德/福莫特罗", "", "symbicort", "budesonide"),
		d("fluticasone-umeclidinium-vilanterol", inh, "氟替卡松/乌美溴铵/维兰特罗", "", "trelegy"),
		// Other common medications: knowing them finds medication lines
		// that state no dose.
		d("lisinopril", "", "赖诺普利", "29046", "zestril", "prinivil"),
		d("losartan", "", "氯沙坦", "52175", "cozaar"),
		d("valsartan", "", "缬沙坦", "69749", "diovan"),
		d("olmesartan", "", "奥美沙坦", "", "benicar"),
		d("irbesartan", "", "厄贝沙坦", "", "avapro"),
		d("sacubitril-valsartan", "", "沙库巴曲缬沙坦", "", "entresto", "sacubitril"),
		d("benazepril", "", "贝那普利", "", "lotensin"),
		d("enalapril", "", "依那普利", "3827", "vasotec"),
		d("ramipril", "", "雷米普利", "35296", "altace"),
		d("amlodipine", "", "氨氯地平", "17767", "norvasc"),
		d("metoprolol", "", "美托洛尔", "6918", "metoprolol succinate", "metoprolol tartrate", "toprol", "toprol xl", "lopressor"),
		d("carvedilol", "", "卡维地洛", "", "coreg"),
		d("atenolol", "", "阿替洛尔", "1202", "tenormin"),
		d("propranolol", "", "普萘洛尔", "", "inderal"),
		d("bisoprolol", "", "比索洛尔", "19484"),
		d("diltiazem", "", "地尔硫卓", "", "cardizem"),
		d("verapamil", "", "维拉帕米", "", "calan"),
		d("nifedipine", "", "硝苯地平", "", "procardia"),
		d("hydralazine", "", "肼屈嗪", ""),
		d("clonidine", "", "可乐定", "", "catapres"),
		d("isosorbide mononitrate", "", "单硝酸异山梨酯", "", "isosorbide", "imdur"),
		d("nitroglycerin", "", "硝酸甘油", "", "nitrostat"),
		d("ranolazine", "", "雷诺嗪", "", "ranexa"),
		d("digoxin", "", "地高辛", "3407", "lanoxin"),
		d("amiodarone", "", "胺碘酮", "", "pacerone"),
		d("sotalol", "", "索他洛尔", "", "betapace"),
		d("flecainide", "", "氟卡尼", ""),
		d("dofetilide", "", "多非利特", "", "tikosyn"),
		d("hydrochlorothiazide", "", "氢氯噻嗪", "5487", "hctz", "microzide"),
		d("chlorthalidone", "", "氯噻酮", ""),
		d("furosemide", "", "呋塞米", "4603", "lasix"),
		d("torsemide", "", "托拉塞米", ""),
		d("bumetanide", "", "布美他尼", "", "bumex"),
		d("spironolactone", "", "螺内酯", "9997", "aldactone"),
		d("triamterene", "", "氨苯蝶啶", "", "dyazide", "maxzide"),
		d("atorvastatin", "", "阿托伐他汀", "83367", "lipitor"),
		d("simvastatin", "", "辛伐他汀", "36567", "zocor"),
		d("rosuvastatin", "", "瑞舒伐他汀", "301542", "crestor"),
		d("pravastatin", "", "普伐他汀", "", "pravachol"),
		d("lovastatin", "", "洛伐他汀", ""),
		d("ezetimibe", "", "依折麦布", "", "zetia"),
		d("fenofibrate", "", "非诺贝特", "", "tricor"),
		d("gemfibrozil", "", "吉非罗齐", "", "lopid"),
		d("levothyroxine", "", "左甲状腺素", "10582", "synthroid", "levoxyl", "unithroid", "euthyrox"),
		d("omeprazole", "", "奥美拉唑", "7646", "prilosec"),
		d("pantoprazole", "", "泮托拉唑", "40790", "protonix"),
		d("esomeprazole", "", "埃索美拉唑", "", "nexium"),
		d("lansoprazole", "", "兰索拉唑", "", "prevacid"),
		d("famotidine", "", "法莫替丁", "", "pepcid"),
		d("ondansetron", "", "昂丹司琼", "", "zofran"),
		d("gabapentin", "", "加巴喷丁", "", "neurontin"),
		d("pregabalin", "", "普瑞巴林", "", "lyrica"),
		d("tramadol", "", "曲马多", "10689", "ultram"),
		d("oxycodone", "", "羟考酮", "7804", "oxycontin", "percocet", "roxicodone"),
		d("hydrocodone", "", "氢可酮", "", "norco", "vicodin"),
		d("acetaminophen", "", "对乙酰氨基酚", "161", "tylenol", "paracetamol"),
		d("celecoxib", "", "塞来昔布", "140587", "celebrex"),
		d("cyclobenzaprine", "", "环苯扎林", "", "flexeril"),
		d("methocarbamol", "", "美索巴莫", "", "robaxin"),
		d("tizanidine", "", "替扎尼定", "", "zanaflex"),
		d("baclofen", "", "巴氯芬", ""),
		d("sertraline", "", "舍曲林", "36437", "zoloft"),
		d("escitalopram", "", "艾司西酞普兰", "", "lexapro"),
		d("citalopram", "", "西酞普兰", "2556", "celexa"),
		d("fluoxetine", "", "氟西汀", "4493", "prozac"),
		d("paroxetine", "", "帕罗西汀", "", "paxil"),
		d("bupropion", "", "安非他酮", "", "wellbutrin"),
		d("trazodone", "", "曲唑酮", ""),
		d("duloxetine", "", "度洛西汀", "", "cymbalta"),
		d("venlafaxine", "", "文拉法辛", "39786", "effexor"),
		d("mirtazapine", "", "米氮平", "", "remeron"),
		d("alprazolam", "", "阿普唑仑", "596", "xanax"),
		d("lorazepam", "", "劳拉西泮", "6470", "ativan"),
		d("clonazepam", "", "氯硝西泮", "", "klonopin"),
		d("diazepam", "", "地西泮", "3322", "valium"),
		d("zolpidem", "", "唑吡坦", "", "ambien"),
		d("quetiapine", "", "喹硫平", "", "seroquel"),
		d("aripiprazole", "", "阿立哌唑", "", "abilify"),
		d("lamotrigine", "", "拉莫三嗪", "", "lamictal"),
		d("levetiracetam", "", "左乙拉西坦", "", "keppra"),
		d("topiramate", "", "托吡酯", "", "topamax"),
		d("sumatriptan", "", "舒马普坦", "", "imitrex"),
		d("donepezil", "", "多奈哌齐", "", "aricept"),
		d("carbidopa-levodopa", "", "卡比多巴/左旋多巴", "", "carbidopa", "levodopa", "sinemet"),
		d("prednisone", "", "泼尼松", ""),
		d("methylprednisolone", "", "甲泼尼龙", "", "medrol"),
		d("dexamethasone", "", "地塞米松", ""),
		d("fluticasone", "", "氟替卡松", "", "flonase", "flovent"),
		d("montelukast", "", "孟鲁司特", "", "singulair"),
		d("cetirizine", "", "西替利嗪", "", "zyrtec"),
		d("loratadine", "", "氯雷他定", "", "claritin"),
		d("fexofenadine", "", "非索非那定", "", "allegra"),
		d("diphenhydramine", "", "苯海拉明", "", "benadryl"),
		d("tamsulosin", "", "坦索罗辛", "", "flomax"),
		d("finasteride", "", "非那雄胺", "", "proscar"),
		d("oxybutynin", "", "奥昔布宁", ""),
		d("sildenafil", "", "西地那非", "", "viagra"),
		d("tadalafil", "", "他达拉非", "", "cialis"),
		d("allopurinol", "", "别嘌醇", "", "zyloprim"),
		d("colchicine", "", "秋水仙碱", "", "colcrys"),
		d("alendronate", "", "阿仑膦酸钠", "", "fosamax"),
		d("hydroxychloroquine", "", "羟氯喹", "", "plaquenil"),
		d("methotrexate", "", "甲氨蝶呤", ""),
		d("adalimumab", "", "阿达木单抗", "", "humira"),
		d("etanercept", "", "依那西普", "", "enbrel"),
		d("estradiol", "", "雌二醇", ""),
		d("medroxyprogesterone", "", "甲羟孕酮", ""),
		d("tamoxifen", "", "他莫昔芬", ""),
		d("anastrozole", "", "阿那曲唑", "", "arimidex"),
		d("letrozole", "", "来曲唑", "", "femara"),
		d("amoxicillin", "", "阿莫西林", "723"),
		d("doxycycline", "", "多西环素", ""),
		d("ciprofloxacin", "", "环丙沙星", "2551", "cipro"),
		d("nitrofurantoin", "", "呋喃妥因", "", "macrobid"),
		d("valacyclovir", "", "伐昔洛韦", "", "valtrex"),
		d("potassium chloride", "", "氯化钾", "8591", "klor-con", "k-dur"),
		d("docusate", "", "多库酯钠", "", "colace"),
		d("senna", "", "番泻叶", "", "senokot"),
		d("polyethylene glycol", "", "聚乙二醇", "", "miralax"),
		// Supplements that do not affect clotting.
		s("vitamin d", "维生素D", "vitamin d3", "vit d", "cholecalciferol", "ergocalciferol"),
		s("calcium", "钙剂", "calcium carbonate", "calcium citrate", "caltrate", "citracal", "os-cal"),
		s("multivitamin", "复合维生素", "multi-vitamin", "centrum", "one a day", "prenatal vitamin"),
		s("magnesium", "镁剂", "magnesium oxide", "magnesium citrate", "magnesium glycinate"),
		s("vitamin b12", "维生素B12", "vitamin b-12", "b12", "cyanocobalamin", "methylcobalamin"),
		s("vitamin c", "维生素C", "ascorbic acid"),
		s("folic acid", "叶酸", "folate"),
		s("iron", "铁剂", "ferrous sulfate", "ferrous gluconate"),
		s("zinc", "锌剂"),
		s("biotin", "生物素"),
		s("melatonin", "褪黑素"),
		s("probiotic", "益生菌", "probiotics"),
		s("coenzyme q10", "辅酶Q10", "coq10", "ubiquinol"),
		s("glucosamine", "氨基葡萄糖", "glucosamine chondroitin", "chondroitin"),
		s("collagen", "胶原蛋白"),
		s("st. john's wort", "圣约翰草", "st john's wort", "st johns wort"),
		s("echinacea", "紫锥菊"),
		s("elderberry", "接骨木莓"),
		s("ashwagandha", "南非醉茄"),
		s("milk thistle", "水飞蓟"),
	}
}
