"""Headless Chromium driven over the DevTools protocol, to check pages as a browser loads them.

``Browser`` starts Debian's ``chromium`` (headless, fresh profile, no network features) with
``--remote-debugging-port=0``, attaches to its first page over a websocket (websocket-client)
and ``load(url)`` navigates there and returns a ``PageLoad``: the console errors, uncaught
exceptions, failed and >= 400 requests seen while loading, and what the DOM holds once loaded
(links, images with their natural size, element ids). ``serve(directory)`` serves a directory
over HTTP on 127.0.0.1.
"""
import contextlib
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time

import websocket

FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-extensions',
         '--disable-default-apps', '--mute-audio', '--hide-scrollbars']

DOM_SCRIPT = r'''(() => {
  const abs = (u) => { try { return new URL(u, document.baseURI).href; } catch (e) { return u; } };
  return JSON.stringify({
    title: document.title,
    links: Array.from(document.querySelectorAll('a[href]')).map(a => abs(a.getAttribute('href'))),
    resources: Array.from(document.querySelectorAll('link[href]')).filter(l => l.rel !== 'canonical')
        .map(l => abs(l.getAttribute('href'))),
    scripts: Array.from(document.querySelectorAll('script[src]')).map(s => abs(s.getAttribute('src'))),
    images: Array.from(document.images).map(i => ({src: i.currentSrc || abs(i.getAttribute('src')),
        complete: i.complete, width: i.naturalWidth, height: i.naturalHeight})),
    ids: Array.from(document.querySelectorAll('[id]')).map(e => e.id)
        .concat(Array.from(document.querySelectorAll('a[name]')).map(e => e.getAttribute('name'))),
  });
})()'''


def chromium():
    for name in ('chromium', 'chromium-browser', 'google-chrome'):
        found = shutil.which(name)
        if found:
            return found
    return None


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass


@contextlib.contextmanager
def serve(directory):
    """Serve ``directory`` on 127.0.0.1 (a free port); yields the base URL ending in '/'."""
    handler = functools.partial(_Quiet, directory=directory)
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield 'http://127.0.0.1:%d/' % server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


class PageLoad:
    """What loading one URL showed: ``errors`` (console, exceptions, failed requests) and the DOM."""

    def __init__(self, url):
        self.url = url
        self.errors = []
        self.title = ''
        self.links = []
        self.resources = []
        self.scripts = []
        self.images = []
        self.ids = set()


