package understand

import (
	"github.com/handoffmed/handoff/platform/record"
)

// MedNSAID marks non-steroidal anti-inflammatory drugs: they inhibit
// platelets while taken and are usually stopped days before surgery.
const MedNSAID = "nsaid"

// drug is one entry of the dictionary: a generic name and, when it affects
// clotting, its class.
type drug struct {
	generic string
	class   string
	// supplement marks over-the-counter supplements, whose dose is often
	// given as a count ("1 capsule") rather than a strength.
	supplement bool
}

// clottingDrugs lists blood thinners, antiplatelets and supplements that
// affect clotting, by generic and common US brand names (lower case).
var clottingDrugs = map[string][]string{
	// Anticoagulants.
	"warfarin":      {"warfarin", "coumadin", "jantoven", "warfarin sodium"},
	"apixaban":      {"apixaban", "eliquis"},
	"rivaroxaban":   {"rivaroxaban", "xarelto"},
	"dabigatran":    {"dabigatran", "pradaxa", "dabigatran etexilate"},
	"edoxaban":      {"edoxaban", "savaysa", "lixiana"},
	"betrixaban":    {"betrixaban", "bevyxxa"},
	"heparin":       {"heparin", "heparin sodium", "unfractionated heparin"},
	"enoxaparin":    {"enoxaparin", "lovenox"},
	"dalteparin":    {"dalteparin", "fragmin"},
	"tinzaparin":    {"tinzaparin", "innohep"},
	"fondaparinux":  {"fondaparinux", "arixtra"},
	"argatroban":    {"argatroban"},
	"bivalirudin":   {"bivalirudin", "angiomax"},
	"acenocoumarol": {"acenocoumarol", "sintrom"},
	// Antiplatelets.
	"clopidogrel":          {"clopidogrel", "plavix"},
	"prasugrel":            {"prasugrel", "effient"},
	"ticagrelor":           {"ticagrelor", "brilinta"},
	"ticlopidine":          {"ticlopidine", "ticlid"},
	"vorapaxar":            {"vorapaxar", "zontivity"},
	"cilostazol":           {"cilostazol", "pletal"},
	"dipyridamole":         {"dipyridamole", "persantine"},
	"aspirin-dipyridamole": {"aggrenox", "aspirin-dipyridamole", "aspirin/dipyridamole"},
	"aspirin": {"aspirin", "asa", "acetylsalicylic acid", "bayer", "bayer aspirin", "ecotrin", "bufferin",
		"durlaza", "baby aspirin", "low dose aspirin", "low-dose aspirin", "ec aspirin", "excedrin", "st. joseph aspirin"},
	// NSAIDs (celecoxib spares platelets and is left out).
	"ibuprofen":    {"ibuprofen", "advil", "motrin"},
	"naproxen":     {"naproxen", "aleve", "naprosyn", "anaprox", "naproxen sodium"},
	"diclofenac":   {"diclofenac", "voltaren", "cataflam", "arthrotec"},
	"meloxicam":    {"meloxicam", "mobic"},
	"ketorolac":    {"ketorolac", "toradol"},
	"indomethacin": {"indomethacin", "indocin"},
	"nabumetone":   {"nabumetone", "relafen"},
	"etodolac":     {"etodolac", "lodine"},
	"oxaprozin":    {"oxaprozin", "daypro"},
	"piroxicam":    {"piroxicam", "feldene"},
	"ketoprofen":   {"ketoprofen"},
	"sulindac":     {"sulindac", "clinoril"},
	// Supplements that affect clotting.
	"fish oil":             {"fish oil", "omega-3", "omega 3", "omega-3 fatty acids", "omega 3 fatty acids", "omega-3-acid ethyl esters", "lovaza", "vascepa", "icosapent ethyl", "krill oil", "cod liver oil", "epa/dha", "omacor"},
	"ginkgo":               {"ginkgo", "ginkgo biloba", "gingko"},
	"vitamin e":            {"vitamin e", "vit e", "tocopherol", "alpha-tocopherol", "d-alpha tocopherol"},
	"garlic":               {"garlic", "garlic extract", "kyolic", "garlique", "aged garlic"},
	"turmeric":             {"turmeric", "curcumin"},
	"ginger":               {"ginger", "ginger root"},
	"ginseng":              {"ginseng", "panax ginseng"},
	"feverfew":             {"feverfew"},
	"dong quai":            {"dong quai"},
	"saw palmetto":         {"saw palmetto"},
	"nattokinase":          {"nattokinase"},
	"bromelain":            {"bromelain"},
	"danshen":              {"danshen"},
	"willow bark":          {"willow bark"},
	"evening primrose oil": {"evening primrose oil", "evening primrose"},
	"flaxseed oil":         {"flaxseed oil", "flax seed oil"},
}

