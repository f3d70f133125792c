"""The documentation site: ``make docs`` builds it, and a real browser reads every page.

The site is built once per module with scripts/build_docs.py (what ``make docs`` runs) into
``<build>/docs``: antsibull-docs pages of every module, plugin and role, the guides, the job
life cycle drawn by Graphviz, the quick start run against the local service and its report
screenshotted. Headless Chromium (DevTools protocol) then opens every page and the HTML status
report from a loopback HTTP server: no console error, no failed request, every image loaded,
every internal link and fragment resolving. The counts go to ``<build>/docs-browser-check.json``.
"""
import glob
import json
import os
import re
import subprocess
import sys
import urllib.parse

import pytest

from tests.collection_path import BUILD, REPO, link_collection
from tests.support import browser

pytestmark = pytest.mark.slow

SITE = os.path.join(BUILD, 'docs')


@pytest.fixture(scope='module')
def site():
    if browser.chromium() is None:
        pytest.fail('chromium is not installed: scripts/setup.sh installs the Debian package')
    # IE_DOCS_SOURCE: build another checkout (development: a clean export while the tree is mid-change)
    source = os.environ.get('IE_DOCS_SOURCE', REPO)
    proc = subprocess.run([sys.executable, os.path.join(REPO, 'scripts', 'build_docs.py'), '--dest', SITE,
                           '--source', source],
                          env=dict(os.environ, IE_BUILD_DIR=BUILD), capture_output=True, text=True, check=False,
                          timeout=900)
    if proc.returncode != 0:
        pytest.fail('make docs failed (%d):\n%s\n%s' % (proc.returncode, proc.stdout[-6000:], proc.stderr[-6000:]))
    with open(os.path.join(SITE, 'site.json'), encoding='utf-8') as handle:
        return json.load(handle)


def test_every_expected_guide_is_written():
    sys.path.insert(0, os.path.join(REPO, 'scripts'))
    import build_docs  # pylint: disable=import-outside-toplevel
    missing = [g for g in build_docs.EXPECTED if not os.path.isfile(os.path.join(REPO, 'docs', g))]
    assert not missing, 'guides the site expects are missing from docs/: %s' % ', '.join(missing)


def test_every_guide_is_on_the_site(site):
    guides = sorted(os.path.basename(p) for p in glob.glob(os.path.join(REPO, 'docs', '*.md')))
    assert sorted(site['guides']) == guides
    missing = [g for g in guides if 'guides/%s.html' % g[:-3] not in site['pages']]
    assert not missing, 'no page for: %s' % ', '.join(missing)


def test_every_module_plugin_and_role_has_its_page(site):
    modules = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(REPO, 'plugins', 'modules', '*.py')))
    roles = sorted(os.path.basename(p) for p in glob.glob(os.path.join(REPO, 'roles', '*')) if os.path.isdir(p))
    filters = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(REPO, 'plugins', 'filter', '*.py')))
    base = 'collections/awsie/importexport/'
    missing = [m for m in modules if base + m + '_module.html' not in site['pages']]
    missing += [r for r in roles if base + r + '_role.html' not in site['pages']]
    missing += [f for f in filters if base + f + '_filter.html' not in site['pages']]
    assert not missing, 'no page for: %s' % ', '.join(missing)


def test_life_cycle_picture_is_drawn_from_the_collections_codes(site):
    link_collection()
    from ansible_collections.awsie.importexport.plugins.module_utils import fleet, jobs  # pylint: disable=import-outside-toplevel
    svgs = glob.glob(os.path.join(SITE, '_images', 'job-lifecycle*.svg'))
    assert len(svgs) == 1
    with open(svgs[0], encoding='utf-8') as handle:
        svg = handle.read()
    assert svg.lstrip().startswith('<?xml') and '<svg' in svg
    for code in jobs.RUNNING_CODES + jobs.DEAD_CODES + fleet.DONE_CODES + ('InvalidSignature', 'MissingSignature'):
        assert '>%s<' % code in svg or code in re.sub(r'<[^>]+>', ' ', svg), code
    with open(os.path.join(SITE, 'guides', 'concepts.html'), encoding='utf-8') as handle:
        assert os.path.basename(svgs[0]) in handle.read()


def test_quick_start_report_screenshot_is_on_the_site(site):
    shots = glob.glob(os.path.join(SITE, '_images', 'status-report*.png'))
    assert len(shots) == 1
    with open(shots[0], 'rb') as handle:
        head = handle.read(24)
    assert head[:8] == b'\x89PNG\r\n\x1a\n'
    width, height = int.from_bytes(head[16:20], 'big'), int.from_bytes(head[20:24], 'big')
    assert (width, height) == (1280, 720)
    assert os.path.getsize(shots[0]) > 20000  # a blank page is a few kB
    reports = glob.glob(os.path.join(SITE, '_downloads', '*', 'status-report.html'))
    assert len(reports) == 1
    with open(reports[0], encoding='utf-8') as handle:
        report = handle.read()
    # the quick start's second poll: photos shipped and loaded, archive still waiting
    assert 'Returned' in report and 'NotReceived' in report and 'QS-PHOTOS' in report


