#!/usr/bin/env python3
"""Move the pins of fedfleet's CRD lock (generator/fedfleet/crds/sources.json).

    scripts/refresh-crds.py MODULE@VERSION [--commit HASH]
    scripts/refresh-crds.py --git OWNER/NAME=DIR [--rev REV]

MODULE@VERSION: `go mod download` that exact version (the proxy serves exact versions, not
lists) and rewrite every lock entry of that Go module: version, commit (the proxy's origin record,
or --commit when the proxy does not give one) and the SHA-256 of the file in the module zip.

--git: for a repository the proxy does not serve, read every lock entry of OWNER/NAME with
`git show REV:PATH` in DIR (a clone or a fetched mirror) and rewrite commit and SHA-256.

Nothing is written to the repository but the lock: the CRD files go to users' stores through
`fedfleet crds pull`. The lock's diff shows which upstream files moved. Exit 0 when every entry
was rewritten, 1 when one failed, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from fedfleet import crdstore


def _download(module: str, version: str) -> dict:
    go = crdstore.find_go()
    if go is None:
        raise SystemExit("refresh-crds: no Go toolchain (go on PATH, /usr/local/go/bin or FEDFLEET_GO)")
    with tempfile.TemporaryDirectory() as cwd:
        proc = subprocess.run([go, "mod", "download", "-json", f"{module}@{version}"], cwd=cwd, capture_output=True,
                              text=True, env=dict(os.environ, GO111MODULE="on", GOFLAGS="-mod=mod"))
    info = json.loads(proc.stdout or "{}")
    if info.get("Error") or not info.get("Dir"):
        raise SystemExit(f"refresh-crds: {info.get('Error') or proc.stderr.strip()}")
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("module", nargs="?", metavar="MODULE@VERSION")
    parser.add_argument("--commit", help="the upstream commit of MODULE@VERSION when the proxy records none")
    parser.add_argument("--git", metavar="OWNER/NAME=DIR", help="a checkout of a repository the proxy does not serve")
    parser.add_argument("--rev", default="HEAD", help="with --git: the revision to pin (default HEAD)")
    parser.add_argument("--lock", type=Path, default=crdstore.LOCK, help=argparse.SUPPRESS)  # tests
    args = parser.parse_args(argv)
    if bool(args.module) == bool(args.git):
        parser.error("give MODULE@VERSION or --git OWNER/NAME=DIR")
    entries = crdstore.read_lock(args.lock)
    failed = 0
    out: list[crdstore.Entry] = []
    if args.module:
        module, _, version = args.module.partition("@")
        if not version:
            parser.error("MODULE@VERSION: an exact version (the proxy serves no version lists)")
        mine = [e for e in entries if e.module == module]
        if not mine:
            parser.error(f"no lock entry names Go module {module}")
        info = _download(module, version)
        commit = (info.get("Origin") or {}).get("Hash") or args.commit
        if not commit:
            parser.error(f"the proxy records no commit for {module}@{version}: give --commit HASH")
        for e in entries:
            if e.module == module:
                file = Path(info["Dir"]) / (e.module_path or e.path)
                if not file.is_file():
                    print(f"refresh-crds: {module}@{version} has no {e.path}", file=sys.stderr)
                    failed += 1
                else:
                    e = dataclasses.replace(e, version=version, commit=commit, sha256=crdstore.sha256(file.read_bytes()))
                    print(f"{e.file}: {module}@{version} ({commit[:12]})")
            out.append(e)
    else:
        repo, _, directory = args.git.partition("=")
        if not directory or not any(e.repository == repo for e in entries):
            parser.error(f"--git {args.git}: OWNER/NAME=DIR of a repository in the lock")
        commit = subprocess.run(["git", "-C", directory, "rev-parse", f"{args.rev}^{{commit}}"], capture_output=True,
                                text=True, check=True).stdout.strip()
        for e in entries:
            if e.repository == repo:
                done = subprocess.run(["git", "-C", directory, "show", f"{commit}:{e.path}"], capture_output=True)
                if done.returncode:
                    print(f"refresh-crds: {repo}@{commit[:12]} has no {e.path}", file=sys.stderr)
                    failed += 1
                else:
                    e = dataclasses.replace(e, commit=commit, sha256=crdstore.sha256(done.stdout))
                    print(f"{e.file}: {repo}@{commit[:12]}")
            out.append(e)
    crdstore.write_lock(out, args.lock)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
