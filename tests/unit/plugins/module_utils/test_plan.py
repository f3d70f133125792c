"""Packing a data set onto drives (plugins/module_utils/plan.py)."""
import random

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.awsie.importexport.plugins.module_utils import plan
from ansible_collections.awsie.importexport.plugins.module_utils.dataset import FileEntry

MB = 1024 * 1024


def entries(sizes):
    """{path: size} -> FileEntry list in ledger order."""
    from ansible_collections.awsie.importexport.plugins.module_utils import ledger  # pylint: disable=import-outside-toplevel
    return [FileEntry(p, 'k/' + p, s, 0) for p, s in sorted(sizes.items(), key=lambda kv: ledger.sort_key(kv[0]))]


def generated_tree(count, seed):
    rng = random.Random(seed)
    sizes = {}
    while len(sizes) < count:
        depth = rng.randint(0, 3)
        dirs = '/'.join('d%d' % rng.randint(0, 6) for _level in range(depth))
        name = 'f%05d' % len(sizes)
        size = int(rng.paretovariate(1.2) * 20000) if rng.random() < 0.98 else rng.randint(50, 400) * MB
        sizes[(dirs + '/' if dirs else '') + name] = size if rng.random() > 0.02 else 0
    return entries(sizes)


def check_placement(files, result, block, overhead=0):
    """Every file on exactly one drive (or listed as unplaced); each drive's room counted
    independently of the planner and within its capacity."""
    by_path = {f.path: f for f in files}
    seen = {}
    for drive in result['drives']:
        placed = plan.expand(drive['items'], files)
        for path in placed:
            assert path not in seen, '%s on %s and %s' % (path, seen[path], drive['name'])
            seen[path] = drive['name']
        dirs = {'/'.join(p.split('/')[:i]) for p in placed for i in range(1, len(p.split('/')))}
        used = sum(-(-by_path[p].size // block) * block + overhead for p in placed) + len(dirs) * block
        assert used == drive['used_bytes'], drive['name']
        assert used <= drive['capacity_bytes'], drive['name']
        assert drive['files'] == len(placed) and drive['bytes'] == sum(by_path[p].size for p in placed)
    left = set(result['unplaced']['items'])
    big = {f['path'] for f in result['findings']}
    assert not left & set(seen) and not big & set(seen)
    assert set(seen) | left | big == set(by_path)
    return seen


def test_ten_thousand_files_on_three_drive_sizes_each_file_once_none_over_capacity():
    files = generated_tree(10000, seed=9)
    total = sum(-(-f.size // 4096) * 4096 for f in files)
    drives = [{'name': 'small', 'size': total // 6}, {'name': 'medium', 'size': total // 3},
              {'name': 'large', 'size': total // 2 + 50 * MB}, {'name': 'spare', 'size': total // 3}]
    result = plan.make_plan(files, drives, block_size=4096, margin=MB)
    seen = check_placement(files, result, 4096)
    assert len(seen) == 10000 and result['unplaced']['files'] == 0 and not result['findings']
    assert result['files'] == 10000 and result['bytes'] == sum(f.size for f in files)
    assert [d['capacity_bytes'] for d in result['drives']] == [d['size'] - MB for d in drives]


def test_too_few_drives_leaves_files_unplaced_and_counts_more_drives():
    files = generated_tree(2000, seed=3)
    total = sum(-(-f.size // 4096) * 4096 for f in files)
    result = plan.make_plan(files, [{'size': total // 4}, {'size': total // 4}], drive_size=total // 4)
    check_placement(files, result, 4096)
    assert result['unplaced']['files'] > 0
    assert result['additional_drives_needed'] >= 2 and result['drives_needed'] >= result['drives_needed_at_least'] >= 4


def test_drive_size_alone_opens_as_many_drives_as_needed():
    files = generated_tree(3000, seed=5)
    size = 400 * MB + 7
    result = plan.make_plan(files, drive_size=size)
    check_placement(files, result, 4096)
    assert len(result['drives']) == result['drives_needed'] and result['unplaced']['files'] == 0
    assert [d['name'] for d in result['drives']][:2] == ['drive-1', 'drive-2']


def test_a_directory_that_fits_stays_together_and_big_files_go_first():
    files = entries({'photos/a.jpg': 300, 'photos/b.jpg': 300, 'video/big.mp4': 9000, 'docs/x.txt': 10, 'top.txt': 5})
    result = plan.make_plan(files, [{'name': 'one', 'size': 11 * 1024}, {'name': 'two', 'size': 12 * 1024}], block_size=1024)
    one, two = result['drives']
    # The tree (16 KiB in blocks) fits on neither: the largest unit, video/, goes first to the
    # first drive with room; the small top.txt still fits in what is left there.
    assert one['items'] == ['top.txt', 'video']
    assert two['items'] == ['docs', 'photos']
    check_placement(files, result, 1024)


def test_the_whole_tree_on_one_drive_is_dot():
    files = entries({'a': 1, 'b/c': 2})
    result = plan.make_plan(files, [{'size': 1 << 30}])
    assert result['drives'][0]['items'] == ['.'] and plan.expand(['.'], files) == ['a', 'b/c']


def test_file_too_big_for_every_drive_and_for_fat32_are_findings():
    files = entries({'huge.bin': 100 * MB, 'ok.bin': MB, 'fat-too-big.iso': plan.FAT32_MAX_FILE + 1})
    fs = plan.filesystem('vfat')
    result = plan.make_plan(files, [{'size': 10 * MB}], block_size=fs['block'], max_file=fs['max_file'])
    assert sorted((f['path'], f['rule']) for f in result['findings']) == [
        ('fat-too-big.iso', 'too-big-for-filesystem'), ('huge.bin', 'too-big-for-drives')]
    assert result['drives'][0]['items'] == ['ok.bin'] and result['unplaced']['files'] == 0


def test_cluster_size_and_overhead_count():
    files = entries({'a': 1, 'b': 32769, 'c': 0})
    result = plan.make_plan(files, [{'size': 1 << 30}], block_size=32768, overhead=1024)
    assert result['drives'][0]['used_bytes'] == 32768 + 1024 + 65536 + 1024 + 0 + 1024


@pytest.mark.parametrize('kwargs, message', [
    ({}, 'give the sizes'),
    ({'drives': [{'name': 'x', 'size': 10}], 'margin': 10}, 'drive x has 10 bytes'),
    ({'drive_size': 5, 'margin': 10}, 'drive_size 5'),
])
def test_bad_inputs(kwargs, message):
    with pytest.raises(plan.PlanError, match=message):
        plan.make_plan(entries({'a': 1}), **kwargs)
    with pytest.raises(plan.PlanError, match='unknown file system'):
        plan.filesystem('hfs')


@settings(max_examples=150, deadline=None)
@given(sizes=st.dictionaries(st.sampled_from(['a', 'b', 'a/x', 'a/y', 'b/z/q', 'c/d/e', 'c/f', 'g', 'c/d/h', 'i/j']),
                             st.integers(0, 50000), min_size=1),
       caps=st.lists(st.integers(1000, 120000), min_size=1, max_size=4), block=st.sampled_from([1, 512, 4096]))
def test_generated_plans_never_overfill_and_place_each_file_once(sizes, caps, block):
    # drop paths that would be both a file and a directory
    sizes = {p: s for p, s in sizes.items() if not any(o.startswith(p + '/') for o in sizes)}
    files = entries(sizes)
    result = plan.make_plan(files, [{'size': c} for c in caps], block_size=block)
    check_placement(files, result, block)
