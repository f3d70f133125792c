#!/usr/bin/env bash
# Set up a fresh machine for `make test` / `make demo`: Debian packages (as root), then
# .venv with the pinned Python dependencies, then the offline stand-in ansible-test needs.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(dosfstools ntfs-3g fusefat exfat-fuse exfatprogs mtools fdisk udev rsync shellcheck openssl util-linux e2fsprogs openssh-server openssh-client iproute2 dovecot-imapd poppler-utils graphviz chromium)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup: missing Debian packages: ${missing[*]} (run as root or install them)" >&2
        exit 1
    fi
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3.11}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements/dev.txt 2>&1 | grep -v "is ignored: it is neither a file nor a directory" || true
.venv/bin/python -m pip check >/dev/null || { .venv/bin/python -m pip check; exit 1; }
if [ -f service/pyproject.toml ]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e service 2>&1 | grep -v "is ignored" || true
fi

# ansible-test fetches a get-pip script from a host that is not reachable here.
pip_version=$(.venv/bin/python -c 'import re,ansible_test,os;p=os.path.join(os.path.dirname(ansible_test.__file__),"_internal","python_requirements.py");print(re.search(r"pip=.(\d+\.\d+)",open(p).read()).group(1))')
cache=~/.ansible/test/cache/get_pip_${pip_version//./_}.py
mkdir -p "$(dirname "$cache")"
cp scripts/get_pip_standin.py "$cache"
touch .venv/.installed
