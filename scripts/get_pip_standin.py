"""Offline stand-in for ansible-test's get-pip bootstrap script.

ansible-test downloads get-pip from a host this machine cannot reach. This script does the
same job from what Python ships: ensurepip (in a subprocess, so PIP_CONFIG_FILE=/dev/null
set by ensurepip does not leak into the real install), then pip install with the arguments
ansible-test gave, minus the get-pip-only flags.
"""
import subprocess
import sys

DROP = {'--no-setuptools', '--no-wheel'}


def main():
    subprocess.run([sys.executable, '-m', 'ensurepip', '--upgrade'], check=True, stdout=subprocess.DEVNULL)
    args = [a for a in sys.argv[1:] if a not in DROP]
    if args:
        sys.exit(subprocess.run([sys.executable, '-m', 'pip', 'install'] + args, check=False).returncode)


if __name__ == '__main__':
    main()
