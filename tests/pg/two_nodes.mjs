// tests/pg/two_nodes.mjs — the two-node acceptance test of issue 8, driven over HTTP (Node's
// standard library only). tests/pg/test_two_nodes.sh starts the PostgreSQL cluster, makes the
// photo and the key file, and runs this with:
//   MIEN (the binary), STORE (the cluster's URI), TMP (a scratch folder), PHOTO (a JPEG whose
//   most prominent face is enrolled and searched), CLUSTER (the cluster's folder, for
//   pg-cluster.sh restart), PG_CLUSTER (that script), PSQL, MIEN_KEY_FILE (shared by the nodes).
//
// Two `mien serve` nodes (A, B: one inference worker each, each its own MIEN_AUDIT_HEAD) share
// the database. The phases, each failing the test with a message when its promise breaks:
//   1. propagation: FACES enrolments through A (one connection, one after another), while B
//      searches back to back with the same photo (top=FACES, so every enrolled face is a
//      candidate). A face's delay is the time from A's 201 (its commit happened before it) to
//      the arrival of B's first answer naming it; so it includes the part of B's search that
//      runs after B caught up (the search itself, the audit commit, the reply). Every face must
//      reach B; p50/p99/max are reported.
//   2. erasure: A loads the collection (one search), B erases one subject, A's next answer does
//      not name it.
//   3. SIGKILL: KILL_FACES more enrolments through A; after a random number of 201s, A is
//      killed with SIGKILL 0..8 ms after the next request went out (mid-enrolment), restarted,
//      and the client resumes from the first enrolment it has no 201 for (409 "already
//      enrolled" is accepted for the one in flight: it committed before the kill). Then in the
//      database: every face A acknowledged is there, and every subject has exactly one face.
//   4. PostgreSQL restart (fast shutdown, 2 s down, start): /readyz on both nodes is polled
//      every 50 ms; both must answer 503 while the database is down and 200 again by themselves.
//      While B has not yet been asked anything after the restart (its connection is dead), A
//      enrols CATCHUP_FACES faces; B's first search must find them (caught up).
//   5. `mien audit verify` passes with each node's signed head; the face count is exact.
// Prints progress lines and one JSON summary line ("two_nodes"); exit 0 on success, 1 on
// failure.
//
// No fixed wall-clock deadline: a machine 3× slower (a capped ISA, a sanitizer build, a busy CI
// runner) must pass too. The hang guard is a stall watchdog instead: the test fails when no
// step has completed for STALL_MS (an enrolment or a search answered, a new face seen on B, a
// node started or ready again, a phase done). STALL_MS starts at TWO_NODES_STALL_S (60 s: node
// start, PostgreSQL restart) and, once the first STALL_SAMPLE enrolments and searches are
// timed, becomes the larger of that and STALL_FACTOR times the slower one's median; each
// loop that waits for something (a node to start, B to catch up, /readyz to say 200) waits
// as long as that. CTest's TIMEOUT for the test is only a guard against a hang the watchdog
// cannot see (a blocked psql or `mien audit verify`).
import { spawn, execFile, execFileSync } from 'node:child_process';
import { readFileSync, openSync } from 'node:fs';
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const env = process.env;
const MIEN = env.MIEN, STORE = env.STORE, TMP = env.TMP, PSQL = env.PSQL;
const FACES = Number(env.TWO_NODES_FACES || 1000);
const KILL_FACES = Number(env.TWO_NODES_KILL_FACES || 300);
const CATCHUP_FACES = 5;
const PHOTO = readFileSync(env.PHOTO);
const PURPOSE = 'purpose=test&case_ref=two-nodes';
// 60 s: a node's start (models load in well under 1 s natively) and the PostgreSQL restart
// (2 s down, then pg_ctl start -w) take a few seconds, whatever the per-request time.
const STALL_FLOOR_MS = Number(env.TWO_NODES_STALL_S || 60) * 1000;
// One step may take this many median requests: B's searches grow with the gallery (top=1000)
// and contend with A's enrolments on 2 cores. Measured (MIEN_MAX_ISA=avx2 tests/pg/
// test_two_nodes.sh build/mien build, 2-core VM): the longest one-request step, A's first
// enrolment (it plans the primitives), took 16 medians (watchdog.longest_request_step_x in the
// summary line), so 200 leaves a factor of 12 on top.
const STALL_FACTOR = 200;
const STALL_SAMPLE = 20; // requests of each kind timed before STALL_MS follows them
let stallMs = STALL_FLOOR_MS, perRequestMs = 0; // perRequestMs: 0 until measured
let lastProgress = performance.now(), lastStep = 'start';
// the longest gap before a step, and before a step that is one request, for the summary
const longest = { ms: 0, step: '' }, longestRequest = { ms: 0, step: '' };

