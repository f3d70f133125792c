"""A hostile HTTP server on 127.0.0.1 for the proof of reliability (issue 11, family ``hostile``).

It is the adversary, not a stand-in for the service: each request's path names an attack
(``/entity-bomb/``, ``/gigabyte/``, ``/redirect-307/`` ...), answered by writing raw bytes on the
socket, so anything HTTP allows (and some things it does not) can be sent. ``Recorder`` is the
"other host" a redirect points at: it keeps every request it receives, to prove no credential
reached it. Large bodies are generated as they are sent, never held in memory.
"""
import gzip
import socketserver
import threading
import time

NS = 'http://importexport.amazonaws.com/doc/2010-06-01/'
GIB = 1024 ** 3
LOL = ''.join('<!ENTITY lol%d "%s">' % (n, '&lol%d;' % (n - 1) * 10) for n in range(1, 10))
BOMB = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">%s]><GetStatusResponse xmlns="%s"><GetStatusResult>'
        '<JobId>&lol9;</JobId></GetStatusResult></GetStatusResponse>' % (LOL, NS))
XXE = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><GetStatusResponse xmlns="%s">'
       '<GetStatusResult><JobId>&x;</JobId></GetStatusResult></GetStatusResponse>' % NS)
# The same bomb in UTF-16 (little-endian, no byte order mark): expat reads it, a byte search for "<!DOCTYPE" does not.
BOMB_UTF16 = BOMB.replace('<?xml version="1.0"?>', '').encode('utf-16-le')
S3_ANSWER = b'<?xml version="1.0"?><ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>'
PNG = b'\x89PNG\r\n\x1a\n' + b'\x00' * 64


