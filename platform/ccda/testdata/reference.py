#!/usr/bin/env python3
"""A second, independent reading of C-CDA documents, for the Go reader's tests.

Reads each file named on the command line with xml.etree (a whole-document
tree and path queries, where the Go reader streams tokens) and prints one JSON
object per line: {"path": ..., "doc": {...}} or {"path": ..., "error": ...}.
It reads the same fields by the same rules as the Go package (see its
README), written independently. Standard library only.
"""
import json
import re
import sys
import xml.etree.ElementTree as ET

V = "urn:hl7-org:v3"
N = {"h": V}
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"

RXNORM, LOINC = "2.16.840.1.113883.6.88", "2.16.840.1.113883.6.1"
SYSTEMS = {
    "2.16.840.1.113883.6.96": "SNOMED CT",
    "2.16.840.1.113883.6.90": "ICD-10-CM",
    "2.16.840.1.113883.6.103": "ICD-9-CM",
    "2.16.840.1.113883.6.2": "ICD-9-CM",
    "2.16.840.1.113883.6.104": "ICD-9-CM",
    "2.16.840.1.113883.6.4": "ICD-10-PCS",
    "2.16.840.1.113883.6.12": "CPT",
    "2.16.840.1.113883.6.285": "HCPCS",
    "2.16.840.1.113883.6.1": "LOINC",
    "2.16.840.1.113883.6.88": "RxNorm",
}
P = "2.16.840.1.113883.10.20."
HITSP, IHE = "2.16.840.1.113883.3.88.11.83.", "1.3.6.1.4.1.19376.1.5.3.1."
KINDS = {  # section template roots (C-CDA R2.x/R1.1, CCD 1.0, HITSP, IHE) and LOINC codes
    "meds": ({P + "22.2.1", P + "22.2.1.1", P + "1.8", HITSP + "112", IHE + "3.19", P + "22.2.11", P + "22.2.11.1"},
             {"10160-0", "10183-2", "75311-1"}),
    "results": ({P + "22.2.3", P + "22.2.3.1", P + "1.14", HITSP + "122", IHE + "3.28"}, {"30954-2"}),
    "problems": ({P + "22.2.5", P + "22.2.5.1", P + "1.11", HITSP + "103", IHE + "3.6"}, {"11450-4"}),
    "allergies": ({P + "22.2.6", P + "22.2.6.1", P + "1.2", HITSP + "102", IHE + "3.13"}, {"48765-2"}),
    "procedures": ({P + "22.2.7", P + "22.2.7.1", P + "1.12", HITSP + "108", IHE + "3.12"}, {"47519-4"}),
    "vitals": ({P + "22.2.4", P + "22.2.4.1", P + "1.16", HITSP + "119", IHE + "3.25", IHE + "1.5.3.2"}, {"8716-3"}),
}
STATUS_CODES = {"55561003": "active", "73425007": "inactive", "413322009": "resolved"}
FLAGS = {"H", "L", "HH", "LL", "A", "AA", "N"}


def norm(s):
    return " ".join((s or "").split())


def tag(e):
    return e.tag[len(V) + 2:] if e.tag.startswith("{" + V + "}") else ""


def display(e):
    """An element's displayName, unless a placeholder such as "????"."""
    s = norm(e.get("displayName")) if e is not None else ""
    return "" if s.strip("? ") == "" else s


def nulled(e):
    return e is None or e.get("nullFlavor") is not None


