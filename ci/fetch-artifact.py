#!/usr/bin/env python3
"""Download a CI artifact archive (zip) and unpack it, with nothing but Python's standard library.

    ci/fetch-artifact.py URL DEST [--header 'NAME: VALUE'] [--optional]

GitLab's debian:12 image has python3 (ci/bootstrap.sh installs it) but neither curl nor unzip; the
pipelines use this to fetch the last nightly store, e.g.

    ci/fetch-artifact.py --optional --header "JOB-TOKEN: $CI_JOB_TOKEN" \
      "$CI_API_V4_URL/projects/$CI_PROJECT_ID/jobs/artifacts/$CI_DEFAULT_BRANCH/download?job=jostle-dashboard" prev

Exit 0 when unpacked. With --optional, a 404 (no such artifact yet: the first night, or it expired) prints
one line and exits 0 without creating DEST; every other failure (authentication, network, a corrupt
archive, a member that would land outside DEST) is one line on stderr and exit 1, never silence.
"""

import argparse
import io
import os
import sys
import urllib.error
import urllib.request
import zipfile

TIMEOUT_S = 120


def fail(message):
    print(f"fetch-artifact: {message}", file=sys.stderr)
    return 1


def unpack(data, dest):
    """Unpack the zip bytes into dest; refuse members that would escape it."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        root = os.path.realpath(dest)
        for name in archive.namelist():
            target = os.path.realpath(os.path.join(root, name))
            if target != root and not target.startswith(root + os.sep):
                raise ValueError(f"member {name!r} would be written outside {dest}")
        os.makedirs(dest, exist_ok=True)
        archive.extractall(dest)
        return len(archive.namelist())


def main(argv=None):
    parser = argparse.ArgumentParser(prog="ci/fetch-artifact.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the archive's URL (http, https or file)")
    parser.add_argument("dest", help="directory to unpack into (created)")
    parser.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'",
                        help="request header, e.g. 'JOB-TOKEN: ...' (repeatable)")
    parser.add_argument("--optional", action="store_true",
                        help="a missing artifact (HTTP 404 or no such file) is not an error")
    args = parser.parse_args(argv)
    request = urllib.request.Request(args.url)
    for header in args.header:
        name, sep, value = header.partition(":")
        if not sep or not name.strip():
            return fail(f"--header {header!r}: expected 'NAME: VALUE'")
        request.add_header(name.strip(), value.strip())
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            data = response.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 404 and args.optional:
            print(f"fetch-artifact: no artifact at {args.url.split('?')[0]} (HTTP 404): going on without it")
            return 0
        return fail(f"{args.url.split('?')[0]}: HTTP {exc.code} {exc.reason}")
    except urllib.error.URLError as exc:
        reason = exc.reason
        if args.optional and isinstance(reason, FileNotFoundError):
            print(f"fetch-artifact: no artifact at {args.url}: going on without it")
            return 0
        return fail(f"{args.url.split('?')[0]}: {reason}")
    except OSError as exc:
        return fail(f"{args.url.split('?')[0]}: {exc}")
    try:
        count = unpack(data, args.dest)
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        return fail(f"{args.url.split('?')[0]}: cannot unpack into {args.dest}: {exc}")
    print(f"fetch-artifact: {count} file(s) unpacked into {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