const children = new Set();
function fail(msg) {
    console.error(`FAILED: ${msg}`);
    for (const c of children) {
        try { c.kill('SIGKILL'); } catch { /* gone */ }
    }
    process.exit(1);
}
// Records that a step completed (`request`: the step was one request answered, an enrolment
// or a search): the watchdog below restarts its count.
function progress(step, request = false) {
    const now = performance.now();
    for (const l of request ? [longest, longestRequest] : [longest]) {
        if (now - lastProgress > l.ms) {
            l.ms = now - lastProgress;
            l.step = step;
        }
    }
    lastProgress = now;
    lastStep = step;
}
// Sets STALL_MS from the first requests' times (ms), once both kinds have STALL_SAMPLE.
function measured(enrolMs, searchMs) {
    if (perRequestMs > 0 || enrolMs.length < STALL_SAMPLE || searchMs.length < STALL_SAMPLE) {
        return;
    }
    const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
    perRequestMs = Math.max(median(enrolMs.slice(0, STALL_SAMPLE)),
        median(searchMs.slice(0, STALL_SAMPLE)), 0.001);
    stallMs = Math.max(STALL_FLOOR_MS, STALL_FACTOR * perRequestMs);
    log(`watchdog: the first requests take ${round(perRequestMs)} ms (median); a step may ` +
        `take ${round(stallMs / 1000)} s`);
}
setInterval(() => {
    const idle = performance.now() - lastProgress;
    if (idle > stallMs) {
        fail(`no progress for ${round(idle / 1000)} s (limit ${round(stallMs / 1000)} s); ` +
             `last step done: ${lastStep}`);
    }
}, 1000).unref();
const log = (msg) => console.log(`  ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pad = (k) => String(k).padStart(4, '0');
function pct(sorted, p) {
    if (sorted.length === 0) return NaN;
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const round = (x) => Math.round(x * 10) / 10;

// ---- HTTP ---------------------------------------------------------------------------------

// One request; resolves {status, body (parsed JSON or null), t0, t1} (performance.now() ms);
// a connection error resolves {status: 0, error}.
function request(node, method, path, body, headers = {}) {
    return new Promise((resolve) => {
        const t0 = performance.now();
        const req = http.request(node.url + path, {
            method, agent: node.agent,
            headers: { Authorization: `Bearer ${node.key}`, ...headers },
        }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => {
                const text = Buffer.concat(chunks).toString();
                let json = null;
                try { json = JSON.parse(text); } catch { /* not JSON */ }
                resolve({ status: res.statusCode, body: json, text, t0, t1: performance.now() });
            });
            res.on('error', (error) => resolve({ status: 0, error, t0, t1: performance.now() }));
        });
        req.on('error', (error) => resolve({ status: 0, error, t0, t1: performance.now() }));
        req.setTimeout(stallMs, () => req.destroy(new Error('timeout')));
        if (body) req.end(body); else req.end();
    });
}
const enrol = (node, subject) => request(node, 'POST',
    `/v1/collections/people/subjects/${subject}/faces?force=1`, PHOTO,
    { 'Content-Type': 'image/jpeg' });
const search = (node, top) => request(node, 'POST',
    `/v1/collections/people/search?${PURPOSE}&top=${top}`, PHOTO,
    { 'Content-Type': 'image/jpeg' });
const subjectsOf = (r) => (r.body && r.body.candidates ? r.body.candidates : [])
    .map((c) => c.subject);

// ---- nodes --------------------------------------------------------------------------------

// Starts `mien serve` with its own audit head; resolves the node once /readyz says 200.
const starts = {};
async function startNode(name, key) {
    starts[name] = (starts[name] || 0) + 1;
    const logFile = `${TMP}/${name}.${starts[name]}.log`; // a fresh log: its URL is this start's
    const out = openSync(logFile, 'w');
    const child = spawn(MIEN, ['serve', '--listen', '127.0.0.1:0', '--store', STORE,
        '--workers', '1'], {
        env: { ...env, MIEN_AUDIT_HEAD: `${TMP}/${name}.audit-head` },
        stdio: ['ignore', out, out],
    });
    children.add(child);
    child.on('exit', () => children.delete(child));
    let url = null;
    const t0 = performance.now();
    while (!url && performance.now() - t0 < stallMs) {
        await sleep(50);
        const m = /http:\/\/127\.0\.0\.1:\d+/.exec(readFileSync(logFile, 'utf8'));
        url = m ? m[0] : null;
        if (child.exitCode !== null || child.signalCode !== null) break;
    }
    if (!url) {
        fail(`node ${name} did not start (${round((performance.now() - t0) / 1000)} s):\n` +
             readFileSync(logFile, 'utf8'));
    }
    progress(`node ${name} started`);
    const node = { name, url, key, child, agent: new http.Agent({ keepAlive: true }) };
    const t1 = performance.now();
    while (performance.now() - t1 < stallMs) {
        const r = await request(node, 'GET', '/readyz');
        if (r.status === 200) {
            progress(`node ${name} ready`);
            return node;
        }
        await sleep(50);
    }
    return fail(`node ${name} not ready after ${round(stallMs / 1000)} s`);
}

function psql(sql) {
    return execFileSync(PSQL, ['-X', '-qAt', '-d', STORE, '-c', sql]).toString().trim();
}

function auditVerify(head) {
    try {
        const out = execFileSync(MIEN, ['audit', 'verify', '--store', STORE, '--json'],
            { env: { ...env, MIEN_AUDIT_HEAD: head } }).toString();
        return JSON.parse(out);
    } catch (e) {
        return fail(`mien audit verify (${head}): exit ${e.status}: ${e.stdout} ${e.stderr}`);
    }
}

// ---- the phases ---------------------------------------------------------------------------

async function propagation(A, B) {
    const committed = new Array(FACES + 1), seen = new Array(FACES + 1);
    const enrolMs = [], searchMs = [];
    let done = false, searches = 0, failures = 0;
    const t0 = performance.now();
    const enrolling = (async () => {
        for (let k = 1; k <= FACES; k++) {
            const r = await enrol(A, `p${pad(k)}`);
            if (r.status !== 201) {
                fail(`enrol p${pad(k)} through A: HTTP ${r.status} ${r.text || r.error}`);
            }
            committed[k] = r.t1;
            enrolMs.push(r.t1 - r.t0);
            progress(`enrolment p${pad(k)} through A`, true);
            measured(enrolMs, searchMs);
        }
        done = true;
    })();
    const searching = (async () => {
        let left = 0, lastNew = performance.now();
        for (;;) {
            const r = await search(B, FACES);
            if (r.status !== 200) {
                failures++;
                if (failures > 5) fail(`search on B: HTTP ${r.status} ${r.text || r.error}`);
                continue;
            }
            searches++;
            searchMs.push(r.t1 - r.t0);
            measured(enrolMs, searchMs);
            for (const s of subjectsOf(r)) {
                const k = Number(s.slice(1));
                if (s[0] === 'p' && k >= 1 && k <= FACES && seen[k] === undefined) {
                    seen[k] = r.t1;
                    lastNew = r.t1;
                }
            }
            if (lastNew === r.t1) progress(`B's search ${searches} found new faces`, true);
            if (done) {
                left = 0;
                for (let k = 1; k <= FACES; k++) left += seen[k] === undefined;
                if (left === 0) break;
                // B keeps answering but finds nothing new: it stopped catching up
                if (performance.now() - lastNew > stallMs) {
                    fail(`${left} faces never reached B (none new for ` +
                         `${round((performance.now() - lastNew) / 1000)} s)`);
                }
            }
        }
    })();
    await Promise.all([enrolling, searching]);
    const delays = [];
    for (let k = 1; k <= FACES; k++) delays.push(seen[k] - committed[k]);
    delays.sort((a, b) => a - b);
    enrolMs.sort((a, b) => a - b);
    searchMs.sort((a, b) => a - b);
    const res = {
        faces: FACES, seconds: round((performance.now() - t0) / 1000), searches_on_b: searches,
        propagation_ms: { p50: round(pct(delays, 50)), p99: round(pct(delays, 99)),
            max: round(delays[delays.length - 1]), min: round(delays[0]) },
        enrol_a_ms_p50: round(pct(enrolMs, 50)), search_b_ms_p50: round(pct(searchMs, 50)),
        search_b_ms_p99: round(pct(searchMs, 99)),
    };
    log(`propagation: ${FACES} faces enrolled through A in ${res.seconds} s, ${searches} ` +
        `searches on B; delay p50 ${res.propagation_ms.p50} ms, p99 ${res.propagation_ms.p99} ` +
        `ms, max ${res.propagation_ms.max} ms (B's search itself: p50 ${res.search_b_ms_p50} ms)`);
    return res;
}