class Reader:
    def __init__(self, root):
        self.root = root
        self.ids = {}
        for e in root.iter():
            i = e.get("ID")
            if i and i not in self.ids:
                self.ids[i] = e

    def ref(self, v):
        """The narrative text a reference value points to."""
        if not v:
            return ""
        if not v.startswith("#"):
            return norm(v)
        e = self.ids.get(v[1:])
        return norm("".join(e.itertext())) if e is not None else ""

    def text(self, e):
        """Text of an element like originalText: its own text, else its reference."""
        if e is None:
            return ""
        t = norm("".join(e.itertext()))
        if t:
            return t
        r = e.find("h:reference", N)
        return self.ref(r.get("value")) if r is not None else ""

    def row(self, e):
        """First cell of the narrative table row holding the element e refers to."""
        r = e.find("h:text/h:reference", N) if e is not None else None
        if r is None or not (r.get("value") or "").startswith("#"):
            return ""
        target = self.ids.get(r.get("value")[1:])
        for tr in self.root.iter("{%s}tr" % V):
            if target is not None and any(x is target for x in tr.iter()):
                cells = [c for c in tr if tag(c) in ("td", "th")]
                return norm("".join(cells[0].itertext())) if cells else ""
        return self.ref(r.get("value"))

    def coded(self, c, display_first=True):
        """Name of a coded element: displayName / originalText / translation."""
        if c is None:
            return ""
        dn = display(c)
        ot = self.text(c.find("h:originalText", N))
        first, second = (dn, ot) if display_first else (ot, dn)
        if first or second:
            return first or second
        for t in c.findall("h:translation", N):
            if display(t):
                return display(t)
        return ""


def ts(v):
    m = re.match(r"^(\d{4})(\d{2})?(\d{2})?", v or "")
    if not m:
        return ""
    y, mo, d = m.groups()
    if mo and not 1 <= int(mo) <= 12:
        return y
    if d and not 1 <= int(d) <= 31:
        return y + "-" + mo
    return "-".join(x for x in (y, mo, d) if x)


def time_of(e):
    """A date from an effectiveTime: its value, else its low, else its center."""
    if e is None:
        return ""
    if e.get("value"):
        return ts(e.get("value"))
    for child in ("h:low", "h:center"):
        c = e.find(child, N)
        if c is not None and c.get("value"):
            return ts(c.get("value"))
    return ""


def num(v):
    v = (v or "").strip()
    if re.fullmatch(r"-?\d+\.\d*", v):
        v = v.rstrip("0").rstrip(".")
    return v


def kind_of(sec):
    roots = {t.get("root") for t in sec.findall("h:templateId", N)}
    for k, (ids, _) in KINDS.items():
        if roots & ids:
            return k
    c = sec.find("h:code", N)
    for k, (_, codes) in KINDS.items():
        if c is not None and c.get("code") in codes:
            return k
    return None


def code_in(c, system):
    if c is None:
        return ""
    if c.get("codeSystem") == system and c.get("code"):
        return c.get("code")
    for t in c.findall("h:translation", N):
        if t.get("codeSystem") == system and t.get("code"):
            return t.get("code")
    return ""


def status_value(rd, obs):
    v = obs.find("h:value", N)
    if v is None:
        return ""
    s = rd.coded(v)
    return (s or STATUS_CODES.get(v.get("code") or "", "")).lower()


