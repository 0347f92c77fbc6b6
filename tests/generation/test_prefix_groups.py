from crosstask.generation.prefix import common_prefix_len, group_by_prefix


def test_common_prefix_len():
    assert common_prefix_len([1, 2, 3], [1, 2, 4, 5]) == 2
    assert common_prefix_len([], [1]) == 0
    assert common_prefix_len([7, 8], [7, 8]) == 2


def _doc_prompts(header, doc, instructions):
    return [header + doc + instr for instr in instructions]


def test_tasks_of_one_document_group_on_the_document():
    header = list(range(100, 110))
    doc_a, doc_b = list(range(200, 260)), list(range(300, 360))
    instr = [[1, 2], [3, 4, 5], [6]]
    ids = _doc_prompts(header, doc_a, instr) + _doc_prompts(header, doc_b, instr)
    groups = group_by_prefix(ids, max_group=8)
    members = sorted(sorted(g.members) for g in groups)
    assert members == [[0, 1, 2], [3, 4, 5]]
    assert all(g.prefix_len == len(header) + 60 for g in groups)


def test_a_header_only_prompt_does_not_pull_documents_into_one_group():
    # Like the paper's "case" task: its document is lower-cased, so it shares only the header.
    header = list(range(100, 110))
    instr = [[1, 2], [3, 4, 5], [6]]
    ids = []
    for d in range(4):
        doc = list(range(1000 * (d + 1), 1000 * (d + 1) + 60))
        ids += _doc_prompts(header, doc, instr) + [header + [7 + d] * 60]
    groups = group_by_prefix(ids, max_group=16)
    for d in range(4):
        tasks = {4 * d, 4 * d + 1, 4 * d + 2}
        group = next(g for g in groups if 4 * d in g.members)
        assert set(group.members) == tasks and group.prefix_len == len(header) + 60


def test_no_shared_prefix_falls_back_to_single_prompts():
    ids = [[i, i + 1, i + 2] for i in range(0, 30, 3)]
    groups = group_by_prefix(ids, max_group=8)
    assert len(groups) == len(ids)
    assert all(len(g.members) == 1 and g.prefix_len == len(ids[g.members[0]]) - 1 for g in groups)


def test_groups_respect_max_group_and_leave_each_member_a_token():
    ids = [list(range(50)) + [1000 + i] for i in range(5)] + [list(range(50))]
    groups = group_by_prefix(ids, max_group=4)
    assert sorted(m for g in groups for m in g.members) == list(range(6))
    assert max(len(g.members) for g in groups) <= 4
    for g in groups:
        assert all(len(ids[m]) > g.prefix_len for m in g.members)
