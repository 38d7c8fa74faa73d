"""demo/web_demo.py: the Gradio page served on 127.0.0.1 and driven in headless system Chromium
(Playwright), and its handler called directly for the GeoTIFF and the input checks.

The browser test is never skipped in CI: without Chromium it fails there (``CI`` set) and
only skips on a developer machine (``bash tools/install.sh`` installs it).
"""
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
import torch
import web_demo_page as wp
from tool_runner import REPO

sys.path.insert(0, os.path.join(REPO, 'tests', 'test_apis'))
from geotiff_builders import write_geotiff  # noqa: E402

DEMO = os.path.join(REPO, 'demo', 'web_demo.py')
MAX_SIDE = 100  # the server's --max-side (the tiny set's images are 64 px)


def _load_demo_module():
    spec = importlib.util.spec_from_file_location('web_demo', DEMO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _json_dict(pred):
    """RECSInferencer's prediction as image_demo.py writes it (no mask), JSON-normalised."""
    return json.loads(json.dumps({k: v for k, v in pred.items() if k != 'mask'}))


@pytest.fixture(scope='module')
def tiny_model(trained_tiny_synthetic, tmp_path_factory):
    """(root, config, checkpoint, two test-split (image, expression) pairs of other scenes).
    The checkpoint is a copy of the shared run's latest (other tests resume that run, and its
    checkpoint hook then removes older epochs)."""
    root, cfg, work, _ = trained_tiny_synthetic
    latest = max(work.glob('epoch_*.pth'), key=lambda p: int(p.stem.split('_')[1]))
    ckpt = tmp_path_factory.mktemp('web_demo_ckpt') / 'tiny.pth'
    shutil.copy(latest, ckpt)
    with open(root / 'data' / 'phrase_txts' / 'test.json') as f:
        recs = json.load(f)
    pairs, scenes = [], set()
    for rid, rec in recs.items():
        if rec['scene_id'] not in scenes:
            scenes.add(rec['scene_id'])
            pairs.append((str(root / 'data' / 'images' / f'{rid}.png'), rec['sentences'][0]))
    return root, str(cfg), str(ckpt), pairs[:2]


@pytest.fixture(scope='module')
def inferencer(tiny_model):
    """The same model in this process, on one thread as the server (identical arithmetic)."""
    from recs4r_mm.apis import RECSInferencer
    _, cfg, ckpt, _ = tiny_model
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield RECSInferencer(model=cfg, weights=ckpt, device='cpu')
    torch.set_num_threads(n)


@pytest.fixture(scope='module')
def server(tiny_model, tmp_path_factory):
    """demo/web_demo.py in a subprocess on 127.0.0.1 and a free port: yields (url, process)."""
    root, cfg, ckpt, _ = tiny_model
    tmp = tmp_path_factory.mktemp('web_demo')
    port = _free_port()
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1',
               GRADIO_TEMP_DIR=str(tmp / 'gradio'))
    log = open(tmp / 'server.log', 'w')
    proc = subprocess.Popen(
        [sys.executable, DEMO, cfg, ckpt, '--host', '127.0.0.1', '--port', str(port),
         '--max-side', str(MAX_SIDE), '--max-expressions', '3', '--work-dir', str(tmp / 'work')],
        cwd=root, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f'http://127.0.0.1:{port}/'
    deadline = time.time() + 180
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f'web_demo.py exited {proc.returncode}:\n'
                            f'{(tmp / "server.log").read_text()[-4000:]}')
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.time() > deadline:
                pytest.fail(f'web_demo.py not up after 180 s:\n'
                            f'{(tmp / "server.log").read_text()[-4000:]}')
            time.sleep(0.5)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope='session')
def chromium():
    """The system Chromium's path (resolved before the model is trained)."""
    exe = wp.find_chromium()
    if exe is None:
        msg = ('no system Chromium (looked for $RECS4R_CHROMIUM, ' + ', '.join(wp.CHROMIUM_NAMES) +
               '): bash tools/install.sh installs it')
        if os.environ.get('CI'):
            pytest.fail(msg)  # CI must run the browser test
        pytest.skip(msg)
    return exe


