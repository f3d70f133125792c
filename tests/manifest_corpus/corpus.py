"""The bad-manifest corpus: committed files plus the few made at test time (raw bytes)."""
import os

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
GOOD = os.path.join(HERE, 'good')
BAD = os.path.join(HERE, 'bad')
GOOD_KINDS = {'s3-import': ('Import', 's3'), 's3-export': ('Export', 's3'),
              'ebs': ('Import', 'ebs'), 'glacier': ('Import', 'glacier')}


def cases():
    with open(os.path.join(HERE, 'cases.yml')) as handle:
        return yaml.safe_load(handle)


def good_bytes(name):
    with open(os.path.join(GOOD, name + '.yml'), 'rb') as handle:
        return handle.read()


def generated_bytes(name):
    """Bytes of the corpus entries that cannot be committed as text files."""
    good = good_bytes('s3-import')
    if name == 'non-utf8.manifest':
        return good.replace(b'name: Joe Random', b'name: Jos\xe9 Random')  # Latin-1, not UTF-8
    if name == 'nul-byte.manifest':
        return good.replace(b'name: Joe Random', b'name: Joe\x00Random')
    if name == 'ten-megabytes.manifest':
        filler = b'# ' + b'x' * 1021 + b'\n'
        return good + filler * (10 * 1024)
    raise KeyError(name)


def case_bytes(name):
    path = os.path.join(BAD, name)
    if os.path.exists(path):
        with open(path, 'rb') as handle:
            return handle.read()
    return generated_bytes(name)


def materialise(directory):
    """Write every bad manifest into ``directory``; returns {file name: case}."""
    all_cases = cases()
    for name in all_cases:
        with open(os.path.join(directory, name), 'wb') as handle:
            handle.write(case_bytes(name))
    return all_cases