async function erasure(A, B) {
    const victim = `p${pad(Math.ceil(FACES / 2))}`;
    let r = await search(A, FACES);
    if (r.status !== 200 || !subjectsOf(r).includes(victim)) fail(`A does not find ${victim}`);
    r = await request(B, 'DELETE', `/v1/collections/people/subjects/${victim}`);
    if (r.status !== 200) fail(`erase ${victim} on B: HTTP ${r.status} ${r.text}`);
    r = await search(A, FACES);
    const names = subjectsOf(r);
    if (r.status !== 200 || names.includes(victim)) {
        fail(`A still names ${victim} after B erased it`);
    }
    if (names.length !== FACES - 1) fail(`A answers ${names.length} candidates, want ${FACES - 1}`);
    progress('erasure');
    log(`erasure: ${victim} erased through B is gone from A's next answer`);
    return victim;
}

async function sigkill(A, key) {
    const acked = new Map(); // subject → face_id
    const killAfter = 40 + Math.floor(Math.random() * Math.min(80, KILL_FACES - 50));
    const took = [];
    let inFlight = null, k = 1, killAt = 0;
    for (; k <= KILL_FACES; k++) {
        const subject = `k${pad(k)}`;
        const t = performance.now();
        const p = enrol(A, subject);
        if (acked.size === killAfter) {
            // somewhere inside this enrolment, most often before its commit (at its end): 30 to
            // 105 % of the usual time one takes
            took.sort((x, y) => x - y);
            killAt = (0.3 + 0.75 * Math.random()) * pct(took, 50);
            inFlight = subject;
            await sleep(Math.max(0, killAt - (performance.now() - t)));
            const killed = performance.now();
            A.child.kill('SIGKILL');
            const r = await p;
            if (r.status === 201) acked.set(subject, r.body.face_id);
            if (env.TWO_NODES_DEBUG) { // why the in-flight enrolment ended as it did
                log(`debug: in-flight status ${r.status} ${r.error || ''}, answered ` +
                    `${round(r.t1 - killed)} ms after the kill, request ${round(r.t1 - t)} ms`);
            }
            break;
        }
        const r = await p;
        if (r.status !== 201) fail(`enrol ${subject}: HTTP ${r.status} ${r.text || r.error}`);
        acked.set(subject, r.body.face_id);
        took.push(r.t1 - t);
        progress(`enrolment ${subject} before the kill`, true);
    }
    await new Promise((resolve) => (A.child.exitCode !== null || A.child.signalCode !== null
        ? resolve() : A.child.on('exit', resolve)));
    log(`sigkill: A killed after ${killAfter} acknowledged enrolments, ${round(killAt)} ms ` +
        `into the request for ${inFlight}`);
    const A2 = await startNode('a', key);
    let conflicts = 0;
    const inFlightAcked = acked.has(inFlight);
    const firstUnacked = inFlightAcked ? k + 1 : k;
    for (let j = firstUnacked; j <= KILL_FACES; j++) {
        const subject = `k${pad(j)}`;
        const r = await enrol(A2, subject);
        if (r.status === 409 && subject === inFlight) {
            conflicts++; // committed before the kill, its 201 lost with the connection
            continue;
        }
        if (r.status !== 201) fail(`resumed enrol ${subject}: HTTP ${r.status} ${r.text}`);
        acked.set(subject, r.body.face_id);
        progress(`resumed enrolment ${subject}`, true);
    }
    const ids = [...acked.values()];
    const present = Number(psql(`SELECT count(*) FROM faces WHERE id IN (${ids.join(',')})`));
    if (present !== ids.length) fail(`${ids.length - present} acknowledged faces are missing`);
    const [faces, subjects, most] = psql(
        "SELECT count(*), count(DISTINCT f.subject_id), coalesce(max(g.n), 0) FROM faces f" +
        " JOIN subjects s ON s.id = f.subject_id JOIN (SELECT subject_id, count(*) AS n" +
        " FROM faces GROUP BY subject_id) g ON g.subject_id = f.subject_id" +
        " WHERE s.external_id LIKE 'k%'").split('|').map(Number);
    if (faces !== KILL_FACES || subjects !== KILL_FACES || most !== 1) {
        fail(`after the kill: ${faces} faces of ${subjects} subjects (at most ${most} each), ` +
             `want ${KILL_FACES} of ${KILL_FACES}, 1 each`);
    }
    const inFlightFate = inFlightAcked ? 'answered 201 before the kill'
        : conflicts ? 'committed, answer lost (409 on retry)' : 'not committed (201 on retry)';
    log(`sigkill: restarted; all ${ids.length} acknowledged faces present, ${KILL_FACES} ` +
        `subjects with one face each, none lost, none duplicated; in-flight enrolment ` +
        `${inFlightFate}`);
    return { node: A2, result: { acknowledged_before_kill: killAfter,
        kill_ms_into_request: round(killAt), in_flight: inFlightFate } };
}

