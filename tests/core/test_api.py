import subprocess
import sys

import oversight_lab


def test_every_public_name_resolves():
    for name in oversight_lab.__all__:
        assert getattr(oversight_lab, name) is not None, name


def test_importing_the_package_does_not_load_torch():
    code = "import sys, oversight_lab, oversight_lab.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
