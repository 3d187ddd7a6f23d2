#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image (with internet).
# Choose the "Ubuntu 24.04" base image (Python 3.12) in the autograder settings: the course
# needs Python >= 3.11. Installs CPU PyTorch and the course's dependencies into a virtualenv.
set -euo pipefail

apt-get update -qq
apt-get install -y -qq python3 python3-venv python3-pip > /dev/null

if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "setup.sh: the course needs Python >= 3.11, this image has $(python3 --version)." >&2
    echo "Pick a newer base image (Ubuntu 24.04) in Gradescope's autograder settings." >&2
    exit 1
fi

python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --quiet --upgrade pip
# CPU wheels: the +cpu builds on PyTorch's index outrank PyPI's (CUDA) ones, and are far smaller
/autograder/venv/bin/pip install --quiet \
    --extra-index-url https://download.pytorch.org/whl/cpu \
    -e /autograder/source/course

# fail the image build now, not the first submission, if something is missing
cd /autograder/source/course
/autograder/venv/bin/python -m pytest checks --collect-only -q -p no:cacheprovider > /dev/null
echo "setup.sh: the Boxes & Masks autograder is ready."
