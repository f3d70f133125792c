"""ie_manifest through real ansible-playbook runs: four-step check, the bad-manifest corpus,
secrets at every verbosity, atomic and idempotent writes on loop-mounted drives."""
import json
import os

import pytest

from tests.manifest_corpus import corpus

HERE = os.path.join(os.path.dirname(__file__), 'targets', 'ie_manifest')
PASSWORD = 'Tr0ub4dor&3-horse-staple'
PIN = '918273'


def task(body, extra=''):
    return ('- name: T\n  hosts: localhost\n  gather_facts: false\n  tasks:\n' + body + extra)


def manifest_task(register='out', ignore_errors=False, **args):
    lines = ['    - name: Manifest', '      awsie.importexport.ie_manifest:']
    lines += ['        %s: %s' % (k, json.dumps(v)) for k, v in args.items()]
    lines.append('      register: %s' % register)
    if ignore_errors:
        lines.append('      ignore_errors: true')
    return '\n'.join(lines) + '\n'


def dump_task(var, path):
    return ('    - name: Save\n      ansible.builtin.copy:\n        content: "{{ %s | to_json }}"\n'
            '        dest: %s\n' % (var, path))


@pytest.mark.parametrize('fstype', [None, 'fat32'])
def test_four_step_check(loop_drive, playbook, tmp_path, fstype):
    if fstype:
        directory = loop_drive(fstype).mountpoint
    else:
        directory = str(tmp_path / 'plain')
        os.mkdir(directory)
    dest = os.path.join(directory, 'manifest.yml')
    playbook.run(os.path.join(HERE, 'four_step.yml'), extra_vars=dict(dest=dest, password=PASSWORD))
    data = open(dest, 'rb').read()
    assert data.startswith(b'manifestVersion: 2.0\naccessKeyId: AKIAIOSFODNN7EXAMPLE\ndeviceId: "0012"\n')
    assert b'\ntrueCryptPassword: ' + PASSWORD.encode() + b'\n' in data
    # Nothing else was left next to it (no temporary files).
    assert sorted(n for n in os.listdir(directory) if n != 'lost+found') == ['manifest.yml']


def test_every_corpus_manifest_fails_naming_its_field_and_writes_nothing(playbook, tmp_path):
    srcdir, outdir = tmp_path / 'src', tmp_path / 'out'
    srcdir.mkdir()
    outdir.mkdir()
    cases = corpus.materialise(str(srcdir))
    keep = outdir / 's3-import-po-box.manifest'
    keep.write_bytes(b'old content\n')  # an existing file must stay as it was
    items = [dict(name=name, job_type=case['job_type'], kind=case['kind']) for name, case in sorted(cases.items())]
    body = ('    - name: Check every bad manifest\n'
            '      awsie.importexport.ie_manifest:\n'
            '        src: "%s/{{ item.name }}"\n'
            '        dest: "%s/{{ item.name }}"\n'
            '        job_type: "{{ item.job_type }}"\n'
            '        kind: "{{ item.kind }}"\n'
            '      loop: "{{ items }}"\n'
            '      loop_control:\n        label: "{{ item.name }}"\n'
            '      register: checked\n'
            '      ignore_errors: true\n') % (srcdir, outdir)
    results_file = tmp_path / 'results.json'
    playbook.run(task(body + dump_task('checked.results', results_file)), extra_vars=dict(items=items))
    results = {r['item']['name']: r for r in json.loads(results_file.read_text())}
    assert len(results) == len(cases) >= 40
    for name, case in cases.items():
        result = results[name]
        assert result.get('failed') is True, name
        assert result['changed'] is False, name
        assert case['path'] in result['msg'], (name, result['msg'])
        assert any(p['path'] == case['path'] and p['code'] == case['code'] for p in result['problems']), name
    assert sorted(os.listdir(outdir)) == ['s3-import-po-box.manifest']
    assert keep.read_bytes() == b'old content\n'


