// net_client.mjs — the raw-socket attacks of tests/server/test_net.sh (issue 13 item 7), which
// curl cannot make: a request that declares a large body and sends little of it, connections
// beyond the per-address cap, and headers trickled slowly. Prints one line for the script to
// check; exits 0 unless its arguments are wrong.
//
//   node net_client.mjs early HOST:PORT PATH WAIT_MS [HEADER: VALUE]...
//       POST PATH declaring an 8 MiB body, send 64 KiB of it, then wait up to WAIT_MS for an
//       answer: "answered STATUS after SENT of DECLARED bytes: FIRST_LINE_OF_BODY", or
//       "no answer within WAIT_MS ms (SENT of DECLARED bytes sent)"
//   node net_client.mjs sigv4 HOST:PORT WAIT_MS KEY_ID SKEW_S
//       the same with a SigV4 Authorization (RekognitionService.IndexFaces) for access key
//       KEY_ID, X-Amz-Date SKEW_S seconds from now and a signature that cannot match
//   node net_client.mjs signed HOST:PORT KEY_ID SECRET OPERATION JSON [HEADER: VALUE]...
//       a whole Rekognition call RekognitionService.OPERATION, SigV4-signed (every header
//       sent is signed): "answered STATUS id REQUEST_ID: FIRST_LINE_OF_BODY"
//   node net_client.mjs cap HOST:PORT N
//       N idle connections, then one more: "refused" when the extra one is closed by the server
//       within 5 s while a request on the first of the N and one from 127.0.0.2 are answered
//       200; otherwise what happened
//   node net_client.mjs slow HOST:PORT LIMIT_MS
//       request headers, one line every 200 ms, never finished: "cut MS" when the server closes
//       the connection, "not cut after LIMIT_MS ms" otherwise
import crypto from "node:crypto";
import net from "node:net";

const DECLARED = 8 << 20;
const SENT = 64 << 10;
const [mode, hostport, ...rest] = process.argv.slice(2);
const [host, port] = (hostport || "").split(":");
if (!mode || !port) {
  console.error("usage: node net_client.mjs early|sigv4|cap|slow HOST:PORT ...");
  process.exit(2);
}

// Connects (from localAddress, when given); resolves with the socket once connected.
function connect(localAddress) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port: +port, localAddress }, () => resolve(s));
    s.on("error", reject);
  });
}

// Collects what arrives on s; resolves with the text when the server closes or a whole
// answer (head + Content-Length bytes) is in, or with null after ms.
function answer(s, ms) {
  return new Promise((resolve) => {
    let text = "";
    const done = (v) => { clearTimeout(t); resolve(v); };
    const t = setTimeout(() => done(text.length ? text : null), ms);
    const whole = () => {
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) return false;
      const m = /content-length:\s*(\d+)/i.exec(text.slice(0, end));
      return m && text.length >= end + 4 + +m[1];
    };
    s.on("data", (d) => { text += d.toString("latin1"); if (whole()) done(text); });
    s.on("end", () => done(text.length ? text : null));
    s.on("close", () => done(text.length ? text : null));
    s.on("error", () => done(text.length ? text : null));
  });
}

function summary(text) {
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  const body = text.slice(text.indexOf("\r\n\r\n") + 4).split("\n")[0];
  return `${status ? status[1] : "???"} after ${SENT} of ${DECLARED} bytes: ${body}`;
}

async function early(path, waitMs, headers) {
  const s = await connect();
  const got = answer(s, waitMs);
  s.write(`POST ${path} HTTP/1.1\r\nHost: ${hostport}\r\nContent-Length: ${DECLARED}\r\n` +
          headers.map((h) => h + "\r\n").join("") + "\r\n");
  s.write(Buffer.alloc(SENT, 0x41));
  const text = await got;
  console.log(text ? "answered " + summary(text)
                   : `no answer within ${waitMs} ms (${SENT} of ${DECLARED} bytes sent)`);
  s.destroy();
}

