# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A one-page PDF with Helvetica text, written by hand (PDF 1.4, correct xref offsets)."""


def _escape(text):
    data = text.encode('latin-1', 'replace').decode('latin-1')
    return data.replace('\\', '\\\\').replace('(', '\\(').replace(')', '\\)')


def text_pdf(lines, title='AWS Import/Export'):
    """``lines``: list of str, or (str, font_size) pairs; returns the PDF bytes."""
    ops = ['BT', '/F1 12 Tf', '50 790 Td']
    y_step = 0
    for line in lines:
        text, size = (line, 11) if isinstance(line, str) else line
        ops.append('0 %d Td' % -(y_step or 0))
        ops.append('/F1 %d Tf (%s) Tj' % (size, _escape(text)))
        y_step = size + 5
    ops.append('ET')
    stream = '\n'.join(ops).encode('latin-1')
    objects = [
        b'<< /Type /Catalog /Pages 2 0 R >>',
        b'<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
        b'<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
        b'<< /Length %d >>\nstream\n' % len(stream) + stream + b'\nendstream',
        b'<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
        ('<< /Title (%s) /Producer (ie-service) >>' % _escape(title)).encode('latin-1'),
    ]
    out = bytearray(b'%PDF-1.4\n%\xe2\xe3\xcf\xd3\n')
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b'%d 0 obj\n' % number + body + b'\nendobj\n'
    xref = len(out)
    out += b'xref\n0 %d\n0000000000 65535 f \n' % (len(objects) + 1)
    for offset in offsets:
        out += b'%010d 00000 n \n' % offset
    out += b'trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n' % (len(objects) + 1, len(objects), xref)
    return bytes(out)


def pdf_text(data):
    """The strings shown by a PDF from ``text_pdf`` (for tests and checks): Tj operands, unescaped."""
    start = data.index(b'stream\n') + len(b'stream\n')
    end = data.index(b'\nendstream', start)
    found = []
    for line in data[start:end].decode('latin-1').splitlines():
        if line.endswith(') Tj') and '(' in line:
            raw = line[line.index('(') + 1:-len(') Tj')]
            found.append(raw.replace('\\(', '(').replace('\\)', ')').replace('\\\\', '\\'))
    return found
