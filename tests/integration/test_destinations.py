"""Destinations written through fileio.sync_file (ie_manifest ``dest``): a symbolic link there is
never followed for reading, diffing or backing up (the link itself is replaced), and a FIFO is a
clear error, not a hang. Real ansible-playbook runs."""
import json
import os

import pytest

SECRET_OUTSIDE = b'db_password = Never-Shown-4Kp\n'
FIELDS = dict(accessKeyId='AKIAIOSFODNN7EXAMPLE', deviceId='D1', bucket='b-1',
              returnAddress=dict(name='Jane Roe', street1='1 Main St', city='Seattle', stateOrProvince='WA',
                                 postalCode='98114', phoneNumber='206-555-0100', country='USA'))


def manifest_play(dest, timeout=30, **extra):
    args = dict(job_type='Import', fields=FIELDS, dest=str(dest), **extra)
    lines = ['    - name: Manifest', '      timeout: %d' % timeout, '      awsie.importexport.ie_manifest:']
    lines += ['        %s: %s' % (k, json.dumps(v)) for k, v in args.items()]
    return '- name: T\n  hosts: localhost\n  gather_facts: false\n  tasks:\n' + '\n'.join(lines) + '\n'


def test_manifest_dest_symlink_is_replaced_never_read_shown_or_backed_up(playbook, tmp_path):
    outside = tmp_path / 'outside.conf'
    outside.write_bytes(SECRET_OUTSIDE)
    out_dir = tmp_path / 'manifests'
    out_dir.mkdir()
    dest = out_dir / 'drive.yml'
    dest.symlink_to(outside)
    proc = playbook.run(manifest_play(dest, backup=True), check=True, diff=True, verbosity=2)
    assert b'Never-Shown' not in (proc.stdout + proc.stderr).encode()
    assert dest.is_symlink() and 'changed=1' in proc.stdout
    proc = playbook.run(manifest_play(dest, backup=True), diff=True, verbosity=2)
    assert b'Never-Shown' not in (proc.stdout + proc.stderr).encode()
    assert not dest.is_symlink() and dest.read_text().startswith('manifestVersion: 2.0\n')
    assert outside.read_bytes() == SECRET_OUTSIDE
    for name in os.listdir(out_dir):
        assert b'Never-Shown' not in (out_dir / name).read_bytes(), name


@pytest.mark.parametrize('check', [True, False])
def test_manifest_dest_fifo_is_a_clear_error_not_a_hang(playbook, tmp_path, check):
    dest = tmp_path / 'drive.yml'
    os.mkfifo(str(dest))
    try:
        proc = playbook.run(manifest_play(dest), check=check, expect_rc=2)
    finally:
        try:
            os.close(os.open(str(dest), os.O_WRONLY | os.O_NONBLOCK))  # release a blocked reader
        except OSError:
            pass
    assert 'cannot write %s: it is a FIFO (named pipe), not a regular file' % dest in proc.stdout
