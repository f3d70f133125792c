"""ie_signature on real loop-mounted drives, through real ansible-playbook runs."""
import base64
import json
import os
import subprocess

import pytest

from ansible_collections.awsie.importexport.plugins.module_utils import signing

HERE = os.path.join(os.path.dirname(__file__), 'targets', 'ie_signature')
MANIFEST_LF = os.path.join(HERE, 'files', 'manifest-lf.yml')
SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'


def openssl_signature(job_id, manifest_bytes, secret=SECRET):
    data = job_id.encode() + b'\n' + manifest_bytes.replace(b'\r\n', b'\n')
    out = subprocess.run(['openssl', 'dgst', '-sha1', '-hmac', secret, '-binary'], input=data,
                         capture_output=True, check=True).stdout
    return base64.b64encode(out).decode()


def signature_task(dest, extra='', **args):
    lines = ['    - name: Signature', '      awsie.importexport.ie_signature:', '        dest: %s' % dest]
    lines += ['        %s: %s' % (k, json.dumps(v)) for k, v in args.items()]
    return ('- name: T\n  hosts: localhost\n  gather_facts: false\n  tasks:\n' + '\n'.join(lines) + '\n' + extra)


@pytest.mark.parametrize('fstype', ['ext4', 'fat32'])
def test_four_step_check_writes_the_openssl_signature(loop_drive, playbook, tmp_path, fstype):
    drive = loop_drive(fstype)
    result_file = str(tmp_path / 'result.json')
    playbook.run(os.path.join(HERE, 'four_step.yml'), extra_vars=dict(
        drive=drive.mountpoint, job_id='53xty', manifest=MANIFEST_LF, secret=SECRET, result_file=result_file))
    with open(MANIFEST_LF, 'rb') as handle:
        manifest = handle.read()
    expected_sig = openssl_signature('53XTY', manifest)
    with open(os.path.join(drive.mountpoint, 'SIGNATURE'), 'rb') as handle:
        on_drive = handle.read()
    assert on_drive == ('version: 1.0\nsigningMethod: HmacSHA1\njobId: 53XTY\nsignature: %s\n' % expected_sig).encode()
    assert json.load(open(result_file))['signature'] == expected_sig
    # Nothing but the SIGNATURE was left in the drive root (no temporary files).
    assert sorted(n for n in os.listdir(drive.mountpoint) if n != 'lost+found') == ['SIGNATURE']


def test_crlf_manifest_gives_the_same_file_and_one_byte_changes_it(loop_drive, playbook, tmp_path):
    drive = loop_drive('ext4')
    lf = open(MANIFEST_LF, 'rb').read()
    crlf = tmp_path / 'crlf.yml'
    crlf.write_bytes(lf.replace(b'\n', b'\r\n'))
    changed = tmp_path / 'changed.yml'
    changed.write_bytes(lf.replace(b'my-import-bucket', b'my-import-buckeT'))
    args = dict(job_id='X452D', secret_key=SECRET)
    playbook.run(signature_task(drive.mountpoint, manifest_src=MANIFEST_LF, **args))
    first = open(os.path.join(drive.mountpoint, 'SIGNATURE'), 'rb').read()
    proc = playbook.run(signature_task(drive.mountpoint, manifest_src=str(crlf), **args))
    assert 'changed=0' in proc.stdout
    assert open(os.path.join(drive.mountpoint, 'SIGNATURE'), 'rb').read() == first
    proc = playbook.run(signature_task(drive.mountpoint, manifest_src=str(changed), **args), diff=True)
    assert 'changed=1' in proc.stdout
    second = open(os.path.join(drive.mountpoint, 'SIGNATURE'), 'rb').read()
    assert second != first
    assert signing.parse_signature_file(second)['signature'] == openssl_signature('X452D', changed.read_bytes())
    # Diff mode shows the old and new signature lines.
    assert '-signature: ' in proc.stdout and '+signature: ' in proc.stdout


def test_signature_file_contents_are_written_verbatim_on_ntfs(loop_drive, playbook):
    drive = loop_drive('ntfs')
    contents = 'version:2.0\nsigningMethod:HmacSHA1\njobId:WXSPP\nsignature:jLbLVp54vBa/vuh/XW1MOMdZUxw=\n'
    playbook.run(signature_task(drive.mountpoint, signature_file_contents=contents))
    assert open(os.path.join(drive.mountpoint, 'SIGNATURE'), 'rb').read() == contents.encode()