class Browser:
    """One headless Chromium; ``load(url)`` per page; ``close()`` ends it and removes its profile."""

    def __init__(self, timeout=30):
        binary = chromium()
        if binary is None:
            raise RuntimeError('no chromium: install the Debian package chromium (scripts/setup.sh does)')
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix='ie-chromium-')
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [binary] + FLAGS + ['--user-data-dir=%s' % self.profile, '--remote-debugging-port=0',
                                '--remote-debugging-address=127.0.0.1', 'about:blank'],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        self._next_id = 0
        self.ws = None
        try:
            port = self._devtools_port()
            self.ws = websocket.create_connection(self._page_ws(port), timeout=timeout, suppress_origin=True)
            for domain in ('Page', 'Runtime', 'Log', 'Network'):
                self.call(domain + '.enable')
        except Exception:
            self.close()
            raise

    def _devtools_port(self):
        deadline = time.monotonic() + self.timeout
        path = os.path.join(self.profile, 'DevToolsActivePort')
        while time.monotonic() < deadline:
            if os.path.exists(path):
                with open(path, encoding='ascii') as handle:
                    first = handle.readline().strip()
                if first.isdigit():
                    return int(first)
            if self.proc.poll() is not None:
                raise RuntimeError('chromium exited (%s): %s' % (self.proc.returncode, self.proc.stderr.read()[-2000:]))
            time.sleep(0.1)
        raise RuntimeError('chromium wrote no DevToolsActivePort within %ss' % self.timeout)

    def _page_ws(self, port):
        import urllib.request  # pylint: disable=import-outside-toplevel
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            with urllib.request.urlopen('http://127.0.0.1:%d/json/list' % port, timeout=5) as answer:
                pages = [t for t in json.load(answer) if t.get('type') == 'page']
            if pages:
                return pages[0]['webSocketDebuggerUrl']
            time.sleep(0.1)
        raise RuntimeError('chromium has no page target')

    def call(self, method, events=None, **params):
        """Send one command and wait for its answer; events that arrive meanwhile go to ``events``."""
        self._next_id += 1
        ident = self._next_id
        self.ws.send(json.dumps({'id': ident, 'method': method, 'params': params}))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            message = json.loads(self.ws.recv())
            if message.get('id') == ident:
                if 'error' in message:
                    raise RuntimeError('%s failed: %s' % (method, message['error']))
                return message.get('result', {})
            if events is not None and 'method' in message:
                events.append(message)
        raise RuntimeError('%s: no answer within %ss' % (method, self.timeout))

    def load(self, url):
        """Navigate to ``url``, wait for its load event and for the network to go quiet, read the DOM."""
        page = PageLoad(url)
        events = []
        self.call('Page.navigate', events=events, url=url)
        deadline = time.monotonic() + self.timeout
        loaded = False
        quiet_since = None
        self.ws.settimeout(0.3)
        try:
            while time.monotonic() < deadline:
                try:
                    message = json.loads(self.ws.recv())
                except websocket.WebSocketTimeoutException:
                    if loaded:
                        quiet_since = quiet_since or time.monotonic()
                        if time.monotonic() - quiet_since >= 0.3:
                            break
                    continue
                quiet_since = None
                events.append(message)
                if message.get('method') == 'Page.loadEventFired':
                    loaded = True
        finally:
            self.ws.settimeout(self.timeout)
        if not loaded:
            page.errors.append('no load event within %ss' % self.timeout)
        dom = json.loads(self.call('Runtime.evaluate', events=events, expression=DOM_SCRIPT,
                                   returnByValue=True)['result']['value'])
        page.title, page.links, page.images = dom['title'], dom['links'], dom['images']
        page.resources, page.scripts, page.ids = dom['resources'], dom['scripts'], set(dom['ids'])
        page.errors.extend(_errors(events))
        return page

    def close(self):
        if self.ws is not None:
            with contextlib.suppress(Exception):
                self.ws.close()
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()
        shutil.rmtree(self.profile, ignore_errors=True)


def _errors(events):
    out = []
    requests = {}
    for event in events:
        method, params = event.get('method'), event.get('params', {})
        if method == 'Network.requestWillBeSent':
            requests[params['requestId']] = params['request']['url']
        elif method == 'Network.responseReceived' and params['response'].get('status', 0) >= 400:
            out.append('HTTP %s for %s' % (params['response']['status'], params['response']['url']))
        elif method == 'Network.loadingFailed' and not params.get('canceled'):
            out.append('request failed (%s): %s' % (params.get('errorText'), requests.get(params['requestId'], '?')))
        elif method == 'Runtime.exceptionThrown':
            details = params['exceptionDetails']
            text = details.get('exception', {}).get('description') or details.get('text')
            out.append('uncaught exception: %s' % text)
        elif method == 'Runtime.consoleAPICalled' and params.get('type') in ('error', 'assert'):
            out.append('console.%s: %s' % (params['type'], ' '.join(str(a.get('value', a.get('description', '')))
                                                                    for a in params.get('args', []))))
        elif method == 'Log.entryAdded' and params['entry'].get('level') == 'error':
            out.append('console: %s (%s)' % (params['entry'].get('text'), params['entry'].get('url', '')))
    return out


def split_fragment(url):
    match = re.match(r'^([^#]*)(?:#(.*))?$', url)
    return match.group(1), match.group(2)