var anticoagulants = []string{"warfarin", "apixaban", "rivaroxaban", "dabigatran", "edoxaban", "betrixaban",
	"heparin", "enoxaparin", "dalteparin", "tinzaparin", "fondaparinux", "argatroban", "bivalirudin", "acenocoumarol"}

var antiplatelets = []string{"clopidogrel", "prasugrel", "ticagrelor", "ticlopidine", "vorapaxar", "cilostazol",
	"dipyridamole", "aspirin-dipyridamole", "aspirin"}

var nsaids = []string{"ibuprofen", "naproxen", "diclofenac", "meloxicam", "ketorolac", "indomethacin", "nabumetone",
	"etodolac", "oxaprozin", "piroxicam", "ketoprofen", "sulindac"}

// otherDrugs are common US medications and supplements that do not affect
// clotting: recognising them finds medication lines that state no dose.
// Brand names map to their generic.
var otherDrugs = map[string][]string{
	"lisinopril": {"lisinopril", "zestril", "prinivil"}, "losartan": {"losartan", "cozaar"},
	"valsartan": {"valsartan", "diovan"}, "olmesartan": {"olmesartan", "benicar"}, "irbesartan": {"irbesartan", "avapro"},
	"sacubitril-valsartan": {"entresto", "sacubitril"}, "benazepril": {"benazepril", "lotensin"},
	"enalapril": {"enalapril", "vasotec"}, "ramipril": {"ramipril", "altace"}, "amlodipine": {"amlodipine", "norvasc"},
	"metoprolol": {"metoprolol", "metoprolol succinate", "metoprolol tartrate", "toprol", "toprol xl", "lopressor"},
	"carvedilol": {"carvedilol", "coreg"}, "atenolol": {"atenolol", "tenormin"}, "propranolol": {"propranolol", "inderal"},
	"bisoprolol": {"bisoprolol"}, "diltiazem": {"diltiazem", "cardizem"}, "verapamil": {"verapamil", "calan"},
	"nifedipine": {"nifedipine", "procardia"}, "hydralazine": {"hydralazine"}, "clonidine": {"clonidine", "catapres"},
	"isosorbide mononitrate": {"isosorbide", "isosorbide mononitrate", "imdur"}, "nitroglycerin": {"nitroglycerin", "nitrostat"},
	"ranolazine": {"ranolazine", "ranexa"}, "digoxin": {"digoxin", "lanoxin"}, "amiodarone": {"amiodarone", "pacerone"},
	"sotalol": {"sotalol", "betapace"}, "flecainide": {"flecainide"}, "dofetilide": {"dofetilide", "tikosyn"},
	"hydrochlorothiazide": {"hydrochlorothiazide", "hctz", "microzide"}, "chlorthalidone": {"chlorthalidone"},
	"furosemide": {"furosemide", "lasix"}, "torsemide": {"torsemide"}, "bumetanide": {"bumetanide", "bumex"},
	"spironolactone": {"spironolactone", "aldactone"}, "triamterene": {"triamterene", "dyazide", "maxzide"},
	"atorvastatin": {"atorvastatin", "lipitor"}, "simvastatin": {"simvastatin", "zocor"},
	"rosuvastatin": {"rosuvastatin", "crestor"}, "pravastatin": {"pravastatin", "pravachol"},
	"lovastatin": {"lovastatin"}, "ezetimibe": {"ezetimibe", "zetia"}, "fenofibrate": {"fenofibrate", "tricor"},
	"gemfibrozil": {"gemfibrozil", "lopid"},
	"metformin":   {"metformin", "glucophage", "metformin er"}, "glipizide": {"glipizide", "glucotrol"},
	"glimepiride": {"glimepiride", "amaryl"}, "glyburide": {"glyburide"}, "pioglitazone": {"pioglitazone", "actos"},
	"sitagliptin": {"sitagliptin", "januvia", "janumet"}, "linagliptin": {"linagliptin", "tradjenta"},
	"empagliflozin": {"empagliflozin", "jardiance"}, "dapagliflozin": {"dapagliflozin", "farxiga"},
	"canagliflozin": {"canagliflozin", "invokana"}, "semaglutide": {"semaglutide", "ozempic", "wegovy", "rybelsus"},
	"liraglutide": {"liraglutide", "victoza", "saxenda"}, "dulaglutide": {"dulaglutide", "trulicity"},
	"tirzepatide": {"tirzepatide", "mounjaro", "zepbound"},
	"insulin": {"insulin", "insulin glargine", "insulin lispro", "insulin aspart", "insulin detemir", "insulin degludec",
		"lantus", "basaglar", "toujeo", "humalog", "novolog", "levemir", "tresiba", "humulin", "novolin", "admelog", "fiasp"},
	"levothyroxine": {"levothyroxine", "synthroid", "levoxyl", "unithroid", "euthyrox"},
	"omeprazole":    {"omeprazole", "prilosec"}, "pantoprazole": {"pantoprazole", "protonix"},
	"esomeprazole": {"esomeprazole", "nexium"}, "lansoprazole": {"lansoprazole", "prevacid"},
	"famotidine": {"famotidine", "pepcid"}, "ondansetron": {"ondansetron", "zofran"},
	"gabapentin": {"gabapentin", "neurontin"}, "pregabalin": {"pregabalin", "lyrica"},
	"tramadol": {"tramadol", "ultram"}, "oxycodone": {"oxycodone", "oxycontin", "percocet", "roxicodone"},
	"hydrocodone": {"hydrocodone", "norco", "vicodin"}, "acetaminophen": {"acetaminophen", "tylenol", "paracetamol"},
	"celecoxib": {"celecoxib", "celebrex"}, "cyclobenzaprine": {"cyclobenzaprine", "flexeril"},
	"methocarbamol": {"methocarbamol", "robaxin"}, "tizanidine": {"tizanidine", "zanaflex"},
	"baclofen":   {"baclofen"},
	"sertraline": {"sertraline", "zoloft"}, "escitalopram": {"escitalopram", "lexapro"}, "citalopram": {"citalopram", "celexa"},
	"fluoxetine": {"fluoxetine", "prozac"}, "paroxetine": {"paroxetine", "paxil"}, "bupropion": {"bupropion", "wellbutrin"},
	"trazodone": {"trazodone"}, "duloxetine": {"duloxetine", "cymbalta"}, "venlafaxine": {"venlafaxine", "effexor"},
	"mirtazapine": {"mirtazapine", "remeron"}, "alprazolam": {"alprazolam", "xanax"}, "lorazepam": {"lorazepam", "ativan"},
	"clonazepam": {"clonazepam", "klonopin"}, "diazepam": {"diazepam", "valium"}, "zolpidem": {"zolpidem", "ambien"},
	"quetiapine": {"quetiapine", "seroquel"}, "aripiprazole": {"aripiprazole", "abilify"}, "lamotrigine": {"lamotrigine", "lamictal"},
	"levetiracetam": {"levetiracetam", "keppra"}, "topiramate": {"topiramate", "topamax"}, "sumatriptan": {"sumatriptan", "imitrex"},
	"donepezil": {"donepezil", "aricept"}, "carbidopa-levodopa": {"carbidopa", "levodopa", "sinemet"},
	"prednisone": {"prednisone"}, "methylprednisolone": {"methylprednisolone", "medrol"}, "dexamethasone": {"dexamethasone"},
	"albuterol": {"albuterol", "proair", "ventolin", "proventil"}, "fluticasone": {"fluticasone", "flonase", "flovent"},
	"fluticasone-salmeterol": {"advair", "wixela"}, "budesonide-formoterol": {"symbicort", "budesonide"},
	"tiotropium": {"tiotropium", "spiriva"}, "montelukast": {"montelukast", "singulair"},
	"fluticasone-umeclidinium-vilanterol": {"trelegy"}, "ipratropium": {"ipratropium", "atrovent", "combivent"},
	"cetirizine": {"cetirizine", "zyrtec"}, "loratadine": {"loratadine", "claritin"}, "fexofenadine": {"fexofenadine", "allegra"},
	"diphenhydramine": {"diphenhydramine", "benadryl"},
	"tamsulosin":      {"tamsulosin", "flomax"}, "finasteride": {"finasteride", "proscar"}, "oxybutynin": {"oxybutynin"},
	"sildenafil": {"sildenafil", "viagra"}, "tadalafil": {"tadalafil", "cialis"},
	"allopurinol": {"allopurinol", "zyloprim"}, "colchicine": {"colchicine", "colcrys"}, "alendronate": {"alendronate", "fosamax"},
	"hydroxychloroquine": {"hydroxychloroquine", "plaquenil"}, "methotrexate": {"methotrexate"},
	"adalimumab": {"adalimumab", "humira"}, "etanercept": {"etanercept", "enbrel"},
	"estradiol": {"estradiol"}, "medroxyprogesterone": {"medroxyprogesterone"}, "tamoxifen": {"tamoxifen"},
	"anastrozole": {"anastrozole", "arimidex"}, "letrozole": {"letrozole", "femara"},
	"amoxicillin": {"amoxicillin"}, "doxycycline": {"doxycycline"}, "ciprofloxacin": {"ciprofloxacin", "cipro"},
	"nitrofurantoin": {"nitrofurantoin", "macrobid"}, "valacyclovir": {"valacyclovir", "valtrex"},
	"potassium chloride": {"potassium chloride", "klor-con", "k-dur"}, "docusate": {"docusate", "colace"},
	"senna": {"senna", "senokot"}, "polyethylene glycol": {"polyethylene glycol", "miralax"},
}