def _gzip_zeros(size):
    """A gzip stream of ``size`` zero bytes (about 1 MB for 1 GiB): one member per MiB, concatenated,
    which gzip readers (and urllib3) read as one stream."""
    member = gzip.compress(b'\0' * (1024 * 1024), compresslevel=9)
    return member * (size // (1024 * 1024))


class Recorder(socketserver.ThreadingTCPServer):
    """Another host (``127.0.0.2`` by default): records each request's raw bytes, answers 200 with a small PDF."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host='127.0.0.2'):
        self.received = []
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                data = _read_request(self.request)
                outer.received.append(data)
                body = b'%PDF-1.4 redirected\n'
                self.request.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nContent-Length: %d\r\n'
                                     b'Connection: close\r\n\r\n%s' % (len(body), body))

        super().__init__((host, 0), Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()
        self.url = 'http://%s:%d/' % self.server_address

    def stop(self):
        self.shutdown()
        self.server_close()


def _read_request(sock, limit=1024 * 1024):
    """The raw request (head and the body its Content-Length announces), or what came before a timeout."""
    sock.settimeout(10)
    data = b''
    try:
        while b'\r\n\r\n' not in data and len(data) < limit:
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, unused, body = data.partition(b'\r\n\r\n')
        length = 0
        for line in head.split(b'\r\n')[1:]:
            name, unused, value = line.partition(b':')
            if name.strip().lower() == b'content-length':
                length = int(value.strip() or 0)
        while len(body) < min(length, limit):
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
            data += chunk
    except OSError:
        pass
    return data


class HostileServer(socketserver.ThreadingTCPServer):
    """``url(attack)``: the endpoint to give the client; ``requests``: the raw requests received;
    ``sent``: bytes written per attack (a 1 GiB body is cut off when the client goes)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, redirect_to=None):
        self.requests = []
        self.sent = {}
        self.redirect_to = redirect_to
        self._gzip = None
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                raw = _read_request(self.request)
                outer.requests.append(raw)
                path = raw.split(b' ', 2)[1].decode('ascii', 'replace') if raw.count(b' ') >= 2 else '/'
                attack = path.strip('/').split('/')[0]
                try:
                    outer.sent[attack] = outer.sent.get(attack, 0) + outer.answer(attack, self.request)
                except OSError:
                    pass  # the client hung up, as it should

        super().__init__(('127.0.0.1', 0), Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def url(self, attack):
        return 'http://127.0.0.1:%d/%s/' % (self.server_address[1], attack)

    def stop(self):
        self.shutdown()
        self.server_close()

    # ------------------------------------------------------------ attacks
    @staticmethod
    def _head(status, ctype, extra=b'', length=None):
        head = b'HTTP/1.1 %s\r\nContent-Type: %s\r\nConnection: close\r\n' % (status, ctype) + extra
        if length is not None:
            head += b'Content-Length: %d\r\n' % length
        return head + b'\r\n'

    def _whole(self, sock, status, ctype, body, extra=b''):
        data = self._head(status, ctype, extra, len(body)) + body
        sock.sendall(data)
        return len(data)

    def answer(self, attack, sock):  # pylint: disable=too-many-return-statements
        if attack == 'entity-bomb':
            return self._whole(sock, b'200 OK', b'text/xml', BOMB.encode())
        if attack == 'entity-bomb-utf16':
            return self._whole(sock, b'200 OK', b'text/xml; charset=utf-16', BOMB_UTF16)
        if attack == 'external-entity':
            return self._whole(sock, b'200 OK', b'text/xml', XXE.encode())
        if attack == 'error-entity-bomb':
            return self._whole(sock, b'400 Bad Request', b'text/xml', BOMB.replace('GetStatusResponse', 'ErrorResponse').encode())
        if attack in ('gigabyte-announced', 'gigabyte-chunked'):
            return self._stream(sock, attack == 'gigabyte-announced')
        if attack == 'gzip-bomb':
            if self._gzip is None:
                self._gzip = _gzip_zeros(GIB)
            return self._whole(sock, b'200 OK', b'text/xml', self._gzip, b'Content-Encoding: gzip\r\n')
        if attack == 'slow-drip':
            return self._drip(sock)
        if attack.startswith('redirect-'):
            code = attack.split('-', 1)[1].encode()
            return self._whole(sock, code + b' Moved', b'text/html', b'<html>moved</html>',
                               b'Location: %s\r\n' % self.redirect_to.encode())
        wrong = {'json': (b'application/json', b'{"GetStatusResult": {"JobId": "ABCDE"}}'),
                 'html': (b'text/html', b'<!DOCTYPE html><html><body>Sign in to continue</body></html>'),
                 'png': (b'image/png', PNG),
                 'plain': (b'text/plain', b'JobId=ABCDE ProgressCode=Pending'),
                 'empty': (b'text/xml', b''),
                 's3-xml': (b'application/xml', S3_ANSWER),
                 'xml-as-octets': (b'application/octet-stream', b'<GetStatusResponse><Nope/></GetStatusResponse>')}
        ctype, body = wrong[attack.split('-', 1)[1]] if attack.startswith('ctype-') else (b'text/plain', b'?')
        return self._whole(sock, b'200 OK', ctype, body)

    def _stream(self, sock, announced):
        """1 GiB of XML-looking text, generated as it goes; stops when the client hangs up."""
        extra = b'' if announced else b'Transfer-Encoding: chunked\r\n'
        sent = 0
        head = self._head(b'200 OK', b'text/xml', extra, GIB if announced else None)
        sock.sendall(head)
        block = b'<GetStatusResponse xmlns="%s"><GetStatusResult>' % NS.encode()
        block += b'<x>' + b'A' * (65536 - len(block) - 7) + b'</x>'
        while sent < GIB:
            piece = block if announced else b'%x\r\n%s\r\n' % (len(block), block)
            sock.sendall(piece)
            sent += len(block)
        if not announced:
            sock.sendall(b'0\r\n\r\n')
        return sent

    @staticmethod
    def _drip(sock, seconds=120):
        """A well-formed answer, one byte every 0.2 s: each read is quick, the whole never ends in time."""
        sock.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n\r\n')
        body = ('<GetStatusResponse xmlns="%s"><GetStatusResult><JobId>ABCDE</JobId>' % NS).encode()
        body += b' ' * 10000
        sent = 0
        deadline = time.monotonic() + seconds
        for byte in body:
            if time.monotonic() > deadline:
                break
            sock.sendall(bytes((byte,)))
            sent += 1
            time.sleep(0.2)
        return sent


def leaked(raw_requests, access_key, secret_key):
    """What of the credentials a set of raw requests carries (names of what was found)."""
    found = set()
    for raw in raw_requests:
        lowered = raw.lower()
        if access_key.encode() in raw:
            found.add('access key')
        if secret_key.encode() in raw:
            found.add('secret key')
        for name in (b'authorization:', b'signature=', b'awsaccesskeyid=', b'x-amz-security-token'):
            if name in lowered:
                found.add(name.decode().rstrip(':='))
    return sorted(found)
