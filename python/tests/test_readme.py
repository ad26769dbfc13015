"""The README's Python example: the same text as python/examples/quickstart.py, and it runs."""
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "python" / "examples" / "quickstart.py"


def test_readme_copy_matches_the_example():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Python\n", 1)[1]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "README.md's Python section has no python block"
    assert blocks[0] == EXAMPLE.read_text()


def test_example_runs():
    pytest.importorskip("torch")
    r = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True,
                       timeout=300, cwd=ROOT / "build" if (ROOT / "build").is_dir() else None)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["y", "=", "[-0.6", "-0.4", "-0.2", "0.", "1.", "2.", "3.", "]"]
    assert lines[1].split() == ["dydx", "=", "[0.2", "0.2", "0.2", "0.2", "1.", "1.", "1.", "]"]
    assert lines[2].startswith("grad norm ") and float(lines[2].split()[2]) > 0