def medication(rd, sa):
    mm = sa.find("h:consumable/h:manufacturedProduct/h:manufacturedMaterial", N)
    code = mm.find("h:code", N) if mm is not None else None
    name = display(code)
    if not name and code is not None:
        name = rd.text(code.find("h:originalText", N))
    if not name and mm is not None:
        name = norm("".join(mm.find("h:name", N).itertext())) if mm.find("h:name", N) is not None else ""
    if not name and code is not None:
        name = rd.coded(code)
    if not name:
        name = rd.row(sa)
    m = {"name": name, "rxnorm": code_in(code, RXNORM)}
    dq = sa.find("h:doseQuantity", N)
    dose = ""
    if dq is not None and dq.get("value"):
        unit = dq.get("unit") or ""
        if unit == "1":
            unit = ""
        if not unit:
            unit = rd.text(dq.find("h:translation/h:originalText", N))
        dose = (num(dq.get("value")) + " " + unit).strip()
    elif dq is not None and dq.find("h:low", N) is not None and dq.find("h:low", N).get("value"):
        lo, hi = dq.find("h:low", N), dq.find("h:high", N)
        unit = lo.get("unit") or ""
        dose = num(lo.get("value"))
        if hi is not None and hi.get("value"):
            dose += "-" + num(hi.get("value"))
        if unit and unit != "1":
            dose += " " + unit
    m["dose"] = dose
    rc = sa.find("h:routeCode", N)
    m["route"] = rd.coded(rc)
    for et in sa.findall("h:effectiveTime", N):
        t = (et.get(XSI_TYPE) or "").split(":")[-1]
        if t == "IVL_TS" or (not t and (et.find("h:low", N) is not None or et.find("h:high", N) is not None)):
            m["start"] = ts((et.find("h:low", N) if et.find("h:low", N) is not None else et).get("value"))
            hi = et.find("h:high", N)
            m["stop"] = ts(hi.get("value")) if hi is not None else ""
        elif not t and et.get("value"):
            m["start"] = ts(et.get("value"))
    st = ""
    for er in sa.findall("h:entryRelationship/h:observation", N):
        c = er.find("h:code", N)
        roots = {x.get("root") for x in er.findall("h:templateId", N)}
        if (c is not None and c.get("code") == "33999-4") or P + "1.47" in roots:
            st = status_value(rd, er)
            if st:
                break
    if not st and sa.find("h:statusCode", N) is not None:
        st = (sa.find("h:statusCode", N).get("code") or "").lower()
    m["status"] = st
    for k in ("start", "stop"):
        m.setdefault(k, "")
    return m


def observation(rd, o, fallback_date):
    code = o.find("h:code", N)
    r = {"name": rd.coded(code, display_first=False) if not nulled(code) or code is not None else ""}
    if not r["name"]:
        tr = o.find("h:text/h:reference", N)
        r["name"] = rd.ref(tr.get("value")) if tr is not None else ""
    r["loinc"] = code_in(code, LOINC)
    value, unit = "", ""
    v = o.find("h:value", N)
    if v is not None and v.get("nullFlavor") is None:
        t = (v.get(XSI_TYPE) or "").split(":")[-1]
        if t == "PQ" or (not t and v.get("unit")):
            value, unit = (v.get("value") or "").strip(), v.get("unit") or ""
        elif t in ("CD", "CE", "CV", "CO"):
            value = rd.coded(v) or (v.get("code") or "")
        elif t == "IVL_PQ":
            lo, hi = v.find("h:low", N), v.find("h:high", N)
            lv = lo.get("value") if lo is not None and lo.get("value") else ""
            hv = hi.get("value") if hi is not None and hi.get("value") else ""
            value = lv + "-" + hv if lv and hv else (">" + lv if lv else ("<" + hv if hv else ""))
            unit = ((lo if lv else hi).get("unit") or "") if (lv or hv) else ""
        elif t in ("INT", "REAL", "BL", "TS", "MO"):
            value = v.get("value") or ""
        else:  # ST, ED and friends: the text
            value = rd.text(v)
    if unit == "1":
        unit = ""
    r["value"], r["unit"] = norm(value), unit.strip()
    rng = ""
    orng = o.find("h:referenceRange/h:observationRange", N)
    if orng is not None:
        rng = rd.text(orng.find("h:text", N))
        ov = orng.find("h:value", N)
        if not rng and ov is not None:
            lo, hi = ov.find("h:low", N), ov.find("h:high", N)
            lv = lo.get("value") if lo is not None and lo.get("value") else ""
            hv = hi.get("value") if hi is not None and hi.get("value") else ""
            u = ""
            for x in (lo, hi):
                if x is not None and x.get("value") and x.get("unit") and x.get("unit") != "1":
                    u = x.get("unit")
                    break
            rng = lv + "-" + hv if lv and hv else (">=" + lv if lv else ("<=" + hv if hv else ""))
            if rng and u:
                rng += " " + u
    r["range"] = rng
    ic = o.find("h:interpretationCode", N)
    f = (ic.get("code") or "").upper() if ic is not None else ""
    r["flag"] = ("A" if f == "AA" else f) if f in FLAGS else ""
    r["date"] = time_of(o.find("h:effectiveTime", N)) or fallback_date
    return r


