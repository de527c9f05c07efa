"""moto's server (python3 -m moto.server, same arguments) with a fix its IAM enforcement needs.

moto 5.2 checks SigV4 signatures against a request it rebuilds with `data=body or parsed_data`. For a
rest-json GET/HEAD/DELETE without a body (EFS DescribeAccessPoints, ...) the parsed data is the request's
headers, so moto hashes them as the payload and answers SignatureDoesNotMatch to a correctly signed
request. The fix: such requests are rebuilt with the empty body they were signed with.
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