async function pgRestart(A, B) {
    const timeline = { a: [], b: [] };
    let resumeB = false, stop = false, tDown = Infinity;
    // B is polled until it has answered 503 once, then left alone (its connection dead) until
    // A has enrolled after the restart: the catch-up case.
    const pollB = () => resumeB || !timeline.b.some((e) => e.status === 503 && e.t > tDown);
    const poll = async (node, list, enabled) => {
        while (!stop) {
            if (enabled()) {
                const r = await request(node, 'GET', '/readyz');
                const last = list.length ? list[list.length - 1] : null;
                if (!last || last.status !== r.status) {
                    list.push({ t: r.t1, status: r.status,
                        reason: r.body && r.body.reason ? r.body.reason : undefined });
                }
            }
            await sleep(50);
        }
    };
    const pollers = [poll(A, timeline.a, () => true), poll(B, timeline.b, pollB)];
    await sleep(200);
    tDown = performance.now();
    let tUp = 0;
    await new Promise((resolve, reject) => {
        execFile(env.PG_CLUSTER, ['restart', env.CLUSTER, '2'], (e) => {
            if (e) reject(e);
            tUp = performance.now();
            resolve();
        });
    }).catch((e) => fail(`pg-cluster.sh restart: ${e}`));
    progress('PostgreSQL restarted');
    // A: back to 200 by itself (an answer that follows one of its 503s)
    const backAfter503 = (list) => {
        const down = list.findIndex((e) => e.status === 503 && e.t > tDown);
        const up = down < 0 ? -1 : list.findIndex((e, i) => i > down && e.status === 200);
        return up < 0 ? null : list[up];
    };
    while (!backAfter503(timeline.a)) {
        if (performance.now() - tUp > stallMs) {
            fail(`A did not become ready again (${round(stallMs / 1000)} s)`);
        }
        await sleep(20);
    }
    progress('A ready again');
    const aBack = backAfter503(timeline.a).t;
    const catchup = [];
    for (let k = 1; k <= CATCHUP_FACES; k++) {
        const r = await enrol(A, `r${pad(k)}`);
        if (r.status !== 201) {
            fail(`enrol r${pad(k)} after the restart: HTTP ${r.status} ${r.text}`);
        }
        catchup.push(`r${pad(k)}`);
        progress(`enrolment r${pad(k)} after the restart`, true);
    }
    const bAsked = performance.now();
    resumeB = true;
    while (!backAfter503(timeline.b)) {
        if (performance.now() - bAsked > stallMs) {
            fail(`B did not become ready again (${round(stallMs / 1000)} s)`);
        }
        await sleep(20);
    }
    progress('B ready again');
    const bBack = backAfter503(timeline.b).t;
    stop = true;
    await Promise.all(pollers);
    const a503 = timeline.a.find((e) => e.status === 503 && e.t > tDown);
    const b503 = timeline.b.find((e) => e.status === 503 && e.t > tDown);
    if (!a503 || !b503) {
        fail(`a node never reported not-ready: A ${JSON.stringify(timeline.a)} ` +
             `B ${JSON.stringify(timeline.b)}`);
    }
    const r = await search(B, FACES + KILL_FACES + CATCHUP_FACES);
    const names = subjectsOf(r);
    const missing = catchup.filter((s) => !names.includes(s));
    if (r.status !== 200 || missing.length) {
        const again = subjectsOf(await search(B, FACES + KILL_FACES + CATCHUP_FACES));
        fail(`B did not catch up: missing ${missing} (HTTP ${r.status}; ${names.length} ` +
             `candidates; a second search: ${again.length}, ${again.filter((x) => x[0] === 'r')})`);
    }
    // pg_ctl start -w returns a moment after the server accepts connections (it polls), so a
    // node polled every 50 ms may be back before tUp: a_ready_after_db_ms is then negative.
    const res = {
        restart_s: round((tUp - tDown) / 1000),
        a_503_after_ms: Math.round(a503.t - tDown), b_503_after_ms: Math.round(b503.t - tDown),
        a_not_ready_ms: Math.round(aBack - a503.t),
        a_ready_after_db_ms: Math.round(aBack - tUp),
        b_ready_after_first_ask_ms: Math.round(bBack - bAsked),
        reason_while_down: a503.reason,
    };
    log(`pg restart: stop, 2 s down, start took ${res.restart_s} s; A and B answered 503 ` +
        `(${a503.reason}); A answered 503 for ${res.a_not_ready_ms} ms and was ready ` +
        `${res.a_ready_after_db_ms} ms after pg_ctl start returned; B ready at its first ` +
        `/readyz (${res.b_ready_after_first_ask_ms} ms); B's first search found the ` +
        `${CATCHUP_FACES} faces A enrolled while B was cut off`);
    return res;
}

