"""Drives demo/web_demo.py's page in headless system Chromium (Playwright, no browser download).

Used by test_web_demo.py; also measures a running server from the command line:

    python tests/test_tools/web_demo_page.py http://127.0.0.1:7860 IMG "expression" \
        [--screenshot page.png] [--repeat 5]

prints the time from the click on Refer to the drawn result (and the JSON downloaded).
"""
import argparse
import json
import os
import os.path as osp
import shutil
import time

CHROMIUM_NAMES = ('chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable')
LOCAL = ('http://127.0.0.1', 'http://localhost', 'data:', 'blob:')


def find_chromium():
    """The system Chromium: ``$RECS4R_CHROMIUM``, else the first of ``CHROMIUM_NAMES`` on PATH."""
    path = os.environ.get('RECS4R_CHROMIUM')
    if path:
        return path if osp.isfile(path) else None
    return next((shutil.which(n) for n in CHROMIUM_NAMES if shutil.which(n)), None)


def launch(playwright, executable):
    """Headless Chromium from ``executable`` (Playwright's own browsers are never fetched)."""
    return playwright.chromium.launch(executable_path=executable, headless=True)


def open_page(browser, url, external=None, timeout_ms=60000):
    """A new tab on the demo; requests leaving the loopback are aborted and listed in
    ``external``."""
    page = browser.new_page(viewport={'width': 1400, 'height': 1000}, accept_downloads=True)
    page.set_default_timeout(timeout_ms)

    def route(r):
        if r.request.url.startswith(LOCAL):
            r.continue_()
        else:
            if external is not None:
                external.append(r.request.url)
            r.abort()

    page.route('**/*', route)
    page.add_init_script(TOAST_RECORDER)
    page.goto(url)
    page.wait_for_selector('#refer')
    # the upload's (hidden) file input too: upload() reads its absence as "an image is loaded"
    page.wait_for_selector('#upload input[type=file]', state='attached')
    return page


# Records every pop-up message (Gradio removes them after a while).
TOAST_RECORDER = """
window.__toasts = [];
new MutationObserver(muts => muts.forEach(m => m.addedNodes.forEach(n => {
  if (n.nodeType !== 1) return;
  const found = n.matches('[data-testid=toast-text]') ? [n]
    : [...n.querySelectorAll('[data-testid=toast-text]')];
  found.forEach(e => window.__toasts.push(e.textContent.trim()));
}))).observe(document, {childList: true, subtree: true});
"""


def status(page):
    """The status box's text."""
    return page.locator('#status textarea').input_value()


def toasts(page):
    """Every pop-up message shown so far."""
    return page.evaluate('window.__toasts')


def _act(page, action, done, timeout_ms=60000):
    """Run ``action()``, then wait until the status box changes to a text holding one of
    ``done``, or a new pop-up arrives and the status box says it (an error can repeat the
    previous status word for word). Returns the status text."""
    before, n = status(page), len(toasts(page))
    action()
    page.wait_for_function(
        """([before, n, done]) => {
          const v = document.querySelector('#status textarea').value;
          const t = window.__toasts;
          if (t.length > n) return v === 'error: ' + t[t.length - 1];
          return v !== before && done.some(d => v.includes(d));
        }""", arg=[before, n, list(done)], timeout=timeout_ms)
    return status(page)


def upload(page, path):
    """Upload ``path`` (clearing the previous upload first, as a user does); returns the
    status (``... loaded ...`` or ``error: ...``)."""
    if not page.locator('#upload input[type=file]').count():
        page.locator('#upload button[aria-label=Clear]').click()
        page.wait_for_function('() => document.querySelector("#status textarea").value === ""')
    return _act(page, lambda: page.locator('#upload input[type=file]').set_input_files(path),
                ('loaded', 'error:'))


def submit(page, text):
    """Type ``text``, click Refer; returns the status once the answer (or error) is in."""
    page.locator('#expression textarea').fill(text)
    return _act(page, lambda: page.locator('#refer').click(), (' s on ', 'error:'))


def wait_result(page, count):
    """Wait until the gallery holds ``count`` drawings, all decoded, and the first one shown
    large; returns their pixel sizes."""
    page.wait_for_function(
        """n => {
          const grid = [...document.querySelectorAll('#result .thumbnail-lg img')];
          const big = document.querySelector('#result .media-button img');
          return grid.length === n && big !== null && big.complete && big.naturalWidth > 0
            && grid.every(i => i.complete && i.naturalWidth > 0);
        }""", arg=count)
    return page.locator('#result .thumbnail-lg img').evaluate_all(
        'im => im.map(i => [i.naturalWidth, i.naturalHeight])')


def download_all(page, out_dir):
    """Click every download link; returns {file name: saved path}."""
    links = page.locator('#downloads a[download]')
    saved = {}
    for i in range(links.count()):
        with page.expect_download() as info:
            links.nth(i).click()
        name = info.value.suggested_filename
        saved[name] = osp.join(out_dir, name)
        info.value.save_as(saved[name])
    return saved


def refer_and_download(page, text, n, out_dir):
    """Submit, wait for ``n`` drawings and ``n`` JSON downloads; returns (seconds from the
    click to the drawn result, status, [JSON dicts in order])."""
    t0 = time.perf_counter()
    text_status = submit(page, text)
    assert not text_status.startswith('error:'), text_status
    wait_result(page, n)
    seconds = time.perf_counter() - t0
    files = download_all(page, out_dir)
    preds = []
    for name in sorted(f for f in files if f.endswith('.json')):
        with open(files[name]) as f:
            preds.append(json.load(f))
    assert len(preds) == n, files
    return seconds, text_status, preds


def main():
    parser = argparse.ArgumentParser(description='time a running demo/web_demo.py in Chromium')
    parser.add_argument('url')
    parser.add_argument('image')
    parser.add_argument('text')
    parser.add_argument('--screenshot', help='save the page here after the last answer')
    parser.add_argument('--repeat', type=int, default=5, help='submissions timed (default 5)')
    args = parser.parse_args()
    import tempfile

    from playwright.sync_api import sync_playwright
    exe = find_chromium()
    if exe is None:
        raise SystemExit('no Chromium found: bash tools/install.sh (or set RECS4R_CHROMIUM)')
    n = len([t for t in args.text.splitlines() if t.strip()])
    with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
        browser = launch(p, exe)
        page = open_page(browser, args.url)
        print(upload(page, args.image))
        times = []
        for _ in range(args.repeat):
            seconds, text, _ = refer_and_download(page, args.text, n, tmp)
            times.append(seconds)
        print(text)
        print('submit -> drawn result: ' + ', '.join(f'{t:.2f}' for t in times) +
              f' s (median {sorted(times)[len(times) // 2]:.2f} s)')
        if args.screenshot:
            page.screenshot(path=args.screenshot, full_page=True)
            print(f'screenshot: {args.screenshot}')
        browser.close()


if __name__ == '__main__':
    main()