def test_troubleshooting_names_every_error_code():
    link_collection()
    from ansible_collections.awsie.importexport.plugins.module_utils import api_errors, fleet, mail  # pylint: disable=import-outside-toplevel
    from ansible_collections.awsie.importexport.plugins.module_utils.manifest_lib import schema  # pylint: disable=import-outside-toplevel
    with open(os.path.join(REPO, 'docs', 'troubleshooting.md'), encoding='utf-8') as handle:
        page = handle.read()
    codes = set(api_errors.ERRORS) | {'ConnectionError', 'Timeout', 'SSLError', 'MalformedResponse', 'ResponseTooLarge'}
    codes |= {schema.MISSING, schema.INVALID, schema.MALFORMED, schema.ADDRESS, schema.CUSTOMS, schema.FILESYSTEM}
    codes |= set(mail.ERROR_CODES) | {'NoReply', 'MailError'}
    codes |= set(fleet.DEFAULT_ALERTS) | {fleet.FILES_MISSING, fleet.RECONCILE_ERROR} | set(fleet.DONE_CODES[1:])
    missing = sorted(c for c in codes if '`%s`' % c not in page)
    assert not missing, 'docs/troubleshooting.md does not explain: %s' % ', '.join(missing)


def browser_summary(counts):
    return ('browser check: %(pages)d pages opened (%(site_pages)d site pages and the status report), %(links)d links '
            '(%(internal_links)d internal checked, %(fragments)d with an anchor, %(external_links)d external, not followed), '
            '%(images)d images, %(resources)d stylesheets/scripts; %(console_errors)d console errors, %(broken_links)d '
            'broken links, %(missing_images)d missing images, %(missing_anchors)d missing anchors' % counts)


def test_every_page_loads_in_chromium_without_errors(site):
    pages = sorted(os.path.relpath(p, SITE) for p in glob.glob(os.path.join(SITE, '**', '*.html'), recursive=True))
    assert len(pages) >= len(site['pages'])
    assert any(p.endswith('status-report.html') for p in pages)
    problems, ids, fragments = [], {}, []
    counts = dict(pages=0, links=0, internal_links=0, external_links=0, fragments=0, images=0, resources=0,
                  console_errors=0, broken_links=0, missing_images=0, missing_anchors=0)
    with browser.serve(SITE) as base:
        chrome = browser.Browser()
        try:
            for rel in pages:
                url = base + urllib.parse.quote(rel)
                page = chrome.load(url)
                counts['pages'] += 1
                problems.extend('%s: %s' % (rel, e) for e in page.errors)
                counts['console_errors'] += len(page.errors)
                ids[url] = page.ids
                for image in page.images:
                    counts['images'] += 1
                    if not image['complete'] or not image['width']:
                        counts['missing_images'] += 1
                        problems.append('%s: image not loaded: %s' % (rel, image['src']))
                counts['resources'] += len(page.resources) + len(page.scripts)
                for link in page.links:
                    counts['links'] += 1
                    target, fragment = browser.split_fragment(link)
                    if not target.startswith(base):
                        if not re.match(r'^(https?|mailto):', target):
                            problems.append('%s: link with an unexpected scheme: %s' % (rel, link))
                        counts['external_links'] += 1
                        continue
                    counts['internal_links'] += 1
                    path = os.path.join(SITE, urllib.parse.unquote(target[len(base):]))
                    if os.path.isdir(path):
                        path = os.path.join(path, 'index.html')
                    if not os.path.isfile(path):
                        counts['broken_links'] += 1
                        problems.append('%s: broken link %s' % (rel, link))
                    elif fragment and path.endswith('.html'):
                        fragments.append((rel, base + os.path.relpath(path, SITE), fragment, link))
        finally:
            chrome.close()
    for rel, target, fragment, link in fragments:
        counts['fragments'] += 1
        if urllib.parse.unquote(fragment) not in ids.get(target, set()):
            counts['missing_anchors'] += 1
            problems.append('%s: link to a missing anchor %s' % (rel, link))
    counts['site_pages'] = len(site['pages'])
    with open(os.path.join(BUILD, 'docs-browser-check.json'), 'w', encoding='utf-8') as handle:
        json.dump(dict(counts, problems=problems, page_list=pages), handle, indent=1)
    # tests/run_all.py prints this line again at the end of make test (pytest keeps a passing test's output)
    print(browser_summary(counts))
    assert not problems, '%d problem(s):\n%s' % (len(problems), '\n'.join(problems[:80]))
    assert counts['images'] >= 2 and counts['internal_links'] > counts['pages']
