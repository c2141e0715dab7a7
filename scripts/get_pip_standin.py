"""Stand-in for the pip bootstrap script that `ansible-test --venv` downloads from a host this
network cannot reach. ansible-test runs it as `python get_pip.py [pip install options] packages`
inside a fresh venv; we bootstrap pip from the standard library (ensurepip) and then install
what was asked with that pip, through the usual package index.
"""

import subprocess
import sys

DROPPED = {"--no-setuptools", "--no-wheel"}

subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
args = [a for a in sys.argv[1:] if a not in DROPPED]
if args:
    subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)
