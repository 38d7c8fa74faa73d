# The synthetic main job in the paper's formulation (configs/_base_/models/
# recs4r_paper_formulation.py), for comparison with the shared recipe of
# configs/recs4r_tiny_synthetic.py: same architecture, data and schedule.
_base_ = ['../recs4r_tiny_synthetic.py', '../_base_/models/recs4r_paper_formulation.py']
model = {{_base_.paper_formulation}}
