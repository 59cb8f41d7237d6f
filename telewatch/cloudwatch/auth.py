"""SigV4 verification (the Authorization header and presigned query forms) of requests to
the CloudWatch API, with AWS's error codes.

``verify(request, credentials, now, max_skew)`` returns the Credential that signed the
request. The canonical request is rebuilt from what the server received; the payload hash is
always the body's (never the client's word for it).
"""

import datetime
import functools
import hashlib
import hmac
import re
import urllib.parse

from telewatch.cloudwatch import errors

ALGORITHM = 'AWS4-HMAC-SHA256'
SERVICE = 'monitoring'
_AUTH_PART = re.compile(r'\s*([A-Za-z]+)=([^,\s]*)\s*,?')
_SPACES = re.compile(r'\s+')
_PRESIGN_KEYS = ('X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-SignedHeaders',
                 'X-Amz-Signature')


class SignedRequest:
    """What SigV4 reads of a request: method, path, query (as sent), headers (lower-cased
    names) and body (as sent)."""

    def __init__(self, method, path, query_string, headers, body):
        self.method = method
        self.path = path
        self.query_string = query_string
        self.headers = headers
        self.body = body
        self.query = urllib.parse.parse_qsl(query_string, keep_blank_values=True)


class _Signature:
    def __init__(self, access, date, region, service, signed_headers, signature, amz_date,
                 expires=None):
        self.access, self.date, self.region, self.service = access, date, region, service
        self.signed_headers = signed_headers
        self.signature = signature
        self.amz_date = amz_date
        self.expires = expires

    @property
    def scope(self):
        return '%s/%s/%s/aws4_request' % (self.date, self.region, self.service)


def _from_header(request):
    value = request.headers['authorization']
    algorithm, _, rest = value.partition(' ')
    if algorithm != ALGORITHM:
        raise errors.IncompleteSignature(
            'Unsupported AWS \'algorithm\': \'%s\'' % algorithm)
    parts = dict(_AUTH_PART.findall(rest))
    for name in ('Credential', 'SignedHeaders', 'Signature'):
        if name not in parts:
            raise errors.IncompleteSignature(
                "Authorization header requires '%s' parameter. Authorization=%s"
                % (name, value))
    amz_date = request.headers.get('x-amz-date')
    if not amz_date:
        raise errors.IncompleteSignature(
            "Authorization header requires existence of either a 'X-Amz-Date' or a "
            "'Date' header. Authorization=%s" % value)
    return _signature(parts['Credential'], parts['SignedHeaders'], parts['Signature'],
                      amz_date)


def _from_query(request):
    query = dict(request.query)
    missing = [key for key in _PRESIGN_KEYS if key not in query]
    if missing:
        raise errors.IncompleteSignature(
            'AWS query-string parameters must include %s. Re-examine the query-string '
            'parameters.' % ', '.join("'%s'" % key for key in missing))
    if query['X-Amz-Algorithm'] != ALGORITHM:
        raise errors.IncompleteSignature(
            'Unsupported AWS \'algorithm\': \'%s\'' % query['X-Amz-Algorithm'])
    try:
        expires = int(query.get('X-Amz-Expires', '900'))
    except ValueError:
        raise errors.IncompleteSignature('X-Amz-Expires must be an integer.') from None
    return _signature(query['X-Amz-Credential'], query['X-Amz-SignedHeaders'],
                      query['X-Amz-Signature'], query['X-Amz-Date'], expires)


def _signature(credential, signed_headers, signature, amz_date, expires=None):
    parts = credential.split('/')
    if len(parts) != 5 or parts[4] != 'aws4_request' or not parts[0]:
        raise errors.IncompleteSignature(
            "Credential must have exactly 5 slash-delimited elements, e.g. "
            "keyid/date/region/service/term, got '%s'" % credential)
    if parts[3] != SERVICE:
        raise errors.SignatureDoesNotMatch(
            "Credential should be scoped to correct service: '%s'. " % SERVICE)
    return _Signature(parts[0], parts[1], parts[2], parts[3], signed_headers.lower(),
                      signature, amz_date, expires)