async function main() {
    const key = env.ADMIN_KEY;
    let A = await startNode('a', key);
    const B = await startNode('b', key);
    log(`nodes: A ${A.url}, B ${B.url}, store ${STORE.replace(/\/\/[^@]*@/, '//…@')}`);
    const r0 = await search(B, 10); // B loads the (empty) collection before A enrols
    if (r0.status !== 200) fail(`first search on B: HTTP ${r0.status} ${r0.text}`);
    progress('first search on B');
    const prop = await propagation(A, B);
    progress('propagation');
    await erasure(A, B);
    const killed = await sigkill(A, key);
    A = killed.node;
    const restart = await pgRestart(A, B);
    progress('PostgreSQL restart phase');
    const total = Number(psql('SELECT count(*) FROM faces'));
    const want = FACES - 1 + KILL_FACES + CATCHUP_FACES;
    if (total !== want) fail(`${total} faces in the store, want ${want}`);
    const va = auditVerify(`${TMP}/a.audit-head`), vb = auditVerify(`${TMP}/b.audit-head`);
    if (!va.ok || !vb.ok) fail(`audit verify: A ${JSON.stringify(va)} B ${JSON.stringify(vb)}`);
    log(`audit: the chain verifies against both nodes' signed heads (${va.entries} entries; ` +
        `A's head at ${va.head_seq}, B's at ${vb.head_seq})`);
    console.log(JSON.stringify({ case: 'two_nodes', ...prop, sigkill: killed.result,
        pg_restart: restart, audit_entries: va.entries,
        watchdog: { per_request_ms: round(perRequestMs), stall_limit_s: round(stallMs / 1000),
            longest_step_s: round(longest.ms / 1000), longest_step: longest.step,
            longest_request_step_ms: round(longestRequest.ms),
            longest_request_step: longestRequest.step,
            longest_request_step_x: round(longestRequest.ms / perRequestMs) } }));
    for (const c of children) c.kill('SIGTERM');
    await sleep(300);
    for (const c of children) c.kill('SIGKILL');
    process.exit(0);
}

main().catch((e) => fail(e.stack || String(e)));
