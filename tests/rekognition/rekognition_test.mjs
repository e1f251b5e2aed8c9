// rekognition_test.mjs — the acceptance test of the Rekognition-compatible API
// (docs/rekognition.md): the real @aws-sdk/client-rekognition, endpoint pointed at
// `mien serve`, a mien key as credentials. Run by tests/rekognition/test_rekognition.sh with
//   MIEN_URL            the server (http://127.0.0.1:PORT)
//   MIEN_ADMIN_JSON     `mien keys create --role admin --json` output (AWS credentials)
//   MIEN_SEARCH_JSON    the same for a search-role key
//   MIEN_SAMPLES        models/samples (the face-api group photos from scripts/setup)
//   MIEN_NODE_MODULES   where scripts/rekognition-test-setup installed the SDK and jpeg-js
//
// Photos: three people, two photos each, cut out of the group photos with jpeg-js around the
// boxes DetectFaces reports: "ana" (sample1 and sample3: two real photos), "ben" (sample1 and
// sample4: two real photos), "cleo" (sample2, and a mirrored, differently framed copy). The
// two-person photo is two of those crops side by side. Prints one line per check and ends
// with "N passed, N failed".
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(path.join(process.env.MIEN_NODE_MODULES, "x.js"));
const R = require("@aws-sdk/client-rekognition");
const jpeg = require("jpeg-js");

const URL = process.env.MIEN_URL;
const SAMPLES = process.env.MIEN_SAMPLES;
const admin = JSON.parse(fs.readFileSync(process.env.MIEN_ADMIN_JSON, "utf8"));
const searcher = JSON.parse(fs.readFileSync(process.env.MIEN_SEARCH_JSON, "utf8"));

let passed = 0, failed = 0;
function check(name, cond, detail) {
  if (cond) { passed++; console.log(`  ok ${name}`); }
  else { failed++; console.log(`  FAILED ${name}${detail !== undefined ? ": " + JSON.stringify(detail).slice(0, 600) : ""}`); }
}
async function expectError(name, promise, cls, typeName) {
  try {
    const out = await promise;
    check(name, false, { unexpected: "success", out });
  } catch (e) {
    const okClass = cls ? e instanceof cls : e instanceof R.RekognitionServiceException;
    check(name, okClass && e.name === typeName && e.$metadata?.httpStatusCode >= 400,
          { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode });
    return e;
  }
}

// Every call carries the accountability headers mien reads (docs/rekognition.md "Headers");
// the last response's headers are kept for the review id.
let lastHeaders = {};
function client(creds, extraHeaders = {}) {
  const c = new R.RekognitionClient({
    endpoint: URL, region: "eu-west-1", maxAttempts: 1,
    credentials: { accessKeyId: creds.aws_access_key_id, secretAccessKey: creds.aws_secret_access_key },
  });
  c.middlewareStack.add((next) => async (args) => {
    Object.assign(args.request.headers, extraHeaders);
    return next(args);
  }, { step: "build", name: "mienHeaders" });
  c.middlewareStack.add((next) => async (args) => {
    const out = await next(args);
    lastHeaders = out.response?.headers ?? {};
    return out;
  }, { step: "deserialize", name: "mienResponseHeaders" });
  return c;
}
const HEADERS = {
  "x-mien-purposes": "access_control,lost_child",
  "x-mien-legal-basis": "consent, GDPR Art. 9(2)(a) (acceptance test)",
  "x-mien-consent-ref": "consent-form-7",
  "x-mien-case-ref": "rek-case-42",
};
const rek = client(admin, HEADERS);

