"""moto's server (python3 -m moto.server, same arguments) with two fixes its IAM enforcement needs.

- moto 5.2 checks SigV4 signatures against a request it rebuilds with `data=body or parsed_data`. For a
  rest-json GET/HEAD/DELETE without a body (EFS DescribeAccessPoints, ...) the parsed data is the request's
  headers, so moto hashes them as the payload and answers SignatureDoesNotMatch to a correctly signed
  request. The fix: such requests are rebuilt with the empty body they were signed with.
- sts:AssumeRole on a role whose trust policy has a statement for a service principal only
  (`{"Service": "lambda.amazonaws.com"}`) crashes moto's principal check (it looks for an "AWS" key) with
  a 500. The fix: such a statement does not apply to the caller (an IAM user is not a service), as in AWS.
"""
import os
import sys
import threading
import time

from moto.iam import access_control

_create_aws_request = access_control.IAMRequestBase._create_aws_request


def _create_aws_request_with_signed_body(self):
    request = _create_aws_request(self)
    if not self._body and self._method in ("GET", "HEAD", "DELETE"):
        request.data = b""
    return request


access_control.IAMRequestBase._create_aws_request = _create_aws_request_with_signed_body

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
