# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A small PDF writer: pages of text lines in Helvetica and Helvetica-Bold, with rules (PDF 1.4,
correct cross-reference offsets, no compression, nothing that changes between runs).

No Ansible imports, no third-party library. The same input always gives the same bytes, so a
file written from it changes only when its text does. Text outside Latin-1 is replaced by ``?``
(the standard 14 fonts speak WinAnsi).
"""

from __future__ import annotations

PAGE_WIDTH, PAGE_HEIGHT = 595, 842  # A4 in points
MARGIN = 50


def _escape(text):
    data = text.encode('cp1252', 'replace').decode('cp1252')
    return data.replace('\\', '\\\\').replace('(', '\\(').replace(')', '\\)')


class Line:
    """One line of a page: ``text`` at ``size`` points, ``bold`` or not; ``value`` in a second column
    at ``value_x`` points; ``rule`` draws a line under it; ``gap`` is the space from the line above."""

    def __init__(self, text='', size=11, bold=False, rule=False, gap=None, value=None, value_x=230):
        self.text = text
        self.size = size
        self.bold = bold
        self.rule = rule
        self.gap = gap if gap is not None else size + 5
        self.value = value
        self.value_x = value_x


def _page_stream(lines):
    ops = []
    y = PAGE_HEIGHT - MARGIN
    for line in lines:
        if isinstance(line, str):
            line = Line(line)
        y -= line.gap
        for x, text in ((MARGIN, line.text), (line.value_x, line.value)):
            if text:
                ops.append('BT /%s %d Tf %d %d Td (%s) Tj ET' % ('F2' if line.bold else 'F1', line.size, x, y,
                                                                 _escape(text)))
        if line.rule:
            ops.append('0.5 w %d %d m %d %d l S' % (MARGIN, y - 4, PAGE_WIDTH - MARGIN, y - 4))
    return '\n'.join(ops).encode('cp1252')


def document(pages, title='AWS Import/Export'):
    """``pages``: a list of pages, each a list of ``Line`` (or str). Returns the PDF bytes."""
    pages = pages or [[]]
    count = len(pages)
    # Objects: 1 catalog, 2 pages, 3 font, 4 bold font, 5 info, then page and content per page.
    kids = ' '.join('%d 0 R' % (6 + 2 * i) for i in range(count))
    objects = [
        b'<< /Type /Catalog /Pages 2 0 R >>',
        ('<< /Type /Pages /Kids [%s] /Count %d >>' % (kids, count)).encode('ascii'),
        b'<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
        b'<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>',
        ('<< /Title (%s) /Producer (awsie.importexport) >>' % _escape(title)).encode('cp1252'),
    ]
    for number, lines in enumerate(pages):
        stream = _page_stream(lines)
        objects.append(('<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R '
                        '/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> >>'
                        % (PAGE_WIDTH, PAGE_HEIGHT, 7 + 2 * number)).encode('ascii'))
        objects.append(b'<< /Length %d >>\nstream\n' % len(stream) + stream + b'\nendstream')
    out = bytearray(b'%PDF-1.4\n%\xe2\xe3\xcf\xd3\n')
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b'%d 0 obj\n' % number + body + b'\nendobj\n'
    xref = len(out)
    out += b'xref\n0 %d\n0000000000 65535 f \n' % (len(objects) + 1)
    for offset in offsets:
        out += b'%010d 00000 n \n' % offset
    out += b'trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R >>\nstartxref\n%d\n%%%%EOF\n' % (len(objects) + 1, xref)
    return bytes(out)


def text_pdf(lines, title='AWS Import/Export'):
    """One page of text. ``lines``: str, or (str, font size) pairs, as the local service's writer took."""
    page = [line if isinstance(line, (str, Line)) else Line(line[0], line[1]) for line in lines]
    return document([page], title)


def pdf_text(data):
    """The strings a PDF from ``document`` shows, page after page (for checks without poppler)."""
    found = []
    position = 0
    while True:
        start = data.find(b'>>\nstream\n', position)
        if start < 0:
            return found
        end = data.index(b'\nendstream', start)
        for line in data[start + len(b'>>\nstream\n'):end].decode('cp1252').splitlines():
            if line.endswith(') Tj ET') and '(' in line:
                raw = line[line.index('(') + 1:-len(') Tj ET')]
                found.append(raw.replace('\\(', '(').replace('\\)', ')').replace('\\\\', '\\'))
        position = end
