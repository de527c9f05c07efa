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

And one gap filled, the way AWS fills it:

- Lambda GetFunction answers a `Code.Location` (in AWS a presigned S3 URL, valid 10 minutes, of the zip the
  function runs) that moto does not serve: an `https://awslambda-<region>-tasks.s3...` address that does not
  exist. Here it is a URL on this server, `/_moto-lambda-code/<account>/<region>/<function>`, answering
  the bytes moto stored from CreateFunction/UpdateFunctionCode. Like a presigned URL it needs no signature.
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


LAMBDA_CODE_PATH = "/_moto-lambda-code/"
_request = threading.local()


def _serve_lambda_code(environ, start_response):
    from moto.awslambda.models import lambda_backends

    account, region, name = unquote(environ["PATH_INFO"][len(LAMBDA_CODE_PATH):]).split("/", 2)
    try:
        code = lambda_backends[account][region].get_function(name).code_bytes
    except Exception as error:  # an unknown function: S3's answer to an expired or wrong URL
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [f"no code for {account}/{region}/{name}: {error}".encode()]
    start_response("200 OK", [("Content-Type", "application/zip"), ("Content-Length", str(len(code)))])
    return [code]


def _install_lambda_code_location():
    from moto.awslambda.models import LambdaFunction
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    dispatch = DomainDispatcherApplication.__call__

    def call(self, environ, start_response):
        if environ.get("PATH_INFO", "").startswith(LAMBDA_CODE_PATH):
            return _serve_lambda_code(environ, start_response)
        # The address this request came in on: GetFunction's Code.Location points back at it.
        _request.host = environ.get("HTTP_HOST")
        return dispatch(self, environ, start_response)

    DomainDispatcherApplication.__call__ = call
    get_code = LambdaFunction.get_code

    def get_code_served_here(self):
        answer = get_code(self)
        host = getattr(_request, "host", None)
        if host and answer.get("Code", {}).get("RepositoryType") == "S3":
            path = "/".join(quote(part, safe="") for part in (self.account_id, self.region, self.function_name))
            answer["Code"]["Location"] = f"http://{host}{LAMBDA_CODE_PATH}{path}"
        return answer

    LambdaFunction.get_code = get_code_served_here


def _exit_with_parent():
    """A test runner that dies (SIGKILL, a crashed worker) must not leave a moto server behind."""
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


if __name__ == "__main__":
    from moto.server import main

    threading.Thread(target=_exit_with_parent, daemon=True).start()
    _install_lambda_code_location()

    sys.exit(main())