def test_check_mode_flags_a_wrong_signature_and_leaves_it(loop_drive, playbook):
    drive = loop_drive('ext4')
    path = os.path.join(drive.mountpoint, 'SIGNATURE')
    stale = signing.build_signature_file(SECRET, 'ABCDE', b'manifestVersion: 2.0\nbucket: other\n')
    open(path, 'wb').write(stale)
    verify = ('    - name: Fail if the SIGNATURE is not the expected one\n'
              '      ansible.builtin.assert:\n        that: [result is not changed]\n')
    pb = signature_task(drive.mountpoint, job_id='ABCDE', manifest_src=MANIFEST_LF, secret_key=SECRET)
    pb = pb.replace('      awsie.importexport', '      check_mode: true\n      register: result\n      awsie.importexport') + verify
    proc = playbook.run(pb, expect_rc=2)
    assert 'Fail if the SIGNATURE is not the expected one' in proc.stdout
    assert open(path, 'rb').read() == stale


def test_absent_removes_and_backup_keeps_a_copy(loop_drive, playbook):
    drive = loop_drive('ext4')
    path = os.path.join(drive.mountpoint, 'SIGNATURE')
    playbook.run(signature_task(drive.mountpoint, job_id='ABCDE', manifest_src=MANIFEST_LF, secret_key=SECRET))
    playbook.run(signature_task(drive.mountpoint, state='absent', backup=True))
    assert not os.path.exists(path)
    backups = [n for n in os.listdir(drive.mountpoint) if n.startswith('SIGNATURE.')]
    assert len(backups) == 1
    proc = playbook.run(signature_task(drive.mountpoint, state='absent'))
    assert 'changed=0' in proc.stdout


def test_secret_never_reaches_the_host_or_the_output(loop_drive, playbook, tmp_path):
    drive = loop_drive('ext4')
    secret = 'Zq9-very-distinctive-secret-7Wm'
    remote_tmp = tmp_path / 'remote-tmp'
    proc = playbook.run(signature_task(drive.mountpoint, job_id='ABCDE', manifest_src=MANIFEST_LF, secret_key=secret),
                        verbosity=4, env={'ANSIBLE_KEEP_REMOTE_FILES': '1', 'ANSIBLE_REMOTE_TMP': str(remote_tmp)})
    assert secret not in proc.stdout + proc.stderr
    kept = [os.path.join(d, f) for d, _dirs, files in os.walk(remote_tmp) for f in files]
    assert kept, 'ANSIBLE_KEEP_REMOTE_FILES kept nothing: the test would prove nothing'
    for name in kept:
        with open(name, 'rb') as handle:
            blob = handle.read()
        assert secret.encode() not in blob
        assert base64.b64encode(secret.encode()) not in blob
    for name in os.listdir(drive.mountpoint):
        if os.path.isfile(os.path.join(drive.mountpoint, name)):
            assert secret.encode() not in open(os.path.join(drive.mountpoint, name), 'rb').read()
    # The AnsiballZ payload is a zip; the module args are in it, so unpack and look there too.
    import zipfile
    import io
    import re
    for name in kept:
        data = open(name, 'rb').read()
        for match in re.finditer(rb"ZIPDATA = (?:b)?'''([A-Za-z0-9+/=\n]+)'''", data):
            archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(match.group(1))))
            for member in archive.namelist():
                assert secret.encode() not in archive.read(member)


@pytest.mark.parametrize('case,args,message', [
    ('bad job id', dict(job_id='ABCOD'), 'except the letter O'),
    ('empty manifest', dict(job_id='ABCDE', manifest_content=''), 'manifest is empty'),
    ('invalid yaml', dict(job_id='ABCDE', manifest_content='a: [b\n'), 'not valid YAML'),
    ('not a mapping', dict(job_id='ABCDE', manifest_content='- a\n- b\n'), 'must be a mapping'),
    ('ebs manifest', dict(job_id='ABCDE', manifest_content='manifestVersion: 3.0\ndeviceId: x\n'), 'barcode'),
    ('no secret', dict(job_id='ABCDE', manifest_content='manifestVersion: 2.0\n', secret_key=None), 'secret_key is required'),
    ('two sources', dict(job_id='ABCDE', manifest_content='manifestVersion: 2.0\n', signature_file_contents='x'),
     'mutually exclusive: manifest_src|manifest_content|signature_file_contents'),
    ('no source', dict(job_id='ABCDE', manifest_src=None), 'exactly one of manifest_src, manifest_content'),
])
def test_bad_input_is_a_clear_error_and_nothing_is_written(loop_drive, playbook, case, args, message):
    drive = loop_drive('ext4')
    args = dict({'secret_key': SECRET, 'manifest_src': MANIFEST_LF}, **args)
    if 'manifest_content' in args or 'signature_file_contents' in args:
        args.pop('manifest_src')
    args = {k: v for k, v in args.items() if v is not None}
    proc = playbook.run(signature_task(drive.mountpoint, **args), expect_rc=2, env={'AWS_SECRET_ACCESS_KEY': ''})
    assert message in proc.stdout, case
    assert not os.path.exists(os.path.join(drive.mountpoint, 'SIGNATURE'))