def test_secrets_are_never_printed_at_any_verbosity(playbook, tmp_path):
    dest = tmp_path / 'export.yml'
    with open(os.path.join(corpus.GOOD, 's3-export.yml')) as handle:
        text = handle.read().replace('correct horse battery staple', PASSWORD)
    text = text.replace('logPrefix: logs/', 'logPrefix: logs/\npinCode: "%s"' % PIN)
    src = tmp_path / 'src.yml'
    src.write_text(text)
    bad = tmp_path / 'bad.yml'
    bad.write_text(text.replace('fileSystem: NTFS', 'fileSystem: NTFZ'))
    fields = dict(accessKeyId='AKIAIOSFODNN7EXAMPLE', deviceId='D1', fileSystem='EXT4', logBucket='logs-1',
                  pinCode=PIN, trueCryptPassword=PASSWORD, operations=[dict(exportBucket='b-1')],
                  returnAddress=dict(name='J', street1='1 Main St', city='Berlin', postalCode='10115',
                                     phoneNumber='+49 30 123456', country='Germany'))
    body = (manifest_task('a', job_type='Export', src=str(src), dest=str(dest))
            + manifest_task('b', job_type='Export', fields=fields, dest=str(tmp_path / 'fields.yml'))
            + manifest_task('c', job_type='Export', src=str(bad), dest=str(tmp_path / 'bad-out.yml'),
                            ignore_errors=True)
            + '    - name: Show\n      ansible.builtin.debug:\n        var: a\n')
    env = dict(ANSIBLE_KEEP_REMOTE_FILES='0')
    for verbosity in (0, 4):
        dest.unlink(missing_ok=True)
        proc = playbook.run(task(body), diff=True, verbosity=verbosity, env=env)
        out = proc.stdout + proc.stderr
        assert PASSWORD not in out and PIN not in out, 'secret printed at -%s' % ('v' * verbosity)
        assert '********' in out
        assert 'NTFZ' in out  # the failing task did report its problem
        # The written files do carry them: the service needs them.
        assert ('trueCryptPassword: %s' % PASSWORD) in dest.read_text()
        assert ('pinCode: "%s"' % PIN) in (tmp_path / 'fields.yml').read_text()
    assert not (tmp_path / 'bad-out.yml').exists()


def test_numbers_for_text_fields_are_refused_with_how_to_quote(playbook, tmp_path):
    fields = dict(accessKeyId='AKIAIOSFODNN7EXAMPLE', deviceId=12, bucket='b-1',
                  returnAddress=dict(name='J', street1='1 Main St', city='Boston', stateOrProvince='MA',
                                     postalCode=2134, phoneNumber='617-555-0100', country='USA'))
    out = tmp_path / 'out.json'
    proc = playbook.run(task(manifest_task(fields=fields, dest=str(tmp_path / 'm.yml'), ignore_errors=True)
                             + dump_task('out', out)))
    result = json.loads(out.read_text())
    paths = {p['path']: p['message'] for p in result['problems']}
    assert 'quote it' in paths['returnAddress.postalCode'] and 'quote it' in paths['deviceId']
    assert 'ignored=1' in proc.stdout
    assert not (tmp_path / 'm.yml').exists()


def test_validate_only_without_dest_and_strict_false(playbook, tmp_path):
    src = tmp_path / 'm.yml'
    src.write_bytes(corpus.good_bytes('glacier').replace(b'logBucket:', b'ticket: OPS-1\nlogBucket:'))
    out = tmp_path / 'out.json'
    playbook.run(task(manifest_task('strict', src=str(src), ignore_errors=True)
                      + manifest_task('loose', src=str(src), strict=False)
                      + dump_task('[strict, loose]', out)))
    strict, loose = json.loads(out.read_text())
    assert strict['failed'] and strict['problems'][0]['path'] == 'ticket'
    assert 'not a field of Glacier import manifests' in strict['problems'][0]['message']
    assert loose['changed'] is False and loose['kind'] == 'glacier' and loose['problems'] == []
    assert 'ticket: OPS-1\n' in loose['content']
    assert loose['device_id'] == 'FS-7K2QM-9XD4T'


def test_diff_mode_shows_the_change_with_secrets_redacted(playbook, tmp_path):
    dest = tmp_path / 'm.yml'
    src = tmp_path / 'src.yml'
    src.write_bytes(corpus.good_bytes('s3-export'))
    dest.write_bytes(corpus.good_bytes('s3-export').replace(b'logBucket: my-log', b'logBucket: old-log'))
    proc = playbook.run(task(manifest_task(job_type='Export', src=str(src), dest=str(dest))), diff=True)
    assert '-logBucket: old-log-bucket' in proc.stdout and '+logBucket: my-log-bucket' in proc.stdout
    assert 'correct horse' not in proc.stdout and 'trueCryptPassword: ********' in proc.stdout
    assert dest.read_bytes() == corpus.good_bytes('s3-export')


def test_read_only_file_system_fails_cleanly_and_keeps_the_old_file(loop_drive, playbook, tmp_path):
    drive = loop_drive('ext4')
    dest = os.path.join(drive.mountpoint, 'manifest.yml')
    open(dest, 'wb').write(b'old\n')
    drive.umount()
    drive.mount(readonly=True)
    src = tmp_path / 'src.yml'
    src.write_bytes(corpus.good_bytes('s3-import'))
    out = tmp_path / 'out.json'
    playbook.run(task(manifest_task(src=str(src), dest=dest, ignore_errors=True) + dump_task('out', out)))
    result = json.loads(out.read_text())
    assert result['failed'] and 'read-only' in result['msg']
    assert open(dest, 'rb').read() == b'old\n'


