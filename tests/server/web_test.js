// tests/server/web_test.js — drives the web page of a running `mien serve` in headless
// Debian chromium (playwright-core, installed by scripts/web-test-setup) and checks the
// Detect panel end to end. Run by tests/server/test_web.sh, which starts the server.
//
// Usage: node web_test.js URL IMAGE SCREENSHOT   with the API key in $MIEN_TEST_KEY,
//        playwright-core's folder in $MIEN_PLAYWRIGHT (default build/node/node_modules/
//        playwright-core) and chromium at $MIEN_CHROMIUM (default /usr/bin/chromium).
//
// One test, "web detect": the page loads with no script error; the key typed into the
// field is kept in localStorage across a reload; a photo picked in the Detect panel is
// sent to POST /v1/detect and drawn with its faces (the canvas gets data-faces="N", N ≥ 1);
// the page requests nothing outside the server. The screenshot is saved either way. When
// $MIEN_TEST_COLLECTION names a collection with an enrolled face of IMAGE and one declared
// purpose, the Compare panel (IMAGE against itself, the default purpose) must say "Same
// person", and the Search panel (that collection, its purpose, a case) must list at least
// one candidate and the review they await. The Group panel, given IMAGE twice, must show
// one row per person of its faces, each with two crops (every face of the photo is in both
// copies), and nothing messy; its screenshot goes beside SCREENSHOT as web-group.png.
// Prints "1 passed, 0 failed" or the failure and "0 passed, 1 failed" (exit 1).
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const [url, image, shot] = process.argv.slice(2);
const key = process.env.MIEN_TEST_KEY || '';
const collection = process.env.MIEN_TEST_COLLECTION || '';
const pw = process.env.MIEN_PLAYWRIGHT ||
    path.join(__dirname, '..', '..', 'build', 'node', 'node_modules', 'playwright-core');
const chromiumPath = process.env.MIEN_CHROMIUM || '/usr/bin/chromium';
// Generous: the first detection also warms the engine; a detection takes well under 1 s.
const DETECT_TIMEOUT_MS = 60000;

function fail(msg) {
    console.log('FAIL: web detect: ' + msg);
    console.log('0 passed, 1 failed');
    process.exitCode = 1;
}

// The Compare and Search panels, each waited for until its result or its error shows.
async function compareAndSearch(page, problems) {
    await page.setInputFiles('#compare-a', image);
    await page.setInputFiles('#compare-b', image);
    await page.click('#compare-go');
    await page.waitForSelector('#compare-result:not([hidden]), #compare-error:not([hidden])',
        { timeout: DETECT_TIMEOUT_MS });
    const decision = await page.textContent('#compare-decision');
    if (!/^Same person/.test(decision || '')) {
        problems.push('Compare: ' + (await page.textContent('#compare-error') || decision));
    } else {
        console.log('web compare: ' + decision);
    }

    await page.waitForSelector('#search-collection option[value="' + collection + '"]',
        { state: 'attached', timeout: DETECT_TIMEOUT_MS });
    await page.selectOption('#search-collection', collection);
    const purpose = await page.inputValue('#search-purpose');
    if (!purpose) {
        problems.push('Search: the collection\'s purpose was not offered');
        return;
    }
    await page.fill('#search-case', 'web-test-1');
    await page.setInputFiles('#search-file', image);
    await page.click('#search-go');
    await page.waitForSelector('#search-result:not([hidden]), #search-error:not([hidden])',
        { timeout: DETECT_TIMEOUT_MS });
    const rows = await page.locator('#search-table tbody tr').count();
    const review = await page.textContent('#search-review');
    if (rows < 1 || !/^Review [0-9a-f]{32}/.test(review || '')) {
        problems.push('Search: ' + rows + ' candidates, review "' + review + '"; error "' +
            (await page.textContent('#search-error')) + '"');
    } else {
        console.log('web search: ' + rows + ' candidate(s), purpose ' + purpose + '; ' + review);
    }
}