def test_dest_problems_are_clear_errors(loop_drive, playbook, tmp_path):
    args = dict(job_id='ABCDE', manifest_src=MANIFEST_LF, secret_key=SECRET)
    proc = playbook.run(signature_task(str(tmp_path / 'missing'), **args), expect_rc=2)
    assert 'does not exist or is not a directory' in proc.stdout
    plain = tmp_path / 'plain'
    plain.mkdir()
    proc = playbook.run(signature_task(str(plain), **args), expect_rc=2)
    assert 'is not a mount point' in proc.stdout
    assert not (plain / 'SIGNATURE').exists()
    playbook.run(signature_task(str(plain), require_mount=False, **args))
    assert (plain / 'SIGNATURE').exists()


def test_read_only_file_system_fails_and_keeps_the_old_file(loop_drive, playbook):
    drive = loop_drive('ext4')
    old = b'version: 1.0\nsigningMethod: HmacSHA1\njobId: ABCDE\nsignature: old=\n'
    open(os.path.join(drive.mountpoint, 'SIGNATURE'), 'wb').write(old)
    subprocess.run(['mount', '-o', 'remount,ro', drive.mountpoint], check=True)
    proc = playbook.run(signature_task(drive.mountpoint, job_id='ABCDE', manifest_src=MANIFEST_LF, secret_key=SECRET),
                        expect_rc=2)
    assert 'read-only' in proc.stdout
    assert open(os.path.join(drive.mountpoint, 'SIGNATURE'), 'rb').read() == old


def fill_up(mountpoint, rounds=50):
    """Fill every free block (as root, reserved blocks too) until a new small file cannot be
    written: ext4 gives back a closed file's preallocated blocks, so one pass was not always
    enough (CI once wrote the SIGNATURE on the "full" drive)."""
    for index in range(rounds):
        for chunk in (65536, 4096):
            try:
                with open(os.path.join(mountpoint, 'filler%d-%d' % (index, chunk)), 'wb') as handle:
                    while True:
                        handle.write(b'\0' * chunk)
                        handle.flush()
                        os.fsync(handle.fileno())
            except OSError:
                pass
        try:
            with open(os.path.join(mountpoint, 'probe%d' % index), 'wb') as handle:
                handle.write(b'x' * 200)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError:
            return
    raise AssertionError('%s never filled up' % mountpoint)


def test_full_file_system_fails_and_keeps_the_old_file(loop_drive, playbook):
    drive = loop_drive('ext4', size_mb=8)
    path = os.path.join(drive.mountpoint, 'SIGNATURE')
    old = b'version: 1.0\nsigningMethod: HmacSHA1\njobId: ABCDE\nsignature: old=\n'
    open(path, 'wb').write(old)
    fill_up(drive.mountpoint)
    proc = playbook.run(signature_task(drive.mountpoint, job_id='ABCDE', manifest_src=MANIFEST_LF, secret_key=SECRET),
                        expect_rc=2)
    assert 'no space left' in proc.stdout
    assert open(path, 'rb').read() == old
    assert not [n for n in os.listdir(drive.mountpoint) if n.endswith('.tmp')]


# --- Hardening (issue 14 items 1, 5, 7, 8, 14; issue 8) --------------------------------------
OUTSIDE_SECRET = b'aws_secret_access_key = Outside-The-Drive-7Qx\n'
CONTENTS_V2 = 'version:2.0\nsigningMethod:HmacSHA1\njobId:WXSPP\nsignature:jLbLVp54vBa/vuh/XW1MOMdZUxw=\n'


def guarded(task_yaml, seconds=30):
    """A task with a task timeout, so a module that blocks fails the play instead of the suite."""
    return task_yaml.replace('      awsie.importexport', '      timeout: %d\n      awsie.importexport' % seconds, 1)


