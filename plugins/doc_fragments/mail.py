# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:

    # Options of the modules that can talk to the service by e-mail (transport: email).
    DOCUMENTATION = r'''
options:
  transport:
    description:
      - How to talk to the service. V(api) is the Query API (2010 on).
      - V(email) is the e-mail workflow of 2009, command mails (C(CREATE JOB) with the manifest attached,
        C(GET STATUS), C(UPDATE JOB), C(CANCEL JOB)) sent over SMTP to O(mail_to), and the service's
        C(SUCCESS)/C(ERROR) replies read over IMAP from O(imap_folder). Every command mail is also kept
        in O(imap_sent_folder), which is how a re-run finds what an earlier run sent and what was answered.
      - With V(email), an C(ERROR) reply fails the task naming its C(CODE); no reply within
        O(reply_timeout) fails the task saying what was sent, when, and its Message-ID.
    type: str
    choices: [api, email]
    default: api
  smtp_host:
    description:
      - The SMTP server the command mails are handed to. Required with O(transport=email).
    type: str
  smtp_port:
    description:
      - Its port; default 587 for O(smtp_security=starttls), 465 for V(tls), 25 for V(none).
    type: int
  smtp_security:
    description:
      - V(starttls) upgrades the connection with STARTTLS and fails if the server does not offer it;
        V(tls) speaks TLS from the first byte; V(none) sends in clear text (a trusted network only).
    type: str
    choices: [starttls, tls, none]
    default: starttls
  smtp_user:
    description:
      - User name for SMTP AUTH; without it no AUTH is done.
    type: str
  smtp_password:
    description:
      - Password for SMTP AUTH. Never logged, and never part of an error message.
    type: str
  mail_from:
    description:
      - The sender address of the command mails, the address registered with the service for the
        account (the service answers any other with C(InvalidSender)). Required with O(transport=email).
    type: str
  mail_to:
    description:
      - The service's address.
    type: str
    default: awsimportexport@amazon.com
  imap_host:
    description:
      - The IMAP server holding the mailbox of O(mail_from), where the replies arrive. Default O(smtp_host).
    type: str
  imap_port:
    description:
      - Its port; default 143 for O(imap_security=starttls) and V(none), 993 for V(tls).
    type: int
  imap_security:
    description:
      - As O(smtp_security), for IMAP.
    type: str
    choices: [starttls, tls, none]
    default: starttls
  imap_user:
    description:
      - IMAP login; default the address of O(mail_from).
    type: str
  imap_password:
    description:
      - IMAP password. Required with O(transport=email). Never logged, and never part of an error message.
    type: str
  imap_folder:
    description:
      - The folder the service's replies arrive in.
    type: str
    default: INBOX
  imap_sent_folder:
    description:
      - The folder every command mail is copied to (created when missing), flagged C(\Draft) until the SMTP
        server has accepted it. A re-run reads it to find its earlier mails, so keep these copies while the
        jobs are live.
    type: str
    default: Sent
  reply_timeout:
    description:
      - Seconds to wait for the reply to a command mail (0 to 604800). The service of 2009 answered
        "within one business day"; a run that stops waiting can be run again, it waits for the same reply
        and sends nothing new.
    type: float
    default: 600
  validate_certs:
    description:
      - Verify the TLS certificates of the SMTP and IMAP servers (and of the Query API endpoint). Only turn
        this off for a test server; O(ca_bundle) trusts a test server's own CA instead.
    type: bool
    default: true
notes:
  - With O(transport=email), what the account's jobs are is read from the mailbox, not asked of the service
    (the e-mail commands have no ListJobs); jobs created otherwise (by the Query API, or from another
    mailbox) are not seen, except when named by their job id.
'''