// ---- photos ---------------------------------------------------------------------------------
const decoded = {};
function sample(k) {
  if (!decoded[k]) {
    const bytes = fs.readFileSync(path.join(SAMPLES, `sample${k}.jpg`));
    decoded[k] = { bytes, img: jpeg.decode(bytes, { useTArray: true, maxMemoryUsageInMB: 1024 }) };
  }
  return decoded[k];
}
// The face boxes of sample k (pixels), sorted left to right, from mien's DetectFaces.
const boxesOf = {};
async function boxes(k) {
  if (!boxesOf[k]) {
    const s = sample(k);
    const out = await rek.send(new R.DetectFacesCommand({ Image: { Bytes: s.bytes } }));
    boxesOf[k] = out.FaceDetails.map((d) => ({
      x: d.BoundingBox.Left * s.img.width, y: d.BoundingBox.Top * s.img.height,
      w: d.BoundingBox.Width * s.img.width, h: d.BoundingBox.Height * s.img.height,
    })).sort((a, b) => a.x - b.x);
  }
  return boxesOf[k];
}
// A square crop of sample k around face `i` (left to right), `margin` face sizes on each
// side, optionally mirrored: a JPEG (raw pixels in .rgba/.w/.h).
async function crop(k, i, margin, mirror = false) {
  const b = (await boxes(k))[i];
  const { img } = sample(k);
  const side = Math.round(Math.max(b.w, b.h) * (1 + 2 * margin));
  const cx = b.x + b.w / 2, cy = b.y + b.h / 2;
  const x0 = Math.max(0, Math.round(cx - side / 2)), y0 = Math.max(0, Math.round(cy - side / 2));
  const w = Math.min(side, img.width - x0), h = Math.min(side, img.height - y0);
  const rgba = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sx = x0 + (mirror ? w - 1 - x : x), s = ((y0 + y) * img.width + sx) * 4, d = (y * w + x) * 4;
      rgba[d] = img.data[s]; rgba[d + 1] = img.data[s + 1]; rgba[d + 2] = img.data[s + 2]; rgba[d + 3] = 255;
    }
  }
  return { jpeg: Buffer.from(jpeg.encode({ data: rgba, width: w, height: h }, 92).data), rgba, w, h };
}
// Two crops side by side on a grey canvas: a two-person photo.
function sideBySide(a, b) {
  const gap = 60, W = a.w + b.w + 3 * gap, H = Math.max(a.h, b.h) + 2 * gap;
  const rgba = new Uint8Array(W * H * 4).fill(128);
  const put = (c, ox, oy) => {
    for (let y = 0; y < c.h; y++) {
      rgba.set(c.rgba.subarray(y * c.w * 4, (y + 1) * c.w * 4), ((oy + y) * W + ox) * 4);
    }
  };
  put(a, gap, gap);
  put(b, 2 * gap + a.w, gap);
  return Buffer.from(jpeg.encode({ data: rgba, width: W, height: H }, 92).data);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const inUnit = (bb) => bb && [bb.Left, bb.Top, bb.Width, bb.Height].every((v) => typeof v === "number" && v > -0.05 && v < 1.05);

async function main() {
  const C = "rek-people";
  // ---- DetectFaces on the group photos (also gives the crop boxes) ----
  check("DetectFaces: 3 faces in sample1", (await boxes(1)).length === 3, boxesOf[1]);
  await boxes(2); await boxes(3); await boxes(4);
  const photos = {
    ana: [await crop(1, 2, 0.5), await crop(3, 1, 0.5)],
    ben: [await crop(1, 1, 0.5), await crop(4, 0, 0.5)],
    cleo: [await crop(2, 2, 0.5), await crop(2, 2, 0.7, true)],
  };

  // ---- CreateCollection ----
  const created = await rek.send(new R.CreateCollectionCommand({ CollectionId: C }));
  check("CreateCollection", created.StatusCode === 200 && /collection\/rek-people$/.test(created.CollectionArn) &&
        /^mien\//.test(created.FaceModelVersion), created);
  await expectError("CreateCollection again → ResourceAlreadyExistsException",
    rek.send(new R.CreateCollectionCommand({ CollectionId: C })), R.ResourceAlreadyExistsException,
    "ResourceAlreadyExistsException");
  await expectError("CreateCollection without a declared purpose → InvalidParameterException",
    client(admin).send(new R.CreateCollectionCommand({ CollectionId: "no-policy" })),
    R.InvalidParameterException, "InvalidParameterException");

  // ---- IndexFaces: three people, two photos each ----
  const faceIds = { ana: [], ben: [], cleo: [] };
  for (const who of Object.keys(photos)) {
    for (const p of photos[who]) {
      const out = await rek.send(new R.IndexFacesCommand({
        CollectionId: C, Image: { Bytes: p.jpeg }, ExternalImageId: who, MaxFaces: 1,
        QualityFilter: "AUTO", DetectionAttributes: ["ALL"],
      }));
      const rec = out.FaceRecords?.[0];
      check(`IndexFaces ${who}`, out.FaceRecords?.length === 1 && UUID.test(rec.Face.FaceId) &&
            rec.Face.ExternalImageId === who && UUID.test(rec.Face.ImageId) && inUnit(rec.Face.BoundingBox) &&
            rec.Face.Confidence > 50 && rec.FaceDetail.Landmarks.length === 5 &&
            rec.FaceDetail.AgeRange === undefined && rec.FaceDetail.Gender === undefined &&
            rec.FaceDetail.Emotions === undefined, out);
      if (rec) faceIds[who].push(rec.Face.FaceId);
    }
  }
  const allIds = [...faceIds.ana, ...faceIds.ben, ...faceIds.cleo];
  check("FaceIds distinct", new Set(allIds).size === 6, allIds);

  // ---- ListFaces ----
  const listed = await rek.send(new R.ListFacesCommand({ CollectionId: C }));
  const byExt = {};
  for (const f of listed.Faces ?? []) (byExt[f.ExternalImageId] ??= []).push(f.FaceId);
  check("ListFaces: 6 faces, 2 per person, the indexed FaceIds",
        listed.Faces?.length === 6 && ["ana", "ben", "cleo"].every((w) =>
          byExt[w]?.length === 2 && byExt[w].every((id) => faceIds[w].includes(id))), listed.Faces);
  const page1 = await rek.send(new R.ListFacesCommand({ CollectionId: C, MaxResults: 4 }));
  const page2 = await rek.send(new R.ListFacesCommand({ CollectionId: C, MaxResults: 4, NextToken: page1.NextToken }));
  check("ListFaces pages", page1.Faces.length === 4 && page1.NextToken && page2.Faces.length === 2 &&
        !page2.NextToken && new Set([...page1.Faces, ...page2.Faces].map((f) => f.FaceId)).size === 6,
        { p1: page1.NextToken, n2: page2.Faces?.length });
  const described = await rek.send(new R.DescribeCollectionCommand({ CollectionId: C }));
  check("DescribeCollection", described.FaceCount === 6 && described.UserCount === 3 &&
        described.CreationTimestamp instanceof Date, described);
  const cols = await rek.send(new R.ListCollectionsCommand({}));
  check("ListCollections", cols.CollectionIds.includes(C), cols);

  // ---- SearchFacesByImage ----
  // sample3 is a group photo; its largest face is ana (indexed from sample1 and sample3).
  const s3 = await rek.send(new R.SearchFacesByImageCommand({
    CollectionId: C, Image: { Bytes: sample(3).bytes }, MaxFaces: 5, FaceMatchThreshold: 80 }));
  const box3 = boxesOf[3][1];
  check("SearchFacesByImage: ana first", s3.FaceMatches?.[0]?.Face?.ExternalImageId === "ana" &&
        s3.FaceMatches[0].Similarity >= 80 && s3.FaceMatches[0].Similarity <= 100, s3.FaceMatches);
  check("SearchFacesByImage: the largest face searched",
        Math.abs(s3.SearchedFaceBoundingBox.Left * sample(3).img.width - box3.x) < 4 &&
        s3.SearchedFaceConfidence > 50, s3.SearchedFaceBoundingBox);
  check("SearchFacesByImage: a review id in X-Mien-Review-Id", /^[0-9a-f]{32}$/.test(lastHeaders["x-mien-review-id"] ?? ""),
        lastHeaders);
  // A person is ranked by the aggregate of its faces; FaceMatches lists each of its faces that
  // matched on its own, every face once, best first.
  check("SearchFacesByImage: every matching face once, best first",
        new Set(s3.FaceMatches.map((m) => m.Face.FaceId)).size === s3.FaceMatches.length &&
        s3.FaceMatches.every((m, k) => m.Similarity >= 80 &&
          (k === 0 || s3.FaceMatches[k - 1].Similarity >= m.Similarity)), s3.FaceMatches);
  for (const [who, k, i] of [["ben", 4, 0], ["cleo", 2, 2]]) {
    const probe = await crop(k, i, 0.9, true);
    const out = await rek.send(new R.SearchFacesByImageCommand({ CollectionId: C, Image: { Bytes: probe.jpeg }, FaceMatchThreshold: 50 }));
    check(`SearchFacesByImage: ${who} first`, out.FaceMatches?.[0]?.Face?.ExternalImageId === who, out.FaceMatches);
  }
  const strict = await rek.send(new R.SearchFacesByImageCommand({
    CollectionId: C, Image: { Bytes: sample(3).bytes }, FaceMatchThreshold: 99.99 }));
  check("SearchFacesByImage: FaceMatchThreshold is honoured", strict.FaceMatches.every((m) => m.Similarity >= 99.99),
        strict.FaceMatches);

  // ---- the Users API: a mien subject is a user ----
  const su = await rek.send(new R.SearchUsersByImageCommand({ CollectionId: C, Image: { Bytes: sample(3).bytes } }));
  check("SearchUsersByImage: ana first, the other two faces unsearched",
        su.UserMatches?.[0]?.User?.UserId === "ana" && su.UserMatches[0].Similarity >= 80 &&
        inUnit(su.SearchedFace?.FaceDetail?.BoundingBox) && su.UnsearchedFaces?.length === 2 &&
        su.UnsearchedFaces.every((u) => u.Reasons.includes("FACE_NOT_LARGEST")), su);
  const users = await rek.send(new R.ListUsersCommand({ CollectionId: C }));
  check("ListUsers: ana, ben, cleo", users.Users?.map((u) => u.UserId).sort().join() === "ana,ben,cleo", users);

  // ---- SearchFaces (by FaceId) ----
  const sf = await rek.send(new R.SearchFacesCommand({ CollectionId: C, FaceId: faceIds.cleo[0], FaceMatchThreshold: 50 }));
  check("SearchFaces: cleo's other face first, never the face itself",
        sf.SearchedFaceId === faceIds.cleo[0] && sf.FaceMatches?.[0]?.Face?.FaceId === faceIds.cleo[1] &&
        sf.FaceMatches.every((m) => m.Face.FaceId !== faceIds.cleo[0]), sf);

  // ---- CompareFaces: ana (sample1) against the three faces of sample3 ----
  const cmp = await rek.send(new R.CompareFacesCommand({
    SourceImage: { Bytes: photos.ana[0].jpeg }, TargetImage: { Bytes: sample(3).bytes }, SimilarityThreshold: 80 }));
  check("CompareFaces: one match, two unmatched", cmp.FaceMatches?.length === 1 && cmp.UnmatchedFaces?.length === 2, cmp);
  check("CompareFaces: the match is ana's face in sample3",
        cmp.FaceMatches?.length === 1 && Math.abs(cmp.FaceMatches[0].Face.BoundingBox.Left * sample(3).img.width - box3.x) < 4 &&
        cmp.FaceMatches[0].Similarity >= 90 && inUnit(cmp.SourceImageFace.BoundingBox), cmp.FaceMatches);
  console.log(`  info: CompareFaces ana (sample1) vs ana (sample3): Similarity ${cmp.FaceMatches?.[0]?.Similarity}`);
  const cmpBen = await rek.send(new R.CompareFacesCommand({
    SourceImage: { Bytes: photos.ben[0].jpeg }, TargetImage: { Bytes: photos.ben[1].jpeg }, SimilarityThreshold: 0 }));
  console.log(`  info: CompareFaces ben (sample1) vs ben (sample4): Similarity ${cmpBen.FaceMatches?.[0]?.Similarity}`);
  const cmp2 = await rek.send(new R.CompareFacesCommand({
    SourceImage: { Bytes: photos.ben[0].jpeg }, TargetImage: { Bytes: photos.ana[0].jpeg } }));
  check("CompareFaces: different people do not match at the default 80", cmp2.FaceMatches.length === 0 &&
        cmp2.UnmatchedFaces.length === 1, cmp2);
  const cmp3 = await rek.send(new R.CompareFacesCommand({
    SourceImage: { Bytes: photos.ben[0].jpeg }, TargetImage: { Bytes: photos.ana[0].jpeg }, SimilarityThreshold: 0 }));
  console.log(`  info: CompareFaces ben vs ana: Similarity ${cmp3.FaceMatches?.[0]?.Similarity}`);

  // ---- DetectFaces: two faces in a two-person photo; no demographic attributes ----
  const two = sideBySide(photos.ana[0], photos.ben[0]);
  const det = await rek.send(new R.DetectFacesCommand({ Image: { Bytes: two }, Attributes: ["ALL"] }));
  const lefts = (det.FaceDetails ?? []).map((d) => d.BoundingBox.Left).sort((x, y) => x - y);
  check("DetectFaces: two faces, one in each half", det.FaceDetails?.length === 2 && lefts[0] < 0.5 && lefts[1] > 0.5,
        det.FaceDetails?.map((d) => [d.BoundingBox, d.Confidence]));
  const d0 = det.FaceDetails?.[0] ?? {};
  check("DetectFaces: BoundingBox, Confidence, Landmarks, Pose, Quality",
        inUnit(d0.BoundingBox) && d0.Confidence > 50 &&
        d0.Landmarks?.map((l) => l.Type).join() === "eyeLeft,eyeRight,nose,mouthLeft,mouthRight" &&
        typeof d0.Pose?.Yaw === "number" && d0.Quality?.Sharpness >= 0 && d0.Quality?.Brightness >= 0, d0);
  check("DetectFaces ALL: no age, gender or emotion", ["AgeRange", "Gender", "Emotions", "Smile"].every((k) => !(k in d0)), Object.keys(d0));
  await expectError("DetectFaces GENDER → InvalidParameterException",
    rek.send(new R.DetectFacesCommand({ Image: { Bytes: two }, Attributes: ["GENDER"] })),
    R.InvalidParameterException, "InvalidParameterException");

  // ---- errors, typed by the SDK ----
  await expectError("wrong secret → AccessDeniedException",
    client({ ...admin, aws_secret_access_key: admin.aws_secret_access_key.replace(/^./, (c) => (c === "A" ? "B" : "A")) })
      .send(new R.ListCollectionsCommand({})), R.AccessDeniedException, "AccessDeniedException");
  const skewed = new R.RekognitionClient({ endpoint: URL, region: "eu-west-1", maxAttempts: 1,
    systemClockOffset: -2 * 3600 * 1000,
    credentials: { accessKeyId: admin.aws_access_key_id, secretAccessKey: admin.aws_secret_access_key } });
  await expectError("a clock 2 h off → InvalidSignatureException",
    skewed.send(new R.ListCollectionsCommand({})), null, "InvalidSignatureException");
  for (const [what, authz] of [["unsigned", null], ["garbage Authorization", "AWS4-HMAC-SHA256 nonsense"],
                               ["a bearer key", "Bearer mien_x"]]) {
    const headers = { "x-amz-target": "RekognitionService.ListCollections", "content-type": "application/x-amz-json-1.1" };
    if (authz) headers.authorization = authz;
    const res = await fetch(URL + "/", { method: "POST", headers, body: "{}" });
    const body = await res.json().catch(() => ({}));
    check(`raw ${what} request → 400 AccessDeniedException`, res.status === 400 && body.__type === "AccessDeniedException" &&
          res.headers.get("content-type") === "application/x-amz-json-1.1", { status: res.status, body });
  }
  await expectError("unknown access key → AccessDeniedException",
    client({ aws_access_key_id: "000000000000", aws_secret_access_key: admin.aws_secret_access_key })
      .send(new R.ListCollectionsCommand({})), R.AccessDeniedException, "AccessDeniedException");
  await expectError("search key may not IndexFaces → AccessDeniedException",
    client(searcher, HEADERS).send(new R.IndexFacesCommand({ CollectionId: C, Image: { Bytes: photos.ana[0].jpeg } })),
    R.AccessDeniedException, "AccessDeniedException");
  await expectError("unknown operation (DetectLabels) → UnknownOperationException",
    rek.send(new R.DetectLabelsCommand({ Image: { Bytes: photos.ana[0].jpeg } })), null, "UnknownOperationException");
  const broken = client(admin, HEADERS);
  broken.middlewareStack.add((next) => async (args) => {
    args.request.body = "{\"CollectionId\": ";
    args.request.headers["content-length"] = String(Buffer.byteLength(args.request.body));
    return next(args);
  }, { step: "build", name: "breakBody" });
  await expectError("malformed JSON body → SerializationException",
    broken.send(new R.DescribeCollectionCommand({ CollectionId: C })), null, "SerializationException");
  await expectError("missing Image → InvalidParameterException",
    rek.send(new R.IndexFacesCommand({ CollectionId: C })), R.InvalidParameterException, "InvalidParameterException");
  await expectError("not an image → InvalidImageFormatException",
    rek.send(new R.DetectFacesCommand({ Image: { Bytes: Buffer.from("hello, this is not a picture") } })),
    R.InvalidImageFormatException, "InvalidImageFormatException");
  const s3err = await expectError("S3Object → InvalidParameterException",
    rek.send(new R.DetectFacesCommand({ Image: { S3Object: { Bucket: "b", Name: "n.jpg" } } })),
    R.InvalidParameterException, "InvalidParameterException");
  check("S3Object: the message says why", /S3/.test(s3err?.message ?? ""), s3err?.message);
  await expectError("unknown collection → ResourceNotFoundException",
    rek.send(new R.DescribeCollectionCommand({ CollectionId: "nobody" })), R.ResourceNotFoundException,
    "ResourceNotFoundException");
  await expectError("no face → InvalidParameterException",
    rek.send(new R.SearchFacesByImageCommand({ CollectionId: C, Image: { Bytes: sideBySide(
      { rgba: new Uint8Array(40 * 40 * 4).fill(200), w: 40, h: 40 }, { rgba: new Uint8Array(40 * 40 * 4).fill(90), w: 40, h: 40 }) } })),
    R.InvalidParameterException, "InvalidParameterException");
  // the server runs one inference worker with a queue of one: a burst is partly refused
  const burst = await Promise.allSettled(Array.from({ length: 8 }, () =>
    rek.send(new R.DetectFacesCommand({ Image: { Bytes: sample(1).bytes } }))));
  const throttled = burst.filter((b) => b.status === "rejected" && b.reason instanceof R.ThrottlingException);
  const served = burst.filter((b) => b.status === "fulfilled" && b.value.FaceDetails.length === 3);
  check("a burst over the queue → ThrottlingException for some, answers for the others",
        throttled.length >= 1 && served.length >= 1 && throttled.length + served.length === 8 &&
        throttled[0].reason.$metadata.httpStatusCode === 500,
        burst.map((b) => b.status === "fulfilled" ? "ok" : b.reason.name));
  const still = await rek.send(new R.ListCollectionsCommand({}));
  check("still serving after the errors", still.CollectionIds.includes(C), still);

  // ---- DeleteFaces ----
  const partial = await rek.send(new R.DeleteFacesCommand({ CollectionId: C, FaceIds: [faceIds.ben[0]] }));
  check("DeleteFaces: one of ben's two faces is refused (mien erases people)",
        partial.DeletedFaces.length === 0 && partial.UnsuccessfulFaceDeletions?.[0]?.Reasons?.[0] ===
          "ASSOCIATED_TO_AN_EXISTING_USER" && partial.UnsuccessfulFaceDeletions[0].UserId === "ben", partial);
  const bogus = faceIds.cleo[0].replace(/.{4}$/, "ffff");
  const del = await rek.send(new R.DeleteFacesCommand({ CollectionId: C, FaceIds: [...faceIds.cleo, bogus] }));
  check("DeleteFaces: both of cleo's faces", del.DeletedFaces.length === 2 &&
        faceIds.cleo.every((id) => del.DeletedFaces.includes(id)) &&
        del.UnsuccessfulFaceDeletions.length === 1 && del.UnsuccessfulFaceDeletions[0].Reasons[0] === "FACE_NOT_FOUND", del);
  const after = await rek.send(new R.ListFacesCommand({ CollectionId: C }));
  check("ListFaces after DeleteFaces: 4, no cleo", after.Faces.length === 4 &&
        after.Faces.every((f) => f.ExternalImageId !== "cleo"), after.Faces);
  const gone = await rek.send(new R.SearchFacesByImageCommand({
    CollectionId: C, Image: { Bytes: (await crop(2, 2, 0.9, true)).jpeg }, FaceMatchThreshold: 80 }));
  check("SearchFacesByImage after DeleteFaces: cleo not found", gone.FaceMatches.every((m) => m.Face.ExternalImageId !== "cleo"),
        gone.FaceMatches);

  // ---- DeleteCollection ----
  const dropped = await rek.send(new R.DeleteCollectionCommand({ CollectionId: C }));
  check("DeleteCollection", dropped.StatusCode === 200, dropped);
  await expectError("DescribeCollection after DeleteCollection → ResourceNotFoundException",
    rek.send(new R.DescribeCollectionCommand({ CollectionId: C })), R.ResourceNotFoundException,
    "ResourceNotFoundException");
}

main().catch((e) => { failed++; console.log(`  FAILED unexpected error: ${e.name}: ${e.message}\n${e.stack}`); })
  .finally(() => { console.log(`${passed} passed, ${failed} failed`); process.exit(failed ? 1 : 0); });
