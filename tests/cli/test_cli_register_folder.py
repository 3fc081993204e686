"""One rule for where a class's module is found: ``pydcom register`` imports it from the current
folder first (as ``python -m`` does) and records that folder; the server process and in-process
activation import it from the recorded folder, wherever they were started."""

from __future__ import annotations

import subprocess
import sys
import uuid

from tests.cli.support import Result, assert_failed, stop
from tests.runtime.support import subprocess_env

MODULE = '''
import pydcom

@pydcom.coclass(clsid="{CLSID}", progid="Folder.Calc")
class FolderCalc:
    def Twice(self, x: int) -> int:
        return 2 * x
'''


def cli(*args: str, cwd, registry) -> Result:
    done = subprocess.run([sys.executable, "-m", "pydcom", "--registry", str(registry), *args],
                          cwd=cwd, capture_output=True, text=True, timeout=60,
                          env=subprocess_env())
    return Result(done.returncode, done.stdout, done.stderr)


def make_module(folder) -> str:
    name = f"foldercalc_{uuid.uuid4().hex[:8]}"  # never importable from anywhere else
    folder.mkdir()
    (folder / f"{name}.py").write_text(MODULE.replace("{CLSID}", str(uuid.uuid4())))
    return f"{name}:FolderCalc"


def test_the_folder_is_recorded_and_used_in_process(tmp_path):
    folder, registry = tmp_path / "classes", tmp_path / "r.sqlite3"
    target = make_module(folder)
    done = cli("register", target, cwd=folder, registry=registry)
    assert done.code == 0 and done.out.strip().endswith(f"imported from {folder}"), done
    assert f'python_path = "{folder}"' in cli("show", "Folder.Calc", cwd="/", registry=registry).out
    assert cli("call", "Folder.Calc", "Twice", "21", cwd="/", registry=registry).out == "42\n"


def test_the_server_process_imports_from_the_recorded_folder(tmp_path):
    folder, registry = tmp_path / "classes", tmp_path / "r.sqlite3"
    assert cli("register", make_module(folder), cwd=folder, registry=registry).code == 0
    service = subprocess.Popen([sys.executable, "-m", "pydcom", "--registry", str(registry),
                                "serve", "--bind", "127.0.0.6", "--port", "0",
                                "--min-auth-level", "none",
                                "--ping-period", "30", "--short-ping-period"], cwd="/",
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=subprocess_env())
    try:
        line = service.stdout.readline()
        assert "listening on 127.0.0.6[" in line, (line, service)
        done = cli("call", "Folder.Calc", "Twice", "21", "--machine", line.split()[-1],
                   cwd="/", registry=registry)
        assert done.out == "42\n", done
    finally:
        stop(service)


def test_a_module_in_no_folder_it_looks_in_says_what_to_do(tmp_path):
    folder, registry = tmp_path / "classes", tmp_path / "r.sqlite3"
    target = make_module(folder)
    assert_failed(cli("register", target, cwd=tmp_path, registry=registry),
                  "ERROR_MOD_NOT_FOUND", "run pydcom register in the module's folder", "PYTHONPATH")
