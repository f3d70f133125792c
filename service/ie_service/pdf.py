# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The shipping label's PDF: the collection's own writer (plugins/module_utils/pdf.py), one for both."""

from .collection import pdf as _pdf

text_pdf = _pdf.text_pdf
pdf_text = _pdf.pdf_text
