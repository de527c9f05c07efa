"""moto's server (python3 -m moto.server, same arguments) with four fixes its IAM enforcement needs, one gap
filled and one fix of AWS Backup's ListTags.

moto 5.2 checks SigV4 signatures against a request it rebuilds from what it received, and gets three things
wrong, so it answers SignatureDoesNotMatch to correctly signed requests:

- The query string: it rebuilds it decoded (`prefix=a/b/`), where SigV4 signs it percent-encoded
  (`prefix=a%2Fb%2F`): every S3 listing under a key prefix with a "/" was refused. The fix: each key and
  value is encoded again the way SigV4 does (RFC 3986 unreserved characters only).
- The body: it rebuilds the request with `data=body or parsed_data`. For a rest-json GET/HEAD/DELETE
  without a body (EFS DescribeAccessPoints, ...) the parsed data is the request's headers, so moto hashes
  them as the payload. The fix: such requests are rebuilt with the empty body they were signed with.
- The path: it rebuilds it decoded (`/tags/arn:aws:backup:...`), where the client sent it percent-encoded
  (`arn%3Aaws%3Abackup...`) and, for every service but S3, signed it encoded once more: every AWS Backup
  ListTags (its path holds the vault's ARN) was refused. The fix: outside S3 each path segment is encoded
  again as it was sent, and botocore's signer encodes it the second time.

And one in its trust-policy check:

- sts:AssumeRole on a role whose trust policy has a statement for a service principal only
  (`{"Service": "lambda.amazonaws.com"}`) crashes moto's principal check (it looks for an "AWS" key) with
  a 500. The fix: such a statement does not apply to the caller (an IAM user is not a service), as in AWS.

And one gap filled, the way AWS fills it:

- Lambda GetFunction answers a `Code.Location` (in AWS a presigned S3 URL, valid 10 minutes, of the zip the
  function runs) that moto does not serve: an `https://awslambda-<region>-tasks.s3...` address that does not
  exist. Here it is a URL on this server, `/_moto-lambda-code/<account>/<region>/<function>`, answering
  the bytes moto stored from CreateFunction/UpdateFunctionCode. Like a presigned URL it needs no signature.

And AWS Backup's ListTags:

- AWS Backup's ListTags (`GET /tags/{ResourceArn}/`) takes the ARN from the path's second-to-last segment, so
  a request without the trailing slash (the AWS SDKs send none) lists the tags of a resource named "tags":
  none. Every vault and plan read back without its tags, and Terraform planned to add them again. The fix:
  the ARN is everything after "/tags/", with or without the slash.
"""
import json
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


def _sigv4_path(path):
    base, question, query = path.partition("?")
    segments = [quote(unquote(segment), safe="-_.~") for segment in base.split("/")]
    return "/".join(segments) + question + query


def _create_aws_request_as_signed(self):
    request = _create_aws_request(self)
    request.url = _sigv4_query(request.url)
    if self._service != "s3":
        request.url = _sigv4_path(request.url)
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


from moto.backup.responses import BackupResponse


def _list_backup_tags(self):
    resource_arn = unquote(self.path.split("/tags/", 1)[1].rstrip("/"))
    return json.dumps({"Tags": self.backup_backend.list_tags(resource_arn=resource_arn)})


BackupResponse.list_tags = _list_backup_tags


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
