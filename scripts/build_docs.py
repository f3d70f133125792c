#!/usr/bin/env python
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Build the documentation site (``make docs``) into ``<build>/docs``, offline.

``<build>`` is ``IE_BUILD_DIR`` or ``.build``. Steps, all from what is in the tree now:

1. antsibull-docs renders every module, plugin and role of the collection from its own
   documentation (``--fail-on-error``: a plugin whose docs do not parse fails the build).
2. The guides, ``docs/*.md``, are copied in reading order (GUIDES; pages not listed there come
   after them); links that leave ``docs/`` are pointed at the generated page of the module or
   role they name, or become plain text (the site does not ship the source tree).
3. Pictures are made, never pasted: the job life cycle (Graphviz ``dot``, from the codes in the
   collection's own ``jobs`` and ``fleet`` modules) and the HTML status report of the quick
   start, which is run for real against the local service (its playbooks taken from
   ``docs/quickstart.md`` as written), screenshotted with headless Chromium.
4. Sphinx (myst-parser for the markdown, sphinx-ansible-theme, no intersphinx) builds the HTML;
   a warning fails the build.

``<build>/docs/site.json`` lists the pages, the guides included and the expected guides that
are missing (tests/integration/test_docs_site.py reports those).
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = REPO  # the collection and docs to build (--source)
BUILD = os.path.abspath(os.environ.get('IE_BUILD_DIR', os.path.join(REPO, '.build')))
BIN = os.path.dirname(os.path.abspath(sys.executable))
COLLECTION = 'awsie.importexport'

# Reading order of the guides: (file in docs/, why a reader needs it). The expected ones are the
# issue's list; demo.md, jobs.md and testbed.md exist besides them.
GUIDES = [
    ('concepts.md', 'the job life cycle'),
    ('quickstart.md', 'quick start on the local service'),
    ('roles.md', 'preparing drives at fleet scale'),
    ('manifests.md', 'manifests by kind'),
    ('signature.md', 'SIGNATURE rules'),
    ('data.md', 'planning and reconciling data'),
    ('jobs.md', 'jobs over the Query API'),
    ('awx.md', 'scheduling status in AWX'),
    ('email.md', 'the e-mail flow'),
    ('security.md', 'where the secret key goes'),
    ('troubleshooting.md', 'troubleshooting by error code'),
    ('reliability.md', 'what the proof of reliability shows'),  # when present (written apart from the list)
    ('local-service.md', 'the local service'),
    ('decisions.md', 'decisions'),
    ('architecture.md', 'architecture'),
    ('demo.md', 'make demo'),
    ('testbed.md', 'the multi-host test bed'),
    ('fleet.md', 'fleet benchmark figures'),
]
EXPECTED = ['concepts.md', 'quickstart.md', 'roles.md', 'manifests.md', 'signature.md', 'data.md', 'awx.md',
            'email.md', 'security.md', 'troubleshooting.md', 'local-service.md', 'decisions.md', 'architecture.md']

CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                  '--disable-component-update', '--no-first-run', '--disable-sync', '--hide-scrollbars']


def log(text):
    print('build_docs: %s' % text, flush=True)


def run(cmd, **kwargs):
    log('+ ' + ' '.join(cmd))
    return subprocess.run(cmd, check=True, **kwargs)


def chromium():
    for name in ('chromium', 'chromium-browser', 'google-chrome'):
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit('build_docs: no chromium: install the Debian package chromium (scripts/setup.sh does)')


# ---------------------------------------------------------------- 1. plugin and role pages

def collection_path(work):
    """A collections path whose awsie/importexport is the repository (symlink)."""
    root = os.path.join(work, 'collections')
    link = os.path.join(root, 'ansible_collections', 'awsie', 'importexport')
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.islink(link) and os.readlink(link) != SOURCE:
        os.unlink(link)
    if not os.path.islink(link):
        os.symlink(SOURCE, link)
    return root


def plugin_pages(src, env):
    os.chmod(src, 0o755)  # antsibull-docs wants its destination writable by itself only
    run([os.path.join(BIN, 'antsibull-docs'), '--config-file', os.path.join(SOURCE, 'docs', 'site', 'antsibull-docs.cfg'),
         'collection', '--use-current', '--fail-on-error', '--dest-dir', src, COLLECTION], env=env)
    base = os.path.join(src, 'collections', 'awsie', 'importexport')
    modules = sorted(n[:-len('_module.rst')] for n in os.listdir(base) if n.endswith('_module.rst'))
    roles = sorted(n[:-len('_role.rst')] for n in os.listdir(base) if n.endswith('_role.rst'))
    return modules, roles


# ---------------------------------------------------------------- 2. guides

LINK_RE = re.compile(r'(!?)\[([^\]]*)\]\(([^)\s]+)\)')


def rewrite_links(text, name, modules, roles, notes):
    """Links leaving docs/ point at generated pages, or become plain text (noted)."""
    def fix(match):
        bang, label, target = match.groups()
        if re.match(r'^[a-z][a-z0-9+.-]*:', target) or target.startswith('#'):
            return match.group(0)
        path = target.split('#', 1)[0]
        if not path.startswith('../'):
            return match.group(0)
        parts = os.path.normpath(os.path.join('docs', path)).split(os.sep)
        page = None
        if parts[:2] == ['plugins', 'modules'] and parts[-1][:-3] in modules:
            page = '../collections/awsie/importexport/%s_module.rst' % parts[-1][:-3]
        elif parts[0] == 'roles' and len(parts) > 1 and parts[1] in roles:
            page = '../collections/awsie/importexport/%s_role.rst' % parts[1]
        if page and not bang:
            notes.append('%s: link to %s points at %s' % (name, target, page))
            return '[%s](%s)' % (label, page)
        notes.append('%s: link to %s (outside docs/, not on the site) made plain text' % (name, target))
        return label if not label.startswith('`') else label
    return LINK_RE.sub(fix, text)


def copy_guides(src, modules, roles):
    docs = os.path.join(SOURCE, 'docs')
    present = sorted(n for n in os.listdir(docs) if n.endswith('.md'))
    order = [guide for guide, _why in GUIDES if guide in present] + [n for n in present if n not in dict(GUIDES)]
    dest = os.path.join(src, 'guides')
    os.makedirs(os.path.join(dest, 'images'))
    if os.path.isdir(os.path.join(docs, 'examples')):
        shutil.copytree(os.path.join(docs, 'examples'), os.path.join(dest, 'examples'), symlinks=False)
    notes = []
    for name in order:
        with open(os.path.join(docs, name), encoding='utf-8') as handle:
            text = handle.read()
        with open(os.path.join(dest, name), 'w', encoding='utf-8') as handle:
            handle.write(rewrite_links(text, name, modules, roles, notes))
    for note in notes:
        log(note)
    return order, notes


# ---------------------------------------------------------------- 3a. the job life cycle picture

def lifecycle_dot():
    """The life cycle as Graphviz, from the codes the collection itself acts on."""
    sys.path.insert(0, collection_path(os.path.join(BUILD, 'docs-work')))
    from ansible_collections.awsie.importexport.plugins.module_utils import fleet, jobs  # pylint: disable=import-outside-toplevel
    running, dead, done = jobs.RUNNING_CODES, jobs.DEAD_CODES, fleet.DONE_CODES
    failures = [c for c in fleet.DEFAULT_ALERTS if c not in dead and c != fleet.EXPIRING_SOON]
    lines = [
        'digraph lifecycle {',
        '  graph [rankdir=TB, fontname="DejaVu Sans", fontsize=11, nodesep=0.35, ranksep=0.5, bgcolor="white"];',
        '  node [fontname="DejaVu Sans", fontsize=10, shape=box, style="rounded,filled", fillcolor="#f6f8fa", color="#57606a"];',
        '  edge [fontname="DejaVu Sans", fontsize=9, color="#57606a"];',
        '  subgraph cluster_you { label="on your hosts and controller"; style="rounded"; color="#0969da";',
        '    manifest [label="manifest\\nie_manifest"]; job [label="CreateJob\\nie_job"];',
        '    signature [label="SIGNATURE on the drive\\nie_signature"]; ship [label="ship\\nie_shipping_label"]; }',
        '  manifest -> job -> signature -> ship;',
    ]
    state = {}
    for location, code in (('NotReceived', running[0]), ('AtAWS', running[0]), ('AtAWS', running[1])):
        key = '%s_%s' % (location, code)
        state[key] = key
        lines.append('  %s [label="%s\\n%s", fillcolor="#ddf4ff"];' % (key, location, code))
    lines.append('  job -> NotReceived_%s [label="job created"];' % running[0])
    lines.append('  ship -> AtAWS_%s [label="device arrives"];' % running[0])
    lines.append('  NotReceived_%s -> AtAWS_%s [style=dashed];' % (running[0], running[0]))
    lines.append('  AtAWS_%s -> AtAWS_%s [label="signature valid"];' % (running[0], running[1]))
    for code in done:
        lines.append('  %s [label="AtAWS\\n%s", fillcolor="#dafbe1"];' % (code, code))
        lines.append('  AtAWS_%s -> %s;' % (running[1], code))
        lines.append('  %s -> Returned;' % code)
    for code in failures:
        lines.append('  %s [label="AtAWS\\n%s", fillcolor="#ffebe9"];' % (code, code))
        lines.append('  AtAWS_%s -> %s;' % (running[0], code))
        lines.append('  %s -> Returned;' % code)
    lines.append('  Returned [label="Returned\\n(carrier, tracking number)", fillcolor="#dafbe1"];')
    lines.append('  reconcile [label="ledger vs import log\\nie_reconcile\\n(job_status role)"];')
    lines.append('  Returned -> reconcile [style=dashed];')
    for code in dead:
        lines.append('  %s [label="%s", fillcolor="#eaeef2"];' % (code, code))
    lines.append('  NotReceived_%s -> %s [label="ie_job state=absent"];' % (running[0], dead[0]))
    lines.append('  NotReceived_%s -> %s [label="%d days without the device"];' % (running[0], dead[1], fleet.EXPIRY_DAYS))
    lines.append('}')
    codes = list(running) + list(done) + failures + list(dead) + ['NotReceived', 'AtAWS', 'Returned']
    return '\n'.join(lines) + '\n', codes


def lifecycle_picture(images):
    dot_text, codes = lifecycle_dot()
    dot_path = os.path.join(images, 'job-lifecycle.dot')
    with open(dot_path, 'w', encoding='utf-8') as handle:
        handle.write(dot_text)
    dot = shutil.which('dot')
    if not dot:
        raise SystemExit('build_docs: no Graphviz dot: install the Debian package graphviz (scripts/setup.sh does)')
    run([dot, '-Tsvg', '-o', os.path.join(images, 'job-lifecycle.svg'), dot_path])
    return codes


# ---------------------------------------------------------------- 3b. the quick start, run for real

FILE_BLOCK_RE = re.compile(r'^```ya?ml\n# (quickstart/[\w./-]+)\n(.*?)^```', re.M | re.S)


def quickstart_files(text):
    """``{relative path: content}`` of the ```yaml blocks whose first line is ``# quickstart/<file>``."""
    return {path: '# %s\n%s' % (path, body) for path, body in FILE_BLOCK_RE.findall(text)}


class Service:
    """``ie-service serve`` on a free loopback port, in its own process group."""

    def __init__(self, state_dir):
        cmd = [os.path.join(BIN, 'ie-service'), 'serve', '--port', '0', '--state-dir', state_dir, '--step-seconds', '60']
        log('+ ' + ' '.join(cmd))
        self.stderr = open(os.path.join(state_dir, 'service.stderr'), 'wb')  # pylint: disable=consider-using-with
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.stderr,  # pylint: disable=consider-using-with
                                     start_new_session=True, text=True)
        self.url = self.proc.stdout.readline().split(' on ', 1)[-1].strip()
        self.s3_url = self.proc.stdout.readline().split('endpoint ', 1)[-1].split()[0].rstrip('/')
        if not self.url.startswith('http'):
            self.stop()
            raise SystemExit('build_docs: ie-service did not start (see %s)' % self.stderr.name)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.stderr.close()


def run_quickstart(work, env, images):
    """Run docs/quickstart.md's steps; returns the HTML report path (copied into images/)."""
    with open(os.path.join(SOURCE, 'docs', 'quickstart.md'), encoding='utf-8') as handle:
        files = quickstart_files(handle.read())
    needed = ('quickstart/prepare.yml', 'quickstart/poll.yml')
    if any(n not in files for n in needed):
        raise SystemExit('build_docs: docs/quickstart.md lacks the ```yaml blocks %s' % ', '.join(needed))
    qs_root = os.path.join(work, 'quickstart-run')
    shutil.rmtree(qs_root, ignore_errors=True)
    for path, content in files.items():
        os.makedirs(os.path.dirname(os.path.join(qs_root, path)), exist_ok=True)
        with open(os.path.join(qs_root, path), 'w', encoding='utf-8') as handle:
            handle.write(content)
    qs = os.path.join(qs_root, 'quickstart')
    state = os.path.join(qs_root, 'state')
    os.makedirs(state)
    sys.path.insert(0, os.path.join(REPO, 'service'))
    from ie_service.accounts import DEMO_ACCESS_KEY, DEMO_SECRET_KEY  # pylint: disable=import-outside-toplevel
    service = Service(state)
    try:
        env = dict(env, AWS_ACCESS_KEY_ID=DEMO_ACCESS_KEY, AWS_SECRET_ACCESS_KEY=DEMO_SECRET_KEY, AWS_URL=service.url,
                   IE_S3_URL=service.s3_url, ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_NOCOLOR='1',
                   ANSIBLE_LOCALHOST_WARNING='false', ANSIBLE_INVENTORY_UNPARSED_WARNING='false')
        playbook = os.path.join(BIN, 'ansible-playbook')
        run([sys.executable, '-c', BUCKET_SNIPPET], env=env, cwd=qs)
        run([playbook, 'prepare.yml'], env=env, cwd=qs)
        run([playbook, 'poll.yml'], env=env, cwd=qs)
        with open(os.path.join(qs, 'jobs.json'), encoding='utf-8') as handle:
            job_id = json.load(handle)[0]['job_id']
        run([os.path.join(BIN, 'ie-service'), 'receive', job_id, os.path.join(qs, 'drives', 'photos'), '--state-dir', state],
            env=env, stdout=subprocess.DEVNULL)
        run([os.path.join(BIN, 'ie-service'), 'clock', 'advance', '--hours', '3', '--state-dir', state], env=env,
            stdout=subprocess.DEVNULL)
        run([playbook, 'poll.yml'], env=env, cwd=qs)
    finally:
        service.stop()
    report = os.path.join(qs, 'reports', 'ie-job-report.html')
    shutil.copy(report, os.path.join(images, 'status-report.html'))
    screenshot(os.path.join(images, 'status-report.html'), os.path.join(images, 'status-report.png'), work)
    return report


BUCKET_SNIPPET = ("import boto3, os; boto3.client('s3', endpoint_url=os.environ['IE_S3_URL'], region_name='us-east-1')"
                  ".create_bucket(Bucket='quickstart-photos')")


def screenshot(html, png, work):
    profile = tempfile.mkdtemp(prefix='chromium-', dir=work)
    try:
        run([chromium()] + CHROMIUM_FLAGS + ['--user-data-dir=%s' % profile, '--window-size=1280,720',
                                             '--screenshot=%s' % png, 'file://%s' % html],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if not os.path.getsize(png):
        raise SystemExit('build_docs: chromium wrote an empty screenshot %s' % png)


# ---------------------------------------------------------------- 4. index and Sphinx

def write_index(src, order):
    with open(os.path.join(SOURCE, 'docs', 'site', 'index.rst'), encoding='utf-8') as handle:
        text = handle.read()
    entries = '\n'.join('   guides/%s' % n[:-3] for n in order)
    with open(os.path.join(src, 'index.rst'), 'w', encoding='utf-8') as handle:
        handle.write(text.replace('@GUIDES@', entries))


def favicon(path, rgb=(0x09, 0x69, 0xda)):
    """A 16x16 one-colour favicon.ico (browsers ask every site root for one; the report pages have none)."""
    import struct  # pylint: disable=import-outside-toplevel
    size = 16
    pixels = bytes((rgb[2], rgb[1], rgb[0], 255)) * (size * size)
    mask = bytes(4 * size)  # 1 bit per pixel, rows padded to 32 bits: all opaque
    image = struct.pack('<IiiHHIIiiII', 40, size, 2 * size, 1, 32, 0, len(pixels) + len(mask), 0, 0, 0, 0) + pixels + mask
    header = struct.pack('<HHH', 0, 1, 1) + struct.pack('<BBBBHHII', size, size, 0, 0, 1, 32, len(image), 22)
    with open(path, 'wb') as handle:
        handle.write(header + image)


def sphinx(src, dest, env):
    extra = os.path.join(os.path.dirname(src), 'extra')
    shutil.rmtree(extra, ignore_errors=True)
    os.makedirs(extra)
    favicon(os.path.join(extra, 'favicon.ico'))
    run([os.path.join(BIN, 'sphinx-build'), '-b', 'html', '-c', os.path.join(SOURCE, 'docs', 'site'), '-W', '--keep-going', '-q',
         '-D', 'html_extra_path=%s' % extra, '-D', 'html_favicon=%s' % os.path.join(extra, 'favicon.ico'),
         '-d', os.path.join(os.path.dirname(src), 'doctrees'), src, dest], env=env)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--dest', default=os.path.join(BUILD, 'docs'), help='where the HTML goes (default: %(default)s)')
    parser.add_argument('--source', default=REPO, help='collection root to document (default: this repository)')
    args = parser.parse_args()
    global SOURCE  # pylint: disable=global-statement
    SOURCE = os.path.abspath(args.source)
    start = time.monotonic()
    work = os.path.join(BUILD, 'docs-work')
    src = os.path.join(work, 'src')
    shutil.rmtree(src, ignore_errors=True)
    shutil.rmtree(args.dest, ignore_errors=True)
    os.makedirs(src)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collection_path(work), PATH=BIN + os.pathsep + os.environ['PATH'],
               ANSIBLE_HOME=os.path.join(work, 'ansible-home'))
    modules, roles = plugin_pages(src, env)
    order, notes = copy_guides(src, modules, roles)
    images = os.path.join(src, 'guides', 'images')
    codes = lifecycle_picture(images)
    if 'quickstart.md' in order:
        run_quickstart(work, env, images)
    write_index(src, order)
    sphinx(src, args.dest, env)
    pages = sorted(os.path.relpath(os.path.join(d, n), args.dest) for d, _dirs, names in os.walk(args.dest)
                   for n in names if n.endswith('.html') and not os.path.relpath(d, args.dest).startswith('_'))
    summary = {'pages': pages, 'guides': order, 'missing_guides': [g for g in EXPECTED if g not in order],
               'modules': modules, 'roles': roles, 'link_notes': notes, 'lifecycle_codes': codes,
               'seconds': round(time.monotonic() - start, 1)}
    with open(os.path.join(args.dest, 'site.json'), 'w', encoding='utf-8') as handle:
        json.dump(summary, handle, indent=1)
    log('%d pages in %s (%.0f s); guides missing: %s' % (len(pages), args.dest, summary['seconds'],
                                                         ', '.join(summary['missing_guides']) or 'none'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