// otherSupplements are supplements that do not affect clotting.
var otherSupplements = map[string][]string{
	"vitamin d":    {"vitamin d", "vitamin d3", "vit d", "cholecalciferol", "ergocalciferol"},
	"calcium":      {"calcium", "calcium carbonate", "calcium citrate", "caltrate", "citracal", "os-cal"},
	"multivitamin": {"multivitamin", "multi-vitamin", "centrum", "one a day", "prenatal vitamin"},
	"magnesium":    {"magnesium", "magnesium oxide", "magnesium citrate", "magnesium glycinate"},
	"vitamin b12":  {"vitamin b12", "vitamin b-12", "b12", "cyanocobalamin", "methylcobalamin"},
	"vitamin c":    {"vitamin c", "ascorbic acid"}, "folic acid": {"folic acid", "folate"},
	"iron": {"iron", "ferrous sulfate", "ferrous gluconate"}, "zinc": {"zinc"}, "biotin": {"biotin"},
	"melatonin": {"melatonin"}, "probiotic": {"probiotic", "probiotics"}, "coenzyme q10": {"coq10", "coenzyme q10", "ubiquinol"},
	"glucosamine": {"glucosamine", "glucosamine chondroitin", "chondroitin"}, "collagen": {"collagen"},
	"st. john's wort": {"st. john's wort", "st john's wort", "st johns wort"}, "echinacea": {"echinacea"},
	"elderberry": {"elderberry"}, "ashwagandha": {"ashwagandha"}, "milk thistle": {"milk thistle"},
}