// The Group panel: IMAGE twice; each face of it one person with two crops.
async function groupPanel(page, problems) {
    await page.setInputFiles('#group-files', [image, image]);
    await page.click('#group-go');
    await page.waitForSelector('#group-rows[data-people]', { timeout: DETECT_TIMEOUT_MS });
    const people = await page.getAttribute('#group-rows', 'data-people');
    const rows = await page.locator('#group-rows .group-row:not(.messy)').count();
    const messy = await page.locator('#group-rows .group-row.messy').count();
    const crops = await page.locator('#group-rows .group-row:not(.messy) canvas').count();
    const reps = await page.locator('#group-rows canvas.rep').count();
    await page.locator('#group').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(path.dirname(shot), 'web-group.png') });
    if (people === 'error' || !(Number(people) >= 1) || rows !== Number(people) ||
        crops !== 2 * rows || reps !== rows || messy !== 0) {
        problems.push('Group: people "' + people + '", ' + rows + ' rows, ' + crops +
            ' crops, ' + reps + ' representatives, ' + messy + ' messy rows; error "' +
            (await page.textContent('#group-error')) + '"');
    } else {
        console.log('web group: ' + people + ' people, ' + crops + ' crops');
    }
}

async function main() {
    if (!url || !image || !shot || !key) {
        console.log('usage: MIEN_TEST_KEY=KEY node web_test.js URL IMAGE SCREENSHOT');
        process.exitCode = 2;
        return;
    }
    const { chromium } = require(pw);
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mien-chromium-'));
    const origin = new URL(url).origin;
    const problems = [];
    let context = null;
    try {
        context = await chromium.launchPersistentContext(profile, {
            executablePath: chromiumPath,
            headless: true,
            args: ['--headless', '--no-sandbox', '--disable-gpu',
                '--disable-background-networking', '--disable-component-update',
                '--disable-sync', '--no-first-run', '--disable-quic'],
            viewport: { width: 1280, height: 800 },
        });
        const page = context.pages()[0] || await context.newPage();
        page.on('pageerror', (e) => problems.push('script error: ' + e.message));
        page.on('console', (m) => {
            if (m.type() === 'error') {
                problems.push('console error: ' + m.text());
            }
        });
        page.on('request', (r) => {
            const u = r.url();
            if (!u.startsWith(origin + '/') && !u.startsWith('blob:') &&
                !u.startsWith('data:')) {
                problems.push('request outside the server: ' + u);
            }
        });

        await page.goto(url, { waitUntil: 'load' });
        await page.fill('#key', key);
        await page.reload({ waitUntil: 'load' });
        const kept = await page.inputValue('#key');
        if (kept !== key) {
            problems.push('the key was not kept across a reload');
        }

        await page.setInputFiles('#detect-file', image);
        await page.waitForSelector('#detect-canvas[data-faces]', { timeout: DETECT_TIMEOUT_MS });
        const faces = await page.getAttribute('#detect-canvas', 'data-faces');
        await page.locator('#detect').scrollIntoViewIfNeeded();
        fs.mkdirSync(path.dirname(shot), { recursive: true });
        await page.screenshot({ path: shot });
        if (faces === 'error') {
            const text = await page.textContent('#detect-error');
            problems.push('the Detect panel shows an error: ' + text);
        } else if (!(Number(faces) >= 1)) {
            problems.push('no face drawn (data-faces="' + faces + '")');
        } else {
            const rows = await page.locator('#detect-table tbody tr').count();
            if (rows !== Number(faces)) {
                problems.push(faces + ' faces drawn but ' + rows + ' table rows');
            }
            console.log('web detect: ' + faces + ' faces drawn; screenshot ' + shot);
        }
        if (collection) {
            await compareAndSearch(page, problems);
        }
        await groupPanel(page, problems);
    } catch (e) {
        problems.push(e.message.split('\n')[0]);
    } finally {
        if (context) {
            await context.close().catch(() => {});
        }
        fs.rmSync(profile, { recursive: true, force: true });
    }
    // 401 from the key-less collection list before the key is typed is not a problem of
    // the page; everything else is.
    const real = problems.filter((p) => !/status of 401/.test(p));
    if (real.length) {
        fail(real.join('; '));
    } else {
        console.log('1 passed, 0 failed');
    }
}

main().catch((e) => fail(e.message));