def observations(rd, holder, date):
    """Observations of an entry or organizer, organizers opened (their date is the fallback)."""
    out = []
    for c in holder:
        t = tag(c)
        if t == "observation":
            r = observation(rd, c, date)
            if r["name"] or r["loinc"] or r["value"]:  # else a "No data" placeholder
                out.append(r)
        elif t == "organizer":
            d = time_of(c.find("h:effectiveTime", N)) or date
            for comp in c.findall("h:component", N):
                out.extend(observations(rd, comp, d))
    return out


def problem(rd, o, concern):
    v = o.find("h:value", N)
    name = rd.coded(v) if v is not None else ""
    if not name:
        tr = o.find("h:text/h:reference", N)
        name = rd.ref(tr.get("value")) if tr is not None else ""
    code, system = "", ""
    if v is not None:
        for c in [v] + v.findall("h:translation", N):
            if c.get("code"):
                code, system = c.get("code"), SYSTEMS.get(c.get("codeSystem") or "", c.get("codeSystemName") or "")
                break
    st = ""
    for so in o.findall("h:entryRelationship/h:observation", N):
        c = so.find("h:code", N)
        roots = {x.get("root") for x in so.findall("h:templateId", N)}
        if (c is not None and c.get("code") == "33999-4") or roots & {P + "22.4.6", P + "1.50"}:
            st = status_value(rd, so)
            break
    if not st and concern is not None and concern.find("h:statusCode", N) is not None:
        st = {"active": "active", "completed": "resolved", "suspended": "inactive", "aborted": "inactive"}.get(
            concern.find("h:statusCode", N).get("code") or "", "")
    onset = time_of(o.find("h:effectiveTime", N))
    if not onset and concern is not None:
        onset = time_of(concern.find("h:effectiveTime", N))
    return {"name": name, "code": code, "system": system, "status": st, "onset": onset}


def concern_items(entry):
    """(item, concern) pairs of an entry: acts opened to their observations."""
    out = []
    for c in entry:
        if tag(c) == "act":
            for o in c.findall("h:entryRelationship/h:observation", N):
                out.append((o, c))
        elif tag(c) == "observation":
            out.append((c, None))
    return out


def allergy(rd, o, concern):
    pe = o.find("h:participant/h:participantRole/h:playingEntity", N)
    name = ""
    if pe is not None:
        name = rd.coded(pe.find("h:code", N))
        if not name and pe.find("h:name", N) is not None:
            name = norm("".join(pe.find("h:name", N).itertext()))
    if not name:
        name = rd.coded(o.find("h:value", N))
    reactions, severity, status = [], "", ""
    for er in o.findall("h:entryRelationship", N):
        so = er.find("h:observation", N)
        if so is None:
            continue
        roots = {x.get("root") for x in so.findall("h:templateId", N)}
        c = so.find("h:code", N)
        if er.get("typeCode") == "MFST" or roots & {P + "22.4.9", P + "1.54"}:
            r = rd.coded(so.find("h:value", N))
            if r and r not in reactions:
                reactions.append(r)
            for sev in so.findall("h:entryRelationship/h:observation", N):
                if P + "22.4.8" in {x.get("root") for x in sev.findall("h:templateId", N)} and not severity:
                    severity = rd.coded(sev.find("h:value", N))
        elif roots & {P + "22.4.8", P + "1.55"} or (c is not None and c.get("code") == "SEV"):
            severity = severity or rd.coded(so.find("h:value", N))
        elif roots & {P + "22.4.28", P + "1.39"} or (c is not None and c.get("code") == "33999-4"):
            status = status or status_value(rd, so)
    if not status and concern is not None and concern.find("h:statusCode", N) is not None:
        status = (concern.find("h:statusCode", N).get("code") or "").lower()
    return {"name": name, "reaction": ", ".join(reactions), "severity": severity, "status": status}


