"""tools/analysis_tools/synthetic_ablation.py: row switches, the table, one real row."""
import json
import os.path as osp

import pytest

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


def test_rows_carry_the_paper_switches(ablation_tool):
    opts = ablation_tool.row_options('rce_off', 4, ['a.b=1'], [1])
    assert opts == ['train_cfg.max_epochs=4', 'param_scheduler.1.end=4',
                    'model.refine=None', 'a.b=1']
    assert ablation_tool.row_options('full', None, []) == []
    assert 'model.sequence_coder.seq_format=box_polygon' in ablation_tool.row_options(
        'lucdp_off', None, [])
    assert 'model.neck.variant=fpn_sum' in ablation_tool.row_options('cimf_off', None, [])
    # the main-job config's cosine schedule follows --epochs, its iteration warm-up does not
    assert ablation_tool.epoch_schedulers(osp.join(REPO, 'configs',
                                                   'recs4r_tiny_synthetic.py')) == [1]
    with pytest.raises(ValueError, match='unknown row'):
        ablation_tool.row_options('rcee_off', None, [])
    # a seed goes before the switches
    assert ablation_tool.row_options('gcl_off', None, [], seed=1) == [
        'randomness.seed=1', 'model.head.loss_gcl.loss_weight=0.0']


def test_iteration_budget_for_the_iteration_based_main_job(ablation_tool, capsys):
    """The native main job trains by iterations: --iters sets max_iters, the validation
    interval (middle and end) and the cosine schedule's end; --epochs is refused for it, and
    --iters for an epoch-based config."""
    native = osp.join(REPO, 'configs', 'recs4r_tiny_synthetic_native.py')
    classic = osp.join(REPO, 'configs', 'recs4r_tiny_synthetic.py')
    assert ablation_tool.trains_by_iterations(native)
    assert not ablation_tool.trains_by_iterations(classic)
    assert ablation_tool.iter_schedulers(native) == [1]
    assert ablation_tool.iter_schedulers(classic) == []
    assert ablation_tool.row_options('gcl_off', None, [], [1], iters=300) == [
        'train_cfg.max_iters=300', 'train_cfg.val_interval=150', 'param_scheduler.1.end=300',
        'model.head.loss_gcl.loss_weight=0.0']
    with pytest.raises(ValueError, match='not both'):
        ablation_tool.row_options('full', 2, [], iters=300)
    assert ablation_tool.main([native, '--epochs', '2', '--table-only']) == 1
    assert 'trains by iterations' in capsys.readouterr().err
    assert ablation_tool.main([classic, '--iters', '200', '--table-only']) == 1
    assert 'trains by epochs' in capsys.readouterr().err


def test_add_one_rows_switch_on_exactly_one_component(ablation_tool):
    """The paper's add-one form: the baseline has all four off, each baseline_X turns X
    back on (i.e. lacks X's off switch and has the other three)."""
    off = ablation_tool.OFF
    assert sorted(ablation_tool.row_options('baseline', None, [])) == sorted(off.values())
    for comp in ('lucdp', 'rce', 'cimf', 'gcl'):
        opts = ablation_tool.row_options(f'baseline_{comp}', None, [])
        assert off[comp] not in opts
        assert sorted(opts) == sorted(v for k, v in off.items() if k != comp)


def test_table_reads_the_last_validation(ablation_tool, tmp_path):
    vis = tmp_path / 'full' / '20260101_000000' / 'vis_data'
    vis.mkdir(parents=True)
    recs = [dict(lr=1e-3, loss=1.0, iter=1, epoch=1, step=1),
            {'recs/RECS_Sum': 10.0, 'recs/VG_Acc@0.5': 1.0, 'step': 1},
            {'recs/RECS_Sum': 20.5, 'recs/VG_Acc@0.5': 2.25, 'step': 2}]
    (vis / 'scalars.json').write_text('\n'.join(json.dumps(r) for r in recs) + '\n')
    results = {('full', None): ablation_tool.last_val(str(tmp_path / 'full')),
               ('gcl_off', None): ablation_tool.last_val(str(tmp_path / 'gcl_off'))}
    table = ablation_tool.format_table(results, {('full', None): 3.0})
    assert '| full | – | – | – | 2.25 | – | – | 20.50 | 3.0 |' in table
    assert '| gcl_off | – | no validation in the log' in table
    assert 'mean' not in table


def test_table_gives_the_mean_over_seeds(ablation_tool):
    keys = ('VG_Acc@0.5', 'RECS_Sum', 'tiny/RIS_mIoU')
    results = {('full', 0): {'recs/VG_Acc@0.5': 80.0, 'recs/RECS_Sum': 200.0,
                             'recs/tiny/RIS_mIoU': 50.0},
               ('full', 1): {'recs/VG_Acc@0.5': 70.0, 'recs/RECS_Sum': 190.0,
                             'recs/tiny/RIS_mIoU': 40.0},
               ('full', 2): None}
    table = ablation_tool.format_table(results, {('full', 0): 1.5}, keys)
    assert '| full | 0 | 80.00 | 200.00 | 50.00 | 1.5 |' in table
    assert '| full | 2 | no validation in the log |  |  | – |' in table
    assert '| full | mean of 2 | 75.00 | 195.00 | 45.00 | |' in table


def test_one_row_trains_and_is_tabulated(ablation_tool, tiny_synthetic_config, tmp_path,
                                         capsys):
    _, cfg = tiny_synthetic_config
    rc = ablation_tool.main([str(cfg), '--work-root', str(tmp_path), '--rows', 'my_row',
                             '--row', 'my_row', 'model.head.loss_gcl.loss_weight=0.0',
                             '--epochs', '1', '--seeds', '3'])
    out = capsys.readouterr().out
    log_path = tmp_path / 'my_row' / 'seed3' / 'ablation_stdout.log'
    assert rc == 0, log_path.read_text()[-3000:]
    assert 'randomness.seed=3 model.head.loss_gcl.loss_weight=0.0' in out
    row = [line for line in out.splitlines() if line.startswith('| my_row | 3 |')][0]
    sum_cell = row.split('|')[8].strip()
    assert float(sum_cell) >= 0
    assert (tmp_path / 'ablation_table.md').read_text().strip().endswith(row)
    log = log_path.read_text()
    assert 'loss_gcl: 0.0000' in log
    assert ablation_tool.main([str(cfg), '--work-root', str(tmp_path), '--row', 'full', 'a=1',
                               '--table-only']) == 1  # a built-in name cannot be redefined


def test_paper_row_reproduces_the_paper_config(ablation_tool):
    """The ``paper`` row's options on the main-job config give the model of
    configs/paper/recs4r_tiny_synthetic_paper.py."""
    import argparse

    from mmengine.config import Config, DictAction
    opts = ablation_tool.paper_row()
    assert 'model.aux_head=None' in opts and 'model.head.reg_mode=direct' in opts
    parser = argparse.ArgumentParser()
    parser.add_argument('--o', nargs='+', action=DictAction)
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'recs4r_tiny_synthetic.py'))
    cfg.merge_from_dict(parser.parse_args(['--o'] + opts).o)
    paper = Config.fromfile(osp.join(REPO, 'configs', 'paper', 'recs4r_tiny_synthetic_paper.py'))
    assert cfg.model.to_dict() == paper.model.to_dict()
