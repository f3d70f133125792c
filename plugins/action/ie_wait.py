# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Controller side of ie_wait: ask the host about its background jobs until they are done,
and print their progress in the play output every ``interval`` seconds."""

from __future__ import annotations

import time

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.awsie.importexport.plugins.module_utils import wait_options
from ansible_collections.awsie.importexport.plugins.module_utils.room import human

display = Display()

KEYS = {
    'files_done': ('files_done', 'files_copied', 'done_files', 'files'),
    'files_total': ('files_total', 'total_files'),
    'bytes_done': ('bytes_done', 'bytes_copied', 'done_bytes', 'bytes'),
    'bytes_total': ('bytes_total', 'total_bytes'),
}


def _pick(progress, name):
    for key in KEYS[name]:
        value = progress.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
    return None


def _number(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def describe_progress(progress, elapsed):
    """One line from a progress file: files, bytes, rate, time left (what is known of them)."""
    if not isinstance(progress, dict):
        return 'running for %s (no progress file yet)' % duration(elapsed)
    files, files_total = _pick(progress, 'files_done'), _pick(progress, 'files_total')
    done, total = _pick(progress, 'bytes_done'), _pick(progress, 'bytes_total')
    parts = []
    if files is not None:
        parts.append('%s%s files' % ('{:,}'.format(int(files)), ' of {:,}'.format(int(files_total)) if files_total else ''))
    if done is not None:
        parts.append('%s%s' % (human(done), ' of %s' % human(total) if total else ''))
    seconds = _number(progress.get('elapsed')) or elapsed
    rate = _number(progress.get('rate'))
    if rate is None and done is not None and seconds:
        rate = done / seconds
    if rate:
        parts.append('%s/s' % human(rate))
    eta = _number(progress.get('eta'))
    if eta is None and rate and total and done is not None and total >= done:
        eta = (total - done) / rate
    if eta is not None:
        parts.append('about %s left' % duration(eta))
    parts.append('running for %s' % duration(elapsed))
    return ', '.join(parts)


def describe_load(outcome):
    """The figures of a finished ie_load (copied, skipped, bytes, rate), or nothing for other jobs."""
    counts = outcome.get('counts')
    if not isinstance(counts, dict) or _number(counts.get('copied')) is None:
        return ''
    text = ': copied %s files (%s)' % ('{:,}'.format(int(counts['copied'])), human(_number(counts.get('bytes')) or 0))
    seconds, rate = _number(outcome.get('seconds')), _number(outcome.get('rate_bytes_per_second'))
    if counts['copied'] and seconds is not None:
        text += ' in %s, %s/s' % (duration(seconds), human(rate or 0))
    text += ', skipped %s unchanged' % '{:,}'.format(int(_number(counts.get('skipped')) or 0))
    if _number(outcome.get('files')) is not None:
        text += '; ledger: %s files, %s' % ('{:,}'.format(int(outcome['files'])), human(_number(outcome.get('total_bytes')) or 0))
    return text


def normalise_jobs(given):
    """``{key, jid, name, progress_path, record_path}`` from registered async results (skipped items left
    out) or dicts; a job with a ``record_path`` and no job id is one an earlier run may have left running."""
    jobs = []
    for job in given:
        item = job.get('item') if isinstance(job.get('item'), dict) else {}
        jid = job.get('jid') or job.get('ansible_job_id')
        record = job.get('record_path') or item.get('record_path')
        if job.get('skipped') or not (jid or record):
            continue
        jobs.append(dict(key=len(jobs), jid=to_text(jid) if jid else None, name=job.get('name') or item.get('name'),
                         progress_path=job.get('progress_path') or item.get('progress_path'), record_path=record))
    return jobs


def duration(seconds):
    seconds = int(max(seconds or 0, 0))
    if seconds < 120:
        return '%d s' % seconds
    if seconds < 7200:
        return '%d min %02d s' % divmod(seconds, 60)
    return '%d h %02d min' % (seconds // 3600, seconds % 3600 // 60)


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        try:
            _spec, args = self.validate_argument_spec(argument_spec=wait_options.argument_spec())
        except AnsibleActionFail as exc:
            result.update(failed=True, msg=to_text(exc))
            return result
        host = (task_vars or {}).get('inventory_hostname', '?')
        # Not expanded here: the module expands '~' with os.path.expanduser on the host, as
        # async_wrapper does, so both agree where HOME is not the passwd home (sudo without -H).
        async_dir = self._task.args.get('async_dir') or self.get_shell_option('async_dir', default='~/.ansible_async')
        jobs = normalise_jobs(args['jobs'])
        pending = dict((job['key'], job) for job in jobs)
        done = {}
        start = time.monotonic()
        interval = max(args['interval'], 1)
        next_line = start + interval
        while pending:
            now = time.monotonic()
            if now - start >= args['timeout']:
                names = ', '.join(job.get('name') or job['jid'] or '?' for job in pending.values())
                result.update(failed=True, msg='still running after %s: %s (they go on; run the play again to pick up '
                                               'where they are)' % (duration(now - start), names))
                break
            wait = max(min(next_line - now, args['timeout'] - (now - start), interval), 0.5)
            answer = self._execute_module(module_name='awsie.importexport.ie_wait', task_vars=task_vars, module_args=dict(
                jobs=[dict((k, v) for k, v in job.items() if k != 'announced') for job in pending.values()],
                wait=wait, async_dir=async_dir, interval=interval))
            if answer.get('failed'):
                result.update(failed=True, msg='cannot read the state of the jobs on %s: %s' % (host, answer.get('msg')))
                break
            self._report(host, answer.get('jobs', []), pending, done, time.monotonic() - start, time.monotonic() >= next_line)
            if time.monotonic() >= next_line:
                next_line += interval * max(int((time.monotonic() - next_line) // interval) + 1, 1)
        results = [done.get(job['key']) or dict(name=job.get('name'), jid=job['jid'], finished=False) for job in jobs]
        failed = [r for r in results if r.get('finished') and r['result'].get('failed') and not r.get('adopted')]
        result.update(results=results, elapsed=round(time.monotonic() - start, 1),
                      changed=any(r.get('finished') and r['result'].get('changed') for r in results))
        if failed and not result.get('failed'):
            result.update(failed=True, msg='; '.join('%s: %s' % (r['name'] or r['jid'], r['result'].get('msg') or 'failed')
                                                     for r in failed))
        return result

    @staticmethod
    def _report(host, answers, pending, done, elapsed, due):
        """Move finished jobs from ``pending`` to ``done`` and print what is worth a line."""
        for item in answers:
            job = pending.get(item.get('key'))
            if job is None:
                continue
            name = job.get('name') or item.get('jid') or '?'
            earlier = 'the load an earlier run left ' if item.get('adopted') else ''
            if item['finished']:
                outcome = item.get('result') or {}
                done[job['key']] = dict(name=job.get('name'), jid=item.get('jid'), finished=True, elapsed=round(elapsed, 1),
                                        result=outcome, adopted=bool(item.get('adopted')))
                pending.pop(job['key'])
                if item.get('jid'):
                    display.display('[%s] %s: %s%s after %s%s' % (host, name, earlier,
                                                                  'failed' if outcome.get('failed') else 'done',
                                                                  duration(elapsed), describe_load(outcome)))
            elif due or not job.get('announced'):
                job['announced'] = True
                display.display('[%s] %s: %s%s' % (host, name, 'still running from an earlier run, waiting for it: '
                                                   if item.get('adopted') else '',
                                                   describe_progress(item.get('progress'), elapsed)))