var supplementGenerics = map[string]bool{
	"fish oil": true, "ginkgo": true, "vitamin e": true, "garlic": true, "turmeric": true, "ginger": true,
	"ginseng": true, "feverfew": true, "dong quai": true, "saw palmetto": true, "nattokinase": true,
	"bromelain": true, "danshen": true, "willow bark": true, "evening primrose oil": true, "flaxseed oil": true,
}

// antidiabetics are the generics whose presence says the patient is
// treated for diabetes.
var antidiabetics = map[string]bool{
	"metformin": true, "glipizide": true, "glimepiride": true, "glyburide": true, "pioglitazone": true,
	"sitagliptin": true, "linagliptin": true, "empagliflozin": true, "dapagliflozin": true, "canagliflozin": true,
	"insulin": true, "liraglutide": true, "dulaglutide": true, "tirzepatide": true,
}

// buildDrugDict flattens the tables into name -> drug.
func buildDrugDict() map[string]drug {
	d := make(map[string]drug)
	class := func(g string) string {
		for _, x := range anticoagulants {
			if x == g {
				return record.MedAnticoagulant
			}
		}
		for _, x := range antiplatelets {
			if x == g {
				return record.MedAntiplatelet
			}
		}
		for _, x := range nsaids {
			if x == g {
				return MedNSAID
			}
		}
		if supplementGenerics[g] {
			return record.MedSupplement
		}
		return ""
	}
	for g, names := range clottingDrugs {
		for _, n := range names {
			d[n] = drug{generic: g, class: class(g), supplement: supplementGenerics[g]}
		}
	}
	for g, names := range otherDrugs {
		for _, n := range names {
			if _, ok := d[n]; !ok {
				d[n] = drug{generic: g}
			}
		}
	}
	for g, names := range otherSupplements {
		for _, n := range names {
			if _, ok := d[n]; !ok {
				d[n] = drug{generic: g, supplement: true}
			}
		}
	}
	return d
}

// IsDiabetesDrug reports whether a generic name is a diabetes medication.
func IsDiabetesDrug(generic string) bool { return antidiabetics[generic] }
