"""Write brand-guidelines.pdf: a two-page A4 PDF built by hand (standard fonts, no deps).

Run: python make_pdf.py [output path]
"""

import sys
import zlib

W, H = 595, 842  # A4 in points


def text(x, y, size, body, font="F1", rgb=(0.12, 0.16, 0.27)):
    safe = body.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return f"{rgb[0]} {rgb[1]} {rgb[2]} rg BT /{font} {size} Tf {x} {y} Td ({safe}) Tj ET\n"


def rect(x, y, w, h, rgb):
    return f"{rgb[0]} {rgb[1]} {rgb[2]} rg {x} {y} {w} {h} re f\n"


def hexrgb(value):
    return tuple(round(int(value[i:i + 2], 16) / 255, 3) for i in (1, 3, 5))


def footer(page):
    return rect(0, 0, W, 36, hexrgb("#f1f3f8")) + text(48, 14, 9, f"Brightline Studio for Northwind Traders - Brand guidelines v1.0 - page {page} of 2", rgb=(0.45, 0.5, 0.6))


def page_one():
    out = rect(0, H - 300, W, 300, hexrgb("#2952cc"))
    out += rect(48, H - 120, 40, 40, (1, 1, 1))
    out += text(100, H - 110, 22, "Northwind", "F2", (1, 1, 1))
    out += text(48, H - 210, 34, "Brand guidelines", "F2", (1, 1, 1))
    out += text(48, H - 245, 14, "How the Northwind brand looks, sounds and behaves.", rgb=(0.89, 0.91, 1))
    out += text(48, H - 350, 18, "1. Logo", "F2")
    lines = [
        "Use the full-colour logo on white or light backgrounds, the white logo on",
        "Northwind Blue. Keep clear space equal to the height of the N around it.",
        "Never stretch, rotate, recolour or add effects to the logo.",
        "Smallest size: 24 px high on screen, 12 mm in print.",
    ]
    for i, line in enumerate(lines):
        out += text(48, H - 380 - i * 18, 11, line)
    out += rect(48, H - 560, 230, 110, hexrgb("#f6f8fc"))
    out += rect(70, H - 525, 36, 36, hexrgb("#2952cc")) + text(116, H - 515, 18, "Northwind", "F2")
    out += rect(300, H - 560, 230, 110, hexrgb("#2952cc"))
    out += rect(322, H - 525, 36, 36, (1, 1, 1)) + text(368, H - 515, 18, "Northwind", "F2", (1, 1, 1))
    out += text(48, H - 580, 9, "On light backgrounds", rgb=(0.45, 0.5, 0.6))
    out += text(300, H - 580, 9, "On Northwind Blue", rgb=(0.45, 0.5, 0.6))
    out += text(48, H - 630, 18, "2. Voice", "F2")
    for i, line in enumerate([
        "Warm, plain and specific. We talk about growers and goods, not synergies.",
        "Short sentences. Active verbs. British spelling.",
    ]):
        out += text(48, H - 660 - i * 18, 11, line)
    return out + footer(1)


def page_two():
    out = text(48, H - 80, 18, "3. Colour", "F2")
    swatches = [("Northwind Blue", "#2952cc"), ("Ink", "#1f2a44"), ("Saffron", "#ffd166"),
                ("Mint", "#06d6a0"), ("Berry", "#ef476f"), ("Mist", "#eef2ff")]
    for i, (name, value) in enumerate(swatches):
        x, y = 48 + (i % 3) * 170, H - 220 - (i // 3) * 150
        out += rect(x, y, 150, 100, hexrgb(value))
        out += text(x, y - 18, 11, name, "F2") + text(x, y - 33, 10, value.upper(), rgb=(0.45, 0.5, 0.6))
    out += text(48, H - 470, 18, "4. Typography", "F2")
    out += text(48, H - 515, 30, "Headlines: bold, tight", "F2")
    out += text(48, H - 550, 14, "Body text: regular, 16 px on screen, line height 1.5.")
    out += text(48, H - 575, 11, "Fallback stack: system-ui, Helvetica, Arial, sans-serif.")
    out += text(48, H - 630, 18, "5. Photography", "F2")
    for i, line in enumerate([
        "Natural light, real people, real products. No stock handshakes.",
        "Crop close to hands and textures; leave room for a headline on the left.",
    ]):
        out += text(48, H - 660 - i * 18, 11, line)
    return out + footer(2)


def build():
    objects = []  # bodies; object n is objects[n - 1]

    def add(body):
        objects.append(body)
        return len(objects)

    catalog = add(None)
    pages = add(None)
    helv = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    bold = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
    kids = []
    for content in (page_one(), page_two()):
        data = zlib.compress(content.encode("latin-1"), 9)
        stream = add(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream")
        kids.append(add(
            f"<< /Type /Page /Parent {pages} 0 R /MediaBox [0 0 {W} {H}] "
            f"/Resources << /Font << /F1 {helv} 0 R /F2 {bold} 0 R >> >> /Contents {stream} 0 R >>".encode()
        ))
    objects[catalog - 1] = f"<< /Type /Catalog /Pages {pages} 0 R >>".encode()
    objects[pages - 1] = f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>".encode()
    info = add(b"<< /Title (Northwind brand guidelines) /Author (Brightline Studio) /Producer (make_pdf.py) >>")

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, catalog, info, xref)
    return bytes(out)


if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else "brand-guidelines.pdf"
    with open(path, "wb") as handle:
        handle.write(build())