def read(root):
    rd = Reader(root)
    d = {"meds": [], "results": [], "problems": [], "allergies": [], "procedures": [], "vitals": []}
    pat = root.find("h:recordTarget/h:patientRole/h:patient", N)
    names = pat.findall("h:name", N) if pat is not None else []
    nm = next((x for x in names if x.get("use") == "L"), names[0] if names else None)
    d["given"] = [norm("".join(g.itertext())) for g in nm.findall("h:given", N)] if nm is not None else []
    d["given"] = [g for g in d["given"] if g]
    fam = nm.find("h:family", N) if nm is not None else None
    d["family"] = norm("".join(fam.itertext())) if fam is not None else ""
    bt = pat.find("h:birthTime", N) if pat is not None else None
    d["birth"] = ts(bt.get("value")) if bt is not None else ""
    g = pat.find("h:administrativeGenderCode", N) if pat is not None else None
    d["sex"] = {"M": "M", "F": "F", "UN": "X"}.get((g.get("code") or "").upper() if g is not None else "", "")
    t = root.find("h:title", N)
    d["title"] = norm("".join(t.itertext())) if t is not None else ""
    c = root.find("h:code", N)
    d["type"] = (c.get("code") or "") if c is not None else ""
    d["date"] = time_of(root.find("h:effectiveTime", N))
    ver = ""
    rank = {"": 0, "R1.1": 1, "R2.0": 2, "R2.1": 3}
    for tid in root.findall("h:templateId", N):
        if (tid.get("root") or "").startswith(P + "22.1."):
            v = {"2015-08-01": "R2.1", "2014-06-09": "R2.0"}.get(tid.get("extension") or "", "R1.1")
            if rank[v] > rank[ver]:
                ver = v
    d["version"] = ver

    for sec in root.iter("{%s}section" % V):
        k = kind_of(sec)
        if not k:
            continue
        for entry in sec.findall("h:entry", N):
            if k == "meds":
                sa = next(entry.iter("{%s}substanceAdministration" % V), None)
                if sa is not None and sa.get("negationInd") != "true":
                    d["meds"].append(medication(rd, sa))
            elif k in ("results", "vitals"):
                d[k].extend(observations(rd, entry, ""))
            elif k == "problems":
                for o, concern in concern_items(entry):
                    p = problem(rd, o, concern)
                    if o.get("negationInd") != "true" and (p["name"] or p["code"]):  # else a placeholder
                        d["problems"].append(p)
            elif k == "allergies":
                for o, concern in concern_items(entry):
                    a = allergy(rd, o, concern)
                    if o.get("negationInd") != "true" and (a["name"] or a["reaction"]):
                        d["allergies"].append(a)
            elif k == "procedures":
                for p in entry:
                    if tag(p) in ("procedure", "observation", "act") and p.get("negationInd") != "true":
                        code = p.find("h:code", N)
                        name = rd.coded(code)
                        if not name:
                            tr = p.find("h:text/h:reference", N)
                            name = rd.ref(tr.get("value")) if tr is not None else ""
                        cc = code.get("code") if code is not None and code.get("code") else ""
                        sy = SYSTEMS.get(code.get("codeSystem") or "", code.get("codeSystemName") or "") if cc else ""
                        if name or cc:
                            d["procedures"].append(
                                {"name": name, "code": cc, "system": sy, "date": time_of(p.find("h:effectiveTime", N))})
    return d


def main(paths):
    for p in paths:
        try:
            root = ET.parse(p).getroot()
            if root.tag != "{%s}ClinicalDocument" % V:
                raise ValueError("not a C-CDA")
            print(json.dumps({"path": p, "doc": read(root)}))
        except Exception as e:  # noqa: BLE001 - reported to the Go test
            print(json.dumps({"path": p, "error": "%s: %s" % (type(e).__name__, e)}))


if __name__ == "__main__":
    main(sys.argv[1:])
