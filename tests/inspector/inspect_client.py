"""What the inspector's test scripts share: failing with a message, and GET with the token."""
import sys
import urllib.error
import urllib.request


def failer(prefix):
    """A function that prints `prefix: FAILED: why` and exits 1."""
    def fail(why):
        print(prefix + ": FAILED: " + why)
        sys.exit(1)
    return fail


def get(url, token=None):
    """(status, body) of GET `url`, with `Authorization: Bearer token` if given; any status."""
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