def _request_time(amz_date):
    try:
        return datetime.datetime.strptime(amz_date, '%Y%m%dT%H%M%SZ').replace(
            tzinfo=datetime.timezone.utc)
    except ValueError:
        raise errors.IncompleteSignature(
            "Date must be in ISO-8601 'basic format'. Got '%s'. See "
            "http://en.wikipedia.org/wiki/ISO_8601" % amz_date) from None


def _check_time(sig, now, max_skew):
    when = _request_time(sig.amz_date)
    if sig.date != sig.amz_date[:8]:
        raise errors.SignatureDoesNotMatch(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            "from HTTP: '%s' != '%s', from '%s'." % (sig.date, sig.amz_date[:8], sig.amz_date))
    stamp = now.strftime('%Y%m%dT%H%M%SZ')
    if sig.expires is not None:
        if now > when + datetime.timedelta(seconds=sig.expires):
            raise errors.RequestExpired(
                'Request has expired. X-Amz-Date %s, X-Amz-Expires %d, now %s.'
                % (sig.amz_date, sig.expires, stamp))
        if when - now > datetime.timedelta(seconds=max_skew):
            raise errors.RequestExpired(
                'Request is not yet valid: X-Amz-Date %s is after %s.' % (sig.amz_date, stamp))
        return
    if abs((now - when).total_seconds()) > max_skew:
        raise errors.RequestExpired(
            'Request timestamp %s is more than %d minutes away from the server time %s.'
            % (sig.amz_date, max_skew // 60, stamp))


def _quote(text):
    return urllib.parse.quote(text, safe='-_.~')


def canonical_request(request, sig, presigned):
    """The canonical request SigV4 hashes (AWS's algorithm, for services other than S3)."""
    query = sorted((_quote(key), _quote(value)) for key, value in request.query
                   if not (presigned and key == 'X-Amz-Signature'))
    names = sig.signed_headers.split(';')
    headers = []
    for name in names:
        value = request.headers.get(name)
        if value is None:
            raise errors.SignatureDoesNotMatch(
                'The request signature names the header %s, which the request lacks.' % name)
        headers.append('%s:%s\n' % (name, _SPACES.sub(' ', value.strip())))
    return '\n'.join([
        request.method,
        urllib.parse.quote(request.path or '/', safe='/~'),
        '&'.join('%s=%s' % pair for pair in query),
        ''.join(headers),
        sig.signed_headers,
        hashlib.sha256(request.body).hexdigest()])


@functools.lru_cache(maxsize=1024)
def signing_key(secret, date, region, service=SERVICE):
    """SigV4's key of a secret for a day and region (the same all day: made once)."""
    key = ('AWS4' + secret).encode('utf-8')
    for part in (date, region, service, 'aws4_request'):
        key = hmac.new(key, part.encode('utf-8'), hashlib.sha256).digest()
    return key


def parse(request):
    """The request's signature (header or presigned), or MissingAuthenticationToken /
    IncompleteSignature."""
    if 'authorization' in request.headers:
        return _from_header(request), False
    if any(key == 'X-Amz-Signature' or key == 'X-Amz-Credential' for key, _ in request.query):
        return _from_query(request), True
    raise errors.MissingAuthenticationToken('Request is missing Authentication Token')


def verify(request, credentials, now, max_skew=900):
    """The Credential that signed ``request``; a CloudWatchError when it cannot be trusted.

    ``credentials.get(access) -> Credential | None``; ``now``: the server's aware UTC time.
    """
    sig, presigned = parse(request)
    if 'host' not in sig.signed_headers.split(';'):
        raise errors.SignatureDoesNotMatch("'Host' must be a 'SignedHeader' in the AWS "
                                           "Authorization.")
    _check_time(sig, now, max_skew)
    credential = credentials.get(sig.access)
    if credential is None:
        raise errors.InvalidClientTokenId(
            'The security token included in the request is invalid.')
    canonical = canonical_request(request, sig, presigned)
    to_sign = '\n'.join([ALGORITHM, sig.amz_date, sig.scope,
                         hashlib.sha256(canonical.encode('utf-8')).hexdigest()])
    expected = hmac.new(signing_key(credential.secret, sig.date, sig.region),
                        to_sign.encode('utf-8'), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, sig.signature):
        raise errors.SignatureDoesNotMatch(
            'The request signature we calculated does not match the signature you provided. '
            'Check your AWS Secret Access Key and signing method. Consult the service '
            'documentation for details.')
    return credential