function amzDate(skewS) {
  return new Date(Date.now() + skewS * 1000).toISOString().replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

async function sigv4(waitMs, keyId, skewS) {
  const date = amzDate(+skewS);
  await early("/", waitMs, [
    "Content-Type: application/x-amz-json-1.1",
    "X-Amz-Target: RekognitionService.IndexFaces",
    `X-Amz-Date: ${date}`,
    `Authorization: AWS4-HMAC-SHA256 Credential=${keyId}/${date.slice(0, 8)}/us-east-1/` +
      "rekognition/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, " +
      "Signature=" + "0".repeat(64),
  ]);
}

const sha256 = (data) => crypto.createHash("sha256").update(data).digest("hex");
const hmac = (key, data) => crypto.createHmac("sha256", key).update(data).digest();

async function signed(keyId, secret, operation, json, extra) {
  const date = amzDate(0), day = date.slice(0, 8), region = "us-east-1";
  const headers = [["content-type", "application/x-amz-json-1.1"], ["host", hostport],
                   ["x-amz-date", date], ["x-amz-target", "RekognitionService." + operation],
                   ...extra.map((h) => [h.slice(0, h.indexOf(":")).toLowerCase(),
                                        h.slice(h.indexOf(":") + 1).trim()])]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const names = headers.map((h) => h[0]).join(";");
  const creq = ["POST", "/", "", ...headers.map((h) => `${h[0]}:${h[1]}`), "", names,
                sha256(json)].join("\n");
  const scope = `${day}/${region}/rekognition/aws4_request`;
  const sts = ["AWS4-HMAC-SHA256", date, scope, sha256(creq)].join("\n");
  let k = hmac("AWS4" + secret, day);
  for (const part of [region, "rekognition", "aws4_request"]) k = hmac(k, part);
  const sig = crypto.createHmac("sha256", k).update(sts).digest("hex");
  const s = await connect();
  const got = answer(s, 10000);
  s.write("POST / HTTP/1.1\r\n" + headers.map((h) => `${h[0]}: ${h[1]}\r\n`).join("") +
          `Content-Length: ${Buffer.byteLength(json)}\r\n` +
          `Authorization: AWS4-HMAC-SHA256 Credential=${keyId}/${scope}, SignedHeaders=${names}, ` +
          `Signature=${sig}\r\n\r\n` + json);
  const text = await got;
  const id = text && /x-amzn-requestid:\s*([0-9a-f-]+)/i.exec(text);
  const status = text && /^HTTP\/1\.[01] (\d{3})/.exec(text);
  console.log(text ? `answered ${status ? status[1] : "???"} id ${id ? id[1] : "none"}: ` +
                     text.slice(text.indexOf("\r\n\r\n") + 4).split("\n")[0]
                   : "no answer");
  s.destroy();
}

// One GET /healthz on s: its status, or what happened.
async function healthz(s) {
  const got = answer(s, 5000);
  s.write(`GET /healthz HTTP/1.1\r\nHost: ${hostport}\r\n\r\n`);
  const text = await got;
  const m = text && /^HTTP\/1\.[01] (\d{3})/.exec(text);
  return m ? m[1] : "no answer";
}

async function cap(n) {
  const held = [];
  for (let i = 0; i < n; i++) held.push(await connect());
  let extra;
  try {
    extra = await connect();
  } catch (e) {
    console.log("refused"); // refused at connect: also a refusal
    return finish(held);
  }
  const text = await answer(extra, 5000);
  const closed = extra.destroyed || extra.readableEnded;
  if (!closed) {
    console.log(`extra connection still open after 5 s${text ? ": " + text.split("\r\n")[0] : ""}`);
    return finish(held, extra);
  }
  const first = await healthz(held[0]);
  let other;
  try {
    other = await healthz(await connect("127.0.0.2"));
  } catch (e) {
    other = "cannot connect from 127.0.0.2: " + e.code;
  }
  console.log(first === "200" && other === "200" ? "refused"
              : `extra closed, but held connection: ${first}, from 127.0.0.2: ${other}`);
  finish(held, extra);
}

function finish(...sockets) {
  for (const s of sockets.flat()) s && s.destroy();
}

async function slow(limitMs) {
  const s = await connect();
  const t0 = Date.now();
  let cut = false;
  s.on("close", () => { cut = true; });
  s.on("error", () => {});
  s.write(`GET /healthz HTTP/1.1\r\nHost: ${hostport}\r\n`);
  while (!cut && Date.now() - t0 < limitMs) {
    await new Promise((r) => setTimeout(r, 200));
    if (!cut) s.write("X-Slow: a\r\n");
  }
  console.log(cut ? `cut ${Date.now() - t0}` : `not cut after ${limitMs} ms`);
  s.destroy();
}

if (mode === "early") await early(rest[0], +rest[1], rest.slice(2));
else if (mode === "sigv4") await sigv4(+rest[0], rest[1], rest[2]);
else if (mode === "signed") await signed(rest[0], rest[1], rest[2], rest[3], rest.slice(4));
else if (mode === "cap") await cap(+rest[0]);
else if (mode === "slow") await slow(+rest[0]);
else { console.error("unknown mode " + mode); process.exit(2); }
