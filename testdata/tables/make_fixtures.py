#!/usr/bin/env python3
"""Writes the table fixtures' sources: flat OpenDocument files (.fodt for
Writer, .fods for Calc) that LibreOffice turns into PDF (make.sh), and the
noise of the scanned one. Every patient, drug list and lab value is made up.

    python3 make_fixtures.py OUTDIR

Each layout copies the shape of a kind of table people really print; see
README.md for the sources of the shapes.
"""
import html
import os
import sys

NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
      'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
      'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
      'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
      'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" '
      'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" '
      'xmlns:number="urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0" '
      'office:version="1.3"')


def esc(s):
    return html.escape(s, quote=False)


def para(text, style="P"):
    # A line break inside a cell: the patient pressed Shift+Enter.
    parts = [esc(p) for p in text.split("\n")]
    return '<text:p text:style-name="%s">%s</text:p>' % (style, "<text:line-break/>".join(parts))


def writer(path, font, size, title_lines, header, rows, widths, after_lines=(), header_style="H", valign="top",
           border=True, landscape=False):
    """A Writer document: title lines, one table, lines after it."""
    cols = "".join('<style:style style:name="C%d" style:family="table-column"><style:table-column-properties '
                   'style:column-width="%.2fin"/></style:style>' % (i, w) for i, w in enumerate(widths))
    bd = 'fo:border="0.5pt solid #000000"' if border else 'fo:border="none"'
    page = ('<style:page-layout style:name="PL"><style:page-layout-properties fo:page-width="%s" fo:page-height="%s" '
            'style:print-orientation="%s" fo:margin="0.6in"/></style:page-layout>') % (
        ("11in", "8.5in", "landscape") if landscape else ("8.5in", "11in", "portrait"))
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<office:document %s office:mimetype="application/vnd.oasis.opendocument.text">' % NS,
           '<office:font-face-decls><style:font-face style:name="F" svg:font-family="\'%s\'"/></office:font-face-decls>' % font,
           '<office:styles><style:default-style style:family="paragraph"><style:text-properties style:font-name="F" '
           'fo:font-size="%spt"/></style:default-style></office:styles>' % size,
           '<office:automatic-styles>', page,
           '<style:style style:name="T" style:family="table"><style:table-properties style:width="%.2fin" '
           'table:align="left"/></style:style>' % sum(widths), cols,
           '<style:style style:name="TC" style:family="table-cell"><style:table-cell-properties fo:padding="0.04in" '
           '%s style:vertical-align="%s"/></style:style>' % (bd, valign),
           '<style:style style:name="P" style:family="paragraph"><style:text-properties style:font-name="F" '
           'fo:font-size="%spt"/></style:style>' % size,
           '<style:style style:name="H" style:family="paragraph"><style:text-properties style:font-name="F" '
           'fo:font-size="%spt" fo:font-weight="bold"/></style:style>' % size,
           '<style:style style:name="TT" style:family="paragraph"><style:text-properties style:font-name="F" '
           'fo:font-size="%dpt" fo:font-weight="bold"/></style:style>' % (int(size) + 4),
           '</office:automatic-styles>',
           '<office:master-styles><style:master-page style:name="Standard" style:page-layout-name="PL"/></office:master-styles>',
           '<office:body><office:text>']
    for i, t in enumerate(title_lines):
        out.append(para(t, "TT" if i == 0 else "P"))
    out.append('<table:table table:name="T1" table:style-name="T">')
    for i in range(len(widths)):
        out.append('<table:table-column table:style-name="C%d"/>' % i)
    out.append('<table:table-header-rows><table:table-row>')
    for h in header:
        out.append('<table:table-cell table:style-name="TC" office:value-type="string">%s</table:table-cell>' % para(h, header_style))
    out.append('</table:table-row></table:table-header-rows>')
    for r in rows:
        out.append('<table:table-row>')
        for c in r:
            out.append('<table:table-cell table:style-name="TC" office:value-type="string">%s</table:table-cell>' % para(c))
        out.append('</table:table-row>')
    out.append('</table:table>')
    for t in after_lines:
        out.append(para(t))
    out.append('</office:text></office:body></office:document>')
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out))