# ------------------------------------------------------------------ hardening (issue 14)

# An existing dest whose secrets are written in every YAML style; each secret is unique so a
# leak names its style. (issue 14, item 2)
EXISTING_STYLES = {
    'folded': ('trueCryptPassword: >-\n    folded-Secret-one\n    folded-Secret-two\n', ['folded-Secret']),
    'literal': ('pinCode: |\n    literal-Secret-771\n', ['literal-Secret']),
    'flow': ('customs: {pinCode: flow-Secret-772, trueCryptPassword: "flow-Secret-773"}\n', ['flow-Secret']),
    'double-quoted-multiline': ('trueCryptPassword: "dq-Secret-first\n    dq-Secret-second"\n', ['dq-Secret']),
    'single-quoted': ("pinCode: 'sq-Secret-774'\n", ['sq-Secret']),
    'plain-multiline': ('trueCryptPassword: plain-Secret-first\n    plain-Secret-second\n', ['plain-Secret']),
    'explicit-key': ('? pinCode\n: explicit-Secret-775\n', ['explicit-Secret']),
    'look-alike-key': ('Pin-Code: alike-Secret-776\nx:\n    - password: alike-Secret-777\n', ['alike-Secret']),
}
# Not a manifest at all: its contents must not be shown. (tab indentation, a YAML error)
UNREADABLE = 'logBucket: b\npinCode: |\n    broken-Secret-778\n\tbad: [\n'


def test_diff_of_an_existing_file_masks_secrets_in_every_yaml_style(playbook, tmp_path):
    good = corpus.good_bytes('s3-export').decode()
    src = tmp_path / 'src.yml'
    src.write_text(good)
    body = ''
    for style, (extra, _secrets) in sorted(EXISTING_STYLES.items()):
        dest = tmp_path / ('%s.yml' % style)
        dest.write_text(good.replace('logPrefix: logs/\n', 'logPrefix: old/\n') + extra)
        body += manifest_task('r_' + style.replace('-', '_'), job_type='Export', src=str(src), dest=str(dest))
    unreadable = tmp_path / 'unreadable.yml'
    unreadable.write_text(UNREADABLE)
    body += manifest_task('r_unreadable', job_type='Export', src=str(src), dest=str(unreadable))
    proc = playbook.run(task(body), diff=True, verbosity=3, env=dict(ANSIBLE_KEEP_REMOTE_FILES='0'))
    out = proc.stdout + proc.stderr
    leaked = sorted(style for style, (_extra, secrets) in EXISTING_STYLES.items() if any(s in out for s in secrets))
    assert leaked == [], 'secrets of these styles were printed: %s' % leaked
    assert 'correct horse' not in out
    # The diff is still a diff: the changed field shows on both sides.
    assert '-logPrefix: old/' in out and '+logPrefix: logs/' in out
    # A file that is not a manifest is not shown at all, and the run says why.
    assert 'broken-Secret' not in out and 'bad: [' not in out
    assert 'not shown' in out
    for style in EXISTING_STYLES:
        assert (tmp_path / ('%s.yml' % style)).read_text() == good, style
    assert unreadable.read_text() == good


SECRET_LOOKING = {
    'env-file': 'db_password=envSecret-881\napi_token=envSecret-882\n',
    'one-line': 'db_password=lineSecret-883',
    'undefined-alias': 'logBucket: *aliasSecret-884\n',
    'unknown-tag': 'logBucket: !tagSecret-885 x\n',
    'bad-escape': 'logBucket: "escSecret-886 \\q"\n',
    'json-string': '"jsonSecret-887 and more text"\n',
}


def test_a_src_that_is_not_a_manifest_is_named_never_quoted(playbook, tmp_path):
    """(issue 14, item 3) at -vvv, for ie_manifest src and ie_signature manifest_src."""
    body = ''
    for name, text in sorted(SECRET_LOOKING.items()):
        path = tmp_path / ('%s.txt' % name)
        path.write_text(text)
        body += manifest_task('m_' + name.replace('-', '_'), ignore_errors=True, src=str(path),
                              dest=str(tmp_path / ('%s.out' % name)))
        body += ('    - name: Sign\n      awsie.importexport.ie_signature:\n        dest: %s\n'
                 '        job_id: ABCDE\n        secret_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n'
                 '        manifest_src: %s\n      ignore_errors: true\n' % (tmp_path, path))
    out_file = tmp_path / 'out.json'
    body += dump_task('[%s]' % ', '.join('m_' + n.replace('-', '_') for n in sorted(SECRET_LOOKING)), out_file)
    proc = playbook.run(task(body), verbosity=3)
    out = proc.stdout + proc.stderr
    for name, text in SECRET_LOOKING.items():
        secret = text.split('Secret-')[1][:3]
        assert 'Secret-' + secret not in out, '%s: the file contents were printed' % name
    results = json.loads(out_file.read_text())
    for name, result in zip(sorted(SECRET_LOOKING), results):
        assert result['failed'], name
        assert str(tmp_path / ('%s.txt' % name)) in result['msg'], (name, result['msg'])
        assert result['problems'], name
    assert 'ignored=%d' % (2 * len(SECRET_LOOKING)) in proc.stdout
    assert not list(tmp_path.glob('*.out'))


