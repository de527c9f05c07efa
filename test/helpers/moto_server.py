"""moto's server (python3 -m moto.server, same arguments) with three fixes its IAM enforcement needs.

moto 5.2 checks SigV4 signatures against a request it rebuilds from what it received, and gets two things
wrong, so it answers SignatureDoesNotMatch to correctly signed requests:

- The query string: it rebuilds it decoded (`prefix=a/b/`), where SigV4 signs it percent-encoded
  (`prefix=a%2Fb%2F`): every S3 listing under a key prefix with a "/" was refused. The fix: each key and
  value is encoded again the way SigV4 does (RFC 3986 unreserved characters only).
- The body: it rebuilds the request with `data=body or parsed_data`. For a rest-json GET/HEAD/DELETE
  without a body (EFS DescribeAccessPoints, ...) the parsed data is the request's headers, so moto hashes
  them as the payload. The fix: such requests are rebuilt with the empty body they were signed with.

And one in its trust-policy check:

- sts:AssumeRole on a role whose trust policy has a statement for a service principal only
  (`{"Service": "lambda.amazonaws.com"}`) crashes moto's principal check (it looks for an "AWS" key) with
  a 500. The fix: such a statement does not apply to the caller (an IAM user is not a service), as in AWS.
"""
import os
import sys
import threading
import time
from urllib.parse import quote, unquote

from moto.iam import access_control

_create_aws_request = access_control.IAMRequestBase._create_aws_request


def _sigv4_query(path):
    base, question, query = path.partition("?")
    if not question:
        return path
    pairs = []
    for pair in query.split("&"):
        key, equals, value = pair.partition("=")
        pairs.append(quote(unquote(key), safe="-_.~") + equals + quote(unquote(value), safe="-_.~"))
    return base + "?" + "&".join(pairs)


def _create_aws_request_as_signed(self):
    request = _create_aws_request(self)
    request.url = _sigv4_query(request.url)
    if not self._body and self._method in ("GET", "HEAD", "DELETE"):
        request.data = b""
    return request


access_control.IAMRequestBase._create_aws_request = _create_aws_request_as_signed

_is_unknown_principal = access_control.IAMPolicyStatement.is_unknown_principal


def _is_unknown_principal_or_service(self, principal):
    if isinstance(principal, dict) and "AWS" not in principal:
        return True
    return _is_unknown_principal(self, principal)


access_control.IAMPolicyStatement.is_unknown_principal = _is_unknown_principal_or_service


def _exit_with_parent():
    """A test runner that dies (SIGKILL, a crashed worker) must not leave a moto server behind."""
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


if __name__ == "__main__":
    from moto.server import main

    threading.Thread(target=_exit_with_parent, daemon=True).start()

    sys.exit(main())
