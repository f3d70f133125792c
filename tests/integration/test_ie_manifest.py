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