def test_fields_that_render_past_the_size_limit_are_refused_like_a_big_src(playbook, tmp_path):
    """(issue 14, item 14) a 10 MB field value: refused, the field and the limit named, nothing written."""
    dest = tmp_path / 'big.yml'
    fields = dict(accessKeyId='AKIAIOSFODNN7EXAMPLE', deviceId='D1', bucket='b-1',
                  prefix="{{ 'x' * (10 * 1024 * 1024) }}",
                  returnAddress=dict(name='J', street1='1 Main St', city='Berlin', postalCode='10115',
                                     phoneNumber='+49 30 123456', country='Germany'))
    out = tmp_path / 'out.json'
    proc = playbook.run(task(manifest_task(fields=fields, dest=str(dest), ignore_errors=True)
                             + '    - name: Save\n      ansible.builtin.copy:\n'
                               '        content: "{{ out | dict2items | rejectattr(\'key\', \'in\', [\'invocation\'])'
                               ' | items2dict | to_json }}"\n        dest: %s\n' % out))
    result = json.loads(out.read_text())
    assert result['failed'] and not dest.exists()
    assert [p['path'] for p in result['problems']] == ['prefix']
    assert '1048576' in result['msg'] and 'prefix' in result['msg']
    assert len(out.read_text()) < 10000 and len(proc.stdout) < 100000


def test_backup_on_a_fat_drive_keeps_the_old_manifest_under_a_name_fat_accepts(loop_drive, playbook, tmp_path):
    drive = loop_drive('fat32')
    dest = os.path.join(drive.mountpoint, 'manifest.yml')
    old = corpus.good_bytes('s3-import').replace(b'prefix: imported/', b'prefix: old/')
    with open(dest, 'wb') as handle:
        handle.write(old)
    src = tmp_path / 'src.yml'
    src.write_bytes(corpus.good_bytes('s3-import'))
    out = tmp_path / 'out.json'
    playbook.run(task(manifest_task(src=str(src), dest=dest, backup=True) + dump_task('out', out)))
    result = json.loads(out.read_text())
    assert result['changed'] and ':' not in os.path.basename(result['backup_file'])
    assert open(result['backup_file'], 'rb').read() == old
    assert open(dest, 'rb').read() == corpus.good_bytes('s3-import')


def test_mode_is_set_from_the_start_on_a_new_manifest_and_on_an_unchanged_one(playbook, tmp_path):
    """mode: a new manifest is written 0600, an unchanged one left 0644 is put right (a change), check mode
    only says so, and a second run changes nothing; a mode that is not octal is refused naming the file."""
    src = tmp_path / 'src.yml'
    src.write_bytes(corpus.good_bytes('s3-export'))
    new, same = tmp_path / 'new.yml', tmp_path / 'same.yml'
    same.write_bytes(corpus.good_bytes('s3-export'))
    os.chmod(str(same), 0o644)
    out = tmp_path / 'out.json'
    play = task(manifest_task('new', job_type='Export', src=str(src), dest=str(new), mode='0600')
                + manifest_task('same', job_type='Export', src=str(src), dest=str(same), mode='0600')
                + manifest_task('bad', job_type='Export', src=str(src), dest=str(same), mode='rw', ignore_errors=True)
                + dump_task('[new, same, bad]', out))

    playbook.run(play, check=True)
    assert not new.exists() and os.stat(str(same)).st_mode & 0o777 == 0o644
    first = json.loads(out.read_text()) if out.exists() else None
    assert first is None  # check mode wrote no result file either

    playbook.run(play)
    created, fixed, bad = json.loads(out.read_text())
    assert created['changed'] and fixed['changed'], (created, fixed)
    assert os.stat(str(new)).st_mode & 0o777 == 0o600 and os.stat(str(same)).st_mode & 0o777 == 0o600
    assert bad['failed'] and 'not an octal mode' in bad['msg'] and str(same) in bad['msg']

    playbook.run(play)
    created, fixed, _bad = json.loads(out.read_text())
    assert not created['changed'] and not fixed['changed'], (created, fixed)
