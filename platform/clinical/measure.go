package clinical

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// The patterns of written measures (compiled per call: they are read a few
// times per summary).
const (
	feetInch = `(?i)^(\d+(?:\.\d+)?)\s*(?:ft|feet|foot|')\s*(?:(\d+(?:\.\d+)?)\s*(?:in|inch|inches|"|''|”)?)?$`
	numUnit  = `(?i)^(\d+(?:[.,]\d+)?)\s*([a-z\[\]_"'”#]*)\.?$`
)

// Height reads a height as written ("5 ft 10 in", `5'10"`, "178 cm",
// "1.78 m", "70 in") or as a vital sign's value and unit (UCUM "cm",
// "[in_i]"); it returns centimetres.
func Height(s string) (cm float64, ok bool) {
	s = strings.TrimSpace(strings.ReplaceAll(s, ",", "."))
	if m := regexp.MustCompile(feetInch).FindStringSubmatch(s); m != nil {
		ft, _ := strconv.ParseFloat(m[1], 64)
		in := 0.0
		if m[2] != "" {
			in, _ = strconv.ParseFloat(m[2], 64)
		}
		cm = (ft*12 + in) * 2.54
		return cm, cm > 30 && cm < 260
	}
	m := regexp.MustCompile(numUnit).FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	x, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	switch strings.ToLower(m[2]) {
	case "cm", "cms", "centimeters", "centimetres":
		cm = x
	case "m", "meters", "metres":
		cm = x * 100
	case "in", "inch", "inches", "[in_i]", "[in_us]", `"`, "”":
		cm = x * 2.54
	default:
		return 0, false
	}
	return cm, cm > 30 && cm < 260
}

// Weight reads a weight as written ("182 lb", "182 lbs", "83 kg") or as a
// vital sign's value and unit (UCUM "kg", "[lb_av]", "g"); it returns
// kilograms.
func Weight(s string) (kg float64, ok bool) {
	s = strings.TrimSpace(strings.ReplaceAll(s, ",", "."))
	m := regexp.MustCompile(numUnit).FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	x, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	switch strings.ToLower(m[2]) {
	case "kg", "kgs", "kilograms", "kilogram":
		kg = x
	case "lb", "lbs", "pounds", "pound", "[lb_av]", "#":
		kg = x * 0.45359237
	case "g", "grams":
		kg = x / 1000
	default:
		return 0, false
	}
	return kg, kg > 1 && kg < 400
}

// MetricHeight shows a height in the patient's units with centimetres
// beside: "5 ft 10 in (178 cm)"; a height already metric is kept as
// written; one that cannot be read is returned as it is.
func MetricHeight(s string) string {
	cm, ok := Height(s)
	if !ok || metric(s) {
		return s
	}
	return fmt.Sprintf("%s (%d cm)", strings.TrimSpace(s), int(math.Round(cm)))
}

// MetricWeight shows a weight with kilograms beside: "182 lb (83 kg)".
func MetricWeight(s string) string {
	kg, ok := Weight(s)
	if !ok || metric(s) {
		return s
	}
	return fmt.Sprintf("%s (%d kg)", strings.TrimSpace(s), int(math.Round(kg)))
}

func metric(s string) bool {
	l := strings.ToLower(s)
	return strings.HasSuffix(strings.TrimSpace(l), "cm") || strings.HasSuffix(strings.TrimSpace(l), "kg") ||
		strings.HasSuffix(strings.TrimSpace(l), " m")
}