def calc(path, font, size, title, header, rows, widths):
    """A Calc sheet: a title cell, a header row, rows with wrapped text
    (cells keep Calc's default vertical alignment: the bottom)."""
    cols = "".join('<style:style style:name="co%d" style:family="table-column"><style:table-column-properties '
                   'style:column-width="%.2fin"/></style:style>' % (i, w) for i, w in enumerate(widths))
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<office:document %s office:mimetype="application/vnd.oasis.opendocument.spreadsheet">' % NS,
           '<office:font-face-decls><style:font-face style:name="F" svg:font-family="\'%s\'"/></office:font-face-decls>' % font,
           '<office:automatic-styles>', cols,
           '<style:style style:name="ce1" style:family="table-cell"><style:table-cell-properties fo:wrap-option="wrap" '
           'fo:border="0.5pt solid #000000"/><style:text-properties style:font-name="F" fo:font-size="%spt"/></style:style>' % size,
           '<style:style style:name="ce2" style:family="table-cell"><style:table-cell-properties fo:wrap-option="wrap" '
           'fo:border="0.5pt solid #000000" fo:background-color="#dddddd"/><style:text-properties style:font-name="F" '
           'fo:font-size="%spt" fo:font-weight="bold"/></style:style>' % size,
           '<style:style style:name="ce3" style:family="table-cell"><style:text-properties style:font-name="F" '
           'fo:font-size="%dpt" fo:font-weight="bold"/></style:style>' % (int(size) + 3),
           '</office:automatic-styles>',
           '<office:body><office:spreadsheet><table:table table:name="Medications">']
    for i in range(len(widths)):
        out.append('<table:table-column table:style-name="co%d"/>' % i)

    def row(cells, style):
        out.append('<table:table-row>')
        for c in cells:
            out.append('<table:table-cell table:style-name="%s" office:value-type="string"><text:p>%s</text:p>'
                       '</table:table-cell>' % (style, esc(c)))
        out.append('</table:table-row>')
    row([title], "ce3")
    row([""], "Default")
    row(header, "ce2")
    for r in rows:
        row(r, "ce1")
    out.append('</table:table></office:spreadsheet></office:body></office:document>')
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out))


