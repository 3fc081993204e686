"""A Registry in a process of its own, for a test to run as another account and drive by
lines on stdin: "look" answers what ``refresh()`` shows, "write" what a register gets.
Each answer is one JSON line on stdout."""

from __future__ import annotations

import json
import sys

from pydcom.hresult import ComError
from pydcom.registry import ClassEntry, Registry

CLSID = "{0F8E5C2A-5555-4A2B-9C3D-000000000001}"


def main(path: str) -> None:
    with Registry(path, refresh_interval=0) as reg:
        for line in sys.stdin:
            if line.strip() == "look":
                snapshot = reg.refresh()
                answer = {"read_only": reg.read_only, "generation": snapshot.generation,
                          "progids": sorted(e.progid for e in snapshot.classes.values())}
            else:
                try:
                    reg.register(ClassEntry(CLSID, progid="Reader.Write"))
                    answer = {"hresult": 0}
                except ComError as exc:
                    answer = {"hresult": exc.hresult, "error": str(exc)}
            print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