def test_page_in_headless_chromium(chromium, server, tiny_model, inferencer, tmp_path, capsys):
    """Bad inputs answered in the page; an answer equal to RECSInferencer's; several lines on
    one upload; two tabs at once each get their own answer; a screenshot kept."""
    from playwright.sync_api import sync_playwright
    url, proc = server
    _, _, _, ((img_a, text_a), (img_b, text_b)) = tiny_model
    notes = tmp_path / 'notes.txt'
    notes.write_text('not an image')
    big = tmp_path / 'big.png'
    import mmcv
    mmcv.imwrite(np.zeros((MAX_SIDE + 20, MAX_SIDE + 50, 3), np.uint8), str(big))
    shots = os.environ.get('RECS4R_TEST_ARTEFACTS') or str(tmp_path)
    os.makedirs(shots, exist_ok=True)
    external = []
    with sync_playwright() as p:
        browser = wp.launch(p, chromium)
        page = wp.open_page(browser, url, external)
        # bad input: each answered in the status box and a pop-up, nothing drawn
        assert wp.submit(page, text_a) == 'error: no image: upload one (or click one of the ' \
            'examples)'
        msg = wp.upload(page, str(notes))
        assert msg.startswith('error: notes.txt is not an image'), msg
        assert wp.submit(page, text_a).startswith('error: notes.txt is not an image')
        msg = wp.upload(page, str(big))
        assert msg == (f'error: big.png is {MAX_SIDE + 50} x {MAX_SIDE + 20} px, larger than '
                       f"this server's limit of {MAX_SIDE} px per side (--max-side): "
                       'downscale it'), msg
        assert 'loaded' in wp.upload(page, img_a)
        assert wp.submit(page, '  \n ').startswith('error: the referring expression is empty')
        assert wp.submit(page, 'a\nb\nc\nd').startswith('error: 4 expressions')
        assert 'not an image' in wp.toasts(page)[1] and len(wp.toasts(page)) == 6
        assert page.locator('#result img').count() == 0

        # a good request after the bad ones: the drawing and the JSON, equal to in-process
        seconds, status, (pred, ) = wp.refer_and_download(page, text_a, 1, str(tmp_path))
        expected = _json_dict(inferencer(img_a, text_a)['predictions'][0])
        assert pred == expected
        assert pred['polygons'] and len(pred['oriented_box']['corners']) == 4
        assert status.startswith(f'"{text_a}": box [')
        (w, h), = wp.wait_result(page, 1)
        assert min(w, h) >= 384  # the visualizer's upscaled drawing

        # two lines on the same upload, no re-upload
        _, _, preds = wp.refer_and_download(page, f'{text_b}\n{text_a}', 2, str(tmp_path))
        assert [q['text'] for q in preds] == [text_b, text_a]
        assert preds[1] == expected

        # two tabs submit at once: the model serves them in turn, each gets its own answer
        tabs = [page, wp.open_page(browser, url, external)]
        assert 'loaded' in wp.upload(tabs[1], img_b)
        for tab, text in zip(tabs, (text_a, text_b)):
            tab.locator('#expression textarea').fill(text)
        befores = [wp.status(t) for t in tabs]
        for tab in tabs:
            tab.locator('#refer').click()
        asks = zip(tabs, (text_a, text_b), (img_a, img_b), befores)
        for i, (tab, text, img, before) in enumerate(asks):
            tab.wait_for_function(
                'b => { const v = document.querySelector("#status textarea").value;'
                ' return v !== b && v.includes(" s on "); }', arg=before)
            wp.wait_result(tab, 1)
            assert wp.status(tab).startswith(f'"{text}": box'), wp.status(tab)
            os.makedirs(tmp_path / f'tab{i}')
            got = wp.download_all(tab, str(tmp_path / f'tab{i}'))
            (name, ) = got
            with open(got[name]) as f:
                assert json.load(f) == _json_dict(inferencer(img, text)['predictions'][0])
        shot = os.path.join(shots, 'web_demo_page.png')
        page.screenshot(path=shot, full_page=True)
        with capsys.disabled():  # shown in the CI log too
            print(f'\nweb demo: submit -> drawn result {seconds:.2f} s (tiny model); '
                  f'screenshot {shot}')
        browser.close()
    assert not external, f'the page tried to reach beyond the loopback: {external}'
    assert proc.poll() is None, 'the server stopped'


def test_handler_geotiff_and_input_checks(tiny_model, inferencer, tmp_path):
    """WebDemo without the page: a GeoTIFF gives the GeoJSON in its CRS and the JSON; the
    input checks name the file or value."""
    import mmcv
    web_demo = _load_demo_module()
    _, _, _, ((img, text), _) = tiny_model
    demo = web_demo.WebDemo(inferencer, max_side=MAX_SIDE, max_expressions=2,
                            work_dir=str(tmp_path / 'work'))
    tif = write_geotiff(tmp_path / 'scene.tif',
                        mmcv.imread(img, channel_order='rgb').transpose(2, 0, 1), overviews=())
    assert demo.scene.model is inferencer.model  # one model for images and scenes
    assert demo.inspect(tif) == ('scene', (64, 64))
    out = demo.refer(tif, f'{text}\n')
    names = sorted(os.path.basename(f) for f in out['files'])
    assert names == ['scene.geojson', 'scene_0.json']
    with open(out['files'][-1]) as f:
        collection = json.load(f)
    assert collection['type'] == 'FeatureCollection'
    assert collection['crs']['properties']['name'] == 'urn:ogc:def:crs:EPSG::32633'
    (feature, ) = collection['features']
    assert feature['properties']['expression'] == text
    assert out['predictions'][0]['text'] == text and 'GeoTIFF' in out['status']
    assert os.path.isfile(out['drawings'][0][0])

    # a plain image: the same JSON as RECSInferencer's
    out = demo.refer(img, text)
    assert out['predictions'] == [_json_dict(inferencer(img, text)['predictions'][0])]

    bad = tmp_path / 'fake.png'
    bad.write_bytes(b'\x89PNG\r\n\x1a\n not really')
    cases = [((None, text), 'no image'),
             ((str(tmp_path / 'gone.png'), text), 'gone.png: the upload is gone'),
             ((str(bad), text), 'fake.png is not an image'),
             ((img, ''), 'the referring expression is empty'),
             ((img, 'a\nb\nc'), '3 expressions: this server takes at most 2')]
    for args, msg in cases:
        with pytest.raises(web_demo.InputError, match=msg):
            demo.refer(*args)
    assert demo.requests == 2  # bad input never reaches the model


def test_cli_bad_checkpoint_is_one_line(tiny_model, tmp_path):
    _, cfg, _, _ = tiny_model
    proc = subprocess.run([sys.executable, DEMO, cfg, str(tmp_path / 'nope.pth')],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip() == f'error: checkpoint {tmp_path / "nope.pth"} does not exist'