def monospace(path, font, size, lines):
    """A Writer document of monospaced lines, as a pharmacy system prints."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<office:document %s office:mimetype="application/vnd.oasis.opendocument.text">' % NS,
           '<office:font-face-decls><style:font-face style:name="F" svg:font-family="\'%s\'"/></office:font-face-decls>' % font,
           '<office:automatic-styles><style:page-layout style:name="PL"><style:page-layout-properties '
           'fo:page-width="11in" fo:page-height="8.5in" style:print-orientation="landscape" fo:margin="0.5in"/>'
           '</style:page-layout><style:style style:name="P" style:family="paragraph"><style:paragraph-properties '
           'fo:margin-top="0in" fo:margin-bottom="0in"/><style:text-properties style:font-name="F" fo:font-size="%spt"/>'
           '</style:style></office:automatic-styles>' % size,
           '<office:master-styles><style:master-page style:name="Standard" style:page-layout-name="PL"/></office:master-styles>',
           '<office:body><office:text>']
    for l in lines:
        # Runs of spaces kept as they are typed.
        t = esc(l)
        parts = t.split(" ")
        buf, spaces = [], 0
        for i, p in enumerate(parts):
            if i > 0:
                spaces += 1
            if p == "" and i > 0:
                continue
            if spaces == 1:
                buf.append(" ")
            elif spaces > 1:
                buf.append(' <text:s text:c="%d"/>' % (spaces - 1))
            spaces = 0
            buf.append(p)
        out.append('<text:p text:style-name="P">%s</text:p>' % "".join(buf))
    out.append('</office:text></office:body></office:document>')
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out))


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    # 1. A patient's own list in a word processor, shaped after the FDA's
    # "My Medicine Record": what it is for before how much, a wrapped
    # "how to use", start dates as the patient remembers them.
    writer(os.path.join(outdir, "meds-word.fodt"), "DejaVu Serif", "11",
           ["My Medicine Record", "Name: Mary Ellen Doe          Date of birth: 03/14/1961", "Updated: October 2026", ""],
           ["Name of medicine", "What it is for", "How much", "How to use / when",
            "Start date"],
           [["Eliquis (apixaban)", "AFib, to prevent stroke", "5 mg", "1 tablet by mouth twice a day, morning and night", "June 2023"],
            ["Metoprolol succinate ER", "blood pressure and heart rate", "25 mg", "1 tablet every morning", "2019"],
            ["Atorvastatin", "cholesterol", "40 mg", "1 tablet at bedtime", "03/2018"],
            ["Fish oil (omega-3)", "heart health", "1,000 mg", "2 capsules daily with food", "2021"],
            ["Vitamin D3", "bones", "2,000 IU", "1 softgel daily", "2020"],
            ["Turmeric capsules", "joint pain in my knees", "500 mg", "1 capsule twice a day", "May 2025"]],
           [1.55, 1.45, 0.8, 1.75, 0.95],
           ["", "Allergies: penicillin (hives)", "Pharmacy: Main Street Pharmacy (555) 010-2233"])
    # 2. A list kept in a spreadsheet: Calc's default bottom alignment with
    # wrapped text, columns in another order, other words for them.
    calc(os.path.join(outdir, "meds-sheet.fods"), "Nimbus Sans", "10",
         "Medications - Robert J. Harrington",
         ["Drug", "Dose", "Frequency", "Purpose", "Prescriber", "Started"],
         [["Warfarin (Coumadin)", "5 mg", "Once daily in the evening, except 2.5 mg on Mondays", "Mechanical heart valve",
           "Dr. R. Lee", "2015-04-01"],
          ["Lisinopril", "10 mg", "Once daily", "High blood pressure", "Dr. R. Lee", "2016-09-12"],
          ["Metformin hydrochloride extended release", "500 mg", "Twice daily with meals", "Type 2 diabetes",
           "Dr. S. Patel", "2019-01-20"],
          ["Aspirin (low dose)", "81 mg", "Once daily", "Heart", "Dr. R. Lee", "2015-04-01"],
          ["Omeprazole", "20 mg", "Every morning before breakfast", "Acid reflux", "Dr. S. Patel", "2022-06-03"]],
         [1.35, 0.5, 1.35, 1.15, 0.8, 0.8])
    # 3. A pharmacy's patient medication profile, monospaced, its long
    # directions continued on indented lines.
    monospace(os.path.join(outdir, "pharmacy.fodt"), "Nimbus Mono PS", "9", [
        "MAIN STREET PHARMACY #0412                                     PATIENT MEDICATION PROFILE",
        "123 MAIN ST  SPRINGFIELD IL 62701   (555) 010-2233              PRINTED 10/21/2026 09:14",
        "",
        "PATIENT: HARRINGTON, ROBERT J      DOB: 11/03/1955      ALLERGIES: PENICILLINS",
        "",
        "RX#       DRUG NAME / STRENGTH               QTY   DIRECTIONS (SIG)                       LAST FILL   PRESCRIBER",
        "--------  ---------------------------------  ----  -------------------------------------  ----------  ----------",
        "6104421   CLOPIDOGREL 75MG TABLET            30    TAKE 1 TABLET BY MOUTH ONCE DAILY      10/02/2026  LEE R",
        "6104422   ATORVASTATIN 40MG TABLET           90    TAKE 1 TABLET BY MOUTH AT BEDTIME      09/15/2026  LEE R",
        "6098170   METOPROLOL TARTRATE 25MG TAB       180   TAKE 1 TABLET BY MOUTH TWICE DAILY     09/15/2026  LEE R",
        "                                                    WITH FOOD. DO NOT STOP SUDDENLY",
        "6110035   GABAPENTIN 300MG CAPSULE           90    TAKE 1 CAPSULE BY MOUTH THREE TIMES    10/10/2026  PATEL S",
        "                                                    DAILY FOR NERVE PAIN",
        "6110036   NITROGLYCERIN 0.4MG SL TABLET      25    DISSOLVE 1 TAB UNDER TONGUE EVERY 5    10/10/2026  LEE R",
        "                                                    MIN AS NEEDED FOR CHEST PAIN. MAX 3",
        "",
        "5 ACTIVE PRESCRIPTIONS.  KEEP THIS LIST WITH YOU AND SHOW IT TO EVERY DOCTOR YOU SEE.",
    ])
    # 4. A lab company's report: a two-line header, flags in a column of
    # their own, a wrapped test name, groups under their panel's name,
    # the collection date and time on each row.
    writer(os.path.join(outdir, "lab.fodt"), "C059", "9",
           ["Regional Clinical Laboratories", "Patient: DOE, MARY E   DOB: 03/14/1961   Sex: F   Account: 558201",
            "Ordering physician: R. LEE, MD          Specimen: 2026-1007-4411   Final report", ""],
           ["Test", "Result", "Flag", "Units", "Reference\nInterval", "Collected"],
           [["Complete Blood Count (CBC)", "", "", "", "", ""],
            ["WBC", "6.1", "", "x10E3/uL", "3.4-10.8", "10/07/2026 07:45"],
            ["Hemoglobin", "11.2", "L", "g/dL", "11.7-15.5", "10/07/2026 07:45"],
            ["Hematocrit", "34.0", "L", "%", "35.0-45.0", "10/07/2026 07:45"],
            ["Platelets", "251", "", "x10E3/uL", "150-450", "10/07/2026 07:45"],
            ["Basic Metabolic Panel (BMP)", "", "", "", "", ""],
            ["Glucose, fasting", "112", "H", "mg/dL", "65-99", "10/07/2026 07:45"],
            ["Creatinine", "0.86", "", "mg/dL", "0.57-1.00", "10/07/2026 07:45"],
            ["Potassium", "4.4", "", "mmol/L", "3.5-5.2", "10/07/2026 07:45"],
            ["Sodium", "139", "", "mmol/L", "134-144", "10/07/2026 07:45"],
            ["Prothrombin Time (PT) with International Normalized Ratio", "", "", "", "", ""],
            ["INR", "1.0", "", "", "0.9-1.2", "10/07/2026 07:45"],
            ["Hemoglobin A1c with estimated average glucose", "6.1", "H", "%", "4.8-5.6", "10/06/2026 16:20"]],
           [2.2, 0.7, 0.5, 0.9, 1.1, 1.4],
           ["", "Flags: H high, L low. Results reviewed by the laboratory director."],
           header_style="H", border=False)


def scan(pgm, png, angle=0.7, seed=20261007):
    """Makes a page image look scanned: a slight tilt (nearest neighbour),
    speckle noise and a grey background, written as an 8-bit PNG."""
    import math
    import random
    import struct
    import zlib
    with open(pgm, "rb") as f:
        data = f.read()
    # P5 header: magic, width, height, maxval, one whitespace.
    fields, pos = [], 0
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        start = pos
        while not data[pos:pos + 1].isspace():
            pos += 1
        fields.append(data[start:pos])
    pos += 1
    w, h = int(fields[1]), int(fields[2])
    src = data[pos:pos + w * h]
    rnd = random.Random(seed)
    a = math.radians(angle)
    ca, sa = math.cos(a), math.sin(a)
    cx, cy = w / 2, h / 2
    rows = []
    for y in range(h):
        row = bytearray(w + 1)  # filter byte 0, then the pixels
        dy = y - cy
        for x in range(w):
            dx = x - cx
            sx = int(cx + dx * ca + dy * sa)
            sy = int(cy - dx * sa + dy * ca)
            v = src[sy * w + sx] if 0 <= sx < w and 0 <= sy < h else 255
            v = min(v, 235)  # the paper's grey
            r = rnd.random()
            if r < 0.0015:
                v = rnd.randint(0, 90)  # dust
            elif r < 0.004 and v < 128:
                v = 200  # a dropout in the toner
            row[x + 1] = v
        rows.append(bytes(row))

    def chunk(tag, body):
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xffffffff)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    out += chunk(b"pHYs", struct.pack(">IIB", 7874, 7874, 1))  # 200 dpi
    out += chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b"")
    with open(png, "wb") as f:
        f.write(out)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "scan":
        scan(sys.argv[2], sys.argv[3])
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else ".")