def unblock_fifo(path):
    """Open the FIFO for writing and close it: a reader blocked on it (before the fix) gets EOF."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return  # no reader
    os.close(fd)


def drive_files(root):
    for directory, _dirs, files in os.walk(root):
        for name in files:
            yield os.path.join(directory, name)


def test_signature_symlink_to_a_file_outside_the_drive_is_never_read_shown_or_copied(loop_drive, playbook, tmp_path):
    drive = loop_drive('ext4')
    outside = tmp_path / 'host-secrets'
    outside.write_bytes(OUTSIDE_SECRET)
    path = os.path.join(drive.mountpoint, 'SIGNATURE')
    os.symlink(str(outside), path)
    args = dict(signature_file_contents=CONTENTS_V2, backup=True)
    proc = playbook.run(signature_task(drive.mountpoint, **args), check=True, diff=True, verbosity=2)
    assert b'Outside-The-Drive' not in (proc.stdout + proc.stderr).encode()
    assert 'changed=1' in proc.stdout and os.path.islink(path)
    proc = playbook.run(signature_task(drive.mountpoint, **args), diff=True, verbosity=2)
    assert b'Outside-The-Drive' not in (proc.stdout + proc.stderr).encode()
    assert 'is a symbolic link; the link itself was replaced by a regular file' in proc.stdout + proc.stderr
    assert not os.path.islink(path) and open(path).read() == CONTENTS_V2
    assert outside.read_bytes() == OUTSIDE_SECRET
    for name in drive_files(drive.mountpoint):
        assert b'Outside-The-Drive' not in open(name, 'rb').read(), name
    # state=absent removes a link itself, never its target
    os.unlink(path)
    os.symlink(str(outside), path)
    playbook.run(signature_task(drive.mountpoint, state='absent', backup=True), diff=True)
    assert not os.path.lexists(path) and outside.read_bytes() == OUTSIDE_SECRET
    assert [n for n in os.listdir(drive.mountpoint) if n.startswith('SIGNATURE')] == []


@pytest.mark.parametrize('check', [True, False])
def test_a_fifo_as_signature_is_a_clear_error_not_a_hang(loop_drive, playbook, check):
    drive = loop_drive('ext4')
    path = os.path.join(drive.mountpoint, 'SIGNATURE')
    os.mkfifo(path)
    try:
        proc = playbook.run(guarded(signature_task(drive.mountpoint, signature_file_contents=CONTENTS_V2)),
                            check=check, expect_rc=2)
    finally:
        unblock_fifo(path)
    assert 'cannot write %s: it is a FIFO (named pipe), not a regular file' % path in proc.stdout
    assert 'timed out' not in proc.stdout


def test_a_directory_as_signature_is_a_clear_error(loop_drive, playbook):
    drive = loop_drive('ext4')
    os.mkdir(os.path.join(drive.mountpoint, 'SIGNATURE'))
    for check in (True, False):
        proc = playbook.run(signature_task(drive.mountpoint, signature_file_contents=CONTENTS_V2), check=check,
                            expect_rc=2)
        assert 'it is a directory, not a regular file; remove it' in proc.stdout
        assert 'Traceback' not in proc.stdout + proc.stderr and 'MODULE FAILURE' not in proc.stdout


def test_a_huge_sparse_signature_is_not_read_and_is_not_a_valid_signature(loop_drive, playbook, tmp_path):
    import resource
    drive = loop_drive('ext4', size_mb=64)
    path = os.path.join(drive.mountpoint, 'SIGNATURE')
    with open(path, 'wb') as handle:
        handle.truncate(1024 ** 3)  # 1 GiB, sparse
    out = tmp_path / 'result.json'
    save = ('    - name: Save\n      ansible.builtin.copy:\n        content: "{{ result | to_json }}"\n'
            '        dest: %s\n      check_mode: false\n' % out)
    pb = signature_task(drive.mountpoint, extra=save, signature_file_contents=CONTENTS_V2)
    pb = pb.replace('      awsie.importexport', '      register: result\n      awsie.importexport')
    proc = playbook.run(pb, check=True, diff=True)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = json.loads(out.read_text())
    assert result['changed'] is True and result['previous_matched'] is False
    assert result['before_kind'] == 'too_large'
    assert 'is larger than 65536 bytes, so it is not a valid SIGNATURE' in proc.stdout + proc.stderr
    assert peak_kib < 400 * 1024, 'a process of the run peaked at %d KiB' % peak_kib
    assert os.path.getsize(path) == 1024 ** 3  # check mode left it


def test_a_10_mb_manifest_content_is_refused_like_a_too_big_manifest_file(loop_drive, playbook, tmp_path):
    drive = loop_drive('ext4')
    big = tmp_path / 'big.yml'
    big.write_text('manifestVersion: 2.0\nbucket: b\naccessKeyId: AKIAIOSFODNN7EXAMPLE\nnotes: "%s"\n'
                   % ('x' * (10 * 1024 * 1024)))
    pb = signature_task(drive.mountpoint, job_id='ABCDE', secret_key=SECRET)
    pb = pb.replace('        job_id:', '        manifest_content: "{{ lookup(\'file\', \'%s\') }}"\n        job_id:' % big)
    proc = playbook.run(pb, expect_rc=2)
    assert 'limit is 1048576 (1 MiB)' in proc.stdout
    assert not os.path.exists(os.path.join(drive.mountpoint, 'SIGNATURE'))


def test_backup_on_fat_keeps_the_old_signature_under_a_name_fat_accepts(loop_drive, playbook):
    drive = loop_drive('fat32')
    old = CONTENTS_V2.replace('WXSPP', 'ABCDE')
    playbook.run(signature_task(drive.mountpoint, signature_file_contents=old))
    proc = playbook.run(signature_task(drive.mountpoint, signature_file_contents=CONTENTS_V2, backup=True))
    assert 'changed=1' in proc.stdout
    backups = [n for n in os.listdir(drive.mountpoint) if n.startswith('SIGNATURE.')]
    assert len(backups) == 1 and ':' not in backups[0] and backups[0].endswith('~')
    assert open(os.path.join(drive.mountpoint, backups[0])).read() == old
    assert open(os.path.join(drive.mountpoint, 'SIGNATURE')).read() == CONTENTS_V2


# --- docs/signature.md's verification recipe, as written, on drives drive_prepare prepared --------
DOC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'docs', 'signature.md')
PREPARE = os.path.join(os.path.dirname(DOC), '..', 'playbooks', 'prepare_drives.yml')


def doc_recipe():
    """The first YAML block of the section "Verifying drives before shipping", verbatim."""
    text = open(DOC).read()
    section = text[text.index('## Verifying drives before shipping'):]
    return section.split('```yaml\n', 1)[1].split('```', 1)[0]


def test_the_verification_recipe_of_the_docs(loop_drive, playbook, ie_service, tmp_path):
    bucket = ie_service.new_bucket('verify')
    drive = loop_drive('ext4', size_mb=24, mount=False)
    data = tmp_path / 'data'
    data.mkdir()
    (data / 'a.txt').write_text('alpha\n')
    address = {'name': 'Test Operator', 'street1': '1 Test St', 'city': 'Seattle', 'stateOrProvince': 'WA',
               'postalCode': '98104', 'phoneNumber': '206-555-0100', 'country': 'USA'}
    group_vars = dict(drive_prepare_manifest_dir=str(tmp_path / 'manifests'), drive_prepare_endpoint_url=ie_service.url,
                      drive_prepare_access_key=ie_service.access_key, drive_prepare_secret_key=ie_service.secret_key,
                      drive_prepare_manifest_defaults={'accessKeyId': ie_service.access_key, 'eraseDevice': True,
                                                       'returnAddress': address})
    inv = tmp_path / 'hosts.yml'
    inv.write_text(json.dumps({'ie_drive_hosts': {'vars': group_vars, 'hosts': {'host1': {
        'ansible_connection': 'local', 'ansible_python_interpreter': '{{ ansible_playbook_python }}',
        'drive_prepare_mount_root': str(tmp_path / 'mnt'),
        'drive_prepare_drives': [{'name': 'd1', 'device': drive.device, 'data_src': str(data),
                                  'manifest': {'bucket': bucket}}]}}}}))
    playbook.run(PREPARE, inventory=str(inv))
    assert not os.path.ismount(str(tmp_path / 'mnt' / 'd1'))  # the role gave the drive back

    recipe = doc_recipe()
    where = dict(verify_mount_root=str(tmp_path / 'verify'))  # not /mnt on the test machine
    proc = playbook.run(recipe, inventory=str(inv), extra_vars=where, args=['--diff'])
    assert 'failed=0' in proc.stdout and 'changed=0' in proc.stdout
    assert not os.path.ismount(str(tmp_path / 'verify' / 'd1'))

    # A drive whose SIGNATURE is not the expected one (here: signed for another manifest) fails the
    # check, and is given back too.
    sheet_path = tmp_path / 'manifests' / 'host1-jobs.json'
    sheet = json.loads(sheet_path.read_text())
    other = tmp_path / 'other-manifest.yml'
    other.write_bytes(open(sheet[0]['manifest'], 'rb').read().replace(bucket.encode(), bucket.encode() + b'-x'))
    sheet[0]['manifest'] = str(other)
    sheet_path.write_text(json.dumps(sheet))
    proc = playbook.run(recipe, inventory=str(inv), extra_vars=where, expect_rc=2)
    assert "Compare each drive's SIGNATURE with the expected one" in proc.stdout and 'failed=1' in proc.stdout
    assert not os.path.ismount(str(tmp_path / 'verify' / 'd1'))
