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
// Searches and compares must declare their purpose and case (X-Mien-Purpose, X-Mien-Case-Ref),
// and every X-Mien header must be signed: a middleware at the "build" step runs before the
// SDK's signer, so the headers it adds are signed.
const HEADERS = {
  "x-mien-purposes": "access_control,lost_child",
  "x-mien-legal-basis": "consent, GDPR Art. 9(2)(a) (acceptance test)",
  "x-mien-consent-ref": "consent-form-7",
  "x-mien-purpose": "access_control",
  "x-mien-case-ref": "rek-case-42",
};
const rek = client(admin, HEADERS);
// CompareFaces' purpose is one of the server's --compare-purposes (default identity_verification)
const comparer = client(admin, { ...HEADERS, "x-mien-purpose": "identity_verification" });
// A client that adds a header after the signature was computed (the "deserialize" step runs
// last, just before the request is sent): the header travels unsigned.
function unsignedClient(creds, headers, late) {
  const c = client(creds, headers);
  c.middlewareStack.add((next) => async (args) => {
    Object.assign(args.request.headers, late);
    return next(args);
  }, { step: "deserialize", name: "mienLateHeaders" });
  return c;
}

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

  // ---- accountability: purpose and case declared, and signed ----
  const searchSample3 = (c) => c.send(new R.SearchFacesByImageCommand({ CollectionId: C, Image: { Bytes: sample(3).bytes } }));
  const { "x-mien-purpose": _p, ...noPurpose } = HEADERS;
  const { "x-mien-case-ref": _c, ...noCase } = HEADERS;
  const e1 = await expectError("SearchFacesByImage without X-Mien-Purpose → InvalidParameterException",
    searchSample3(client(searcher, noPurpose)), R.InvalidParameterException, "InvalidParameterException");
  check("… the message names both headers and the missing one",
        /X-Mien-Purpose/.test(e1?.message ?? "") && /X-Mien-Case-Ref/.test(e1?.message ?? "") &&
        /missing: X-Mien-Purpose/.test(e1?.message ?? ""), e1?.message);
  const e2 = await expectError("SearchFacesByImage without X-Mien-Case-Ref → InvalidParameterException",
    searchSample3(client(searcher, noCase)), R.InvalidParameterException, "InvalidParameterException");
  check("… the message names X-Mien-Case-Ref", /missing: X-Mien-Case-Ref/.test(e2?.message ?? ""), e2?.message);
  await expectError("SearchFaces without X-Mien-Purpose → InvalidParameterException",
    client(searcher, noPurpose).send(new R.SearchFacesCommand({ CollectionId: C, FaceId: faceIds.ana[0] })),
    R.InvalidParameterException, "InvalidParameterException");
  await expectError("CompareFaces without X-Mien-Purpose → InvalidParameterException",
    client(admin, noPurpose).send(new R.CompareFacesCommand({
      SourceImage: { Bytes: photos.ana[0].jpeg }, TargetImage: { Bytes: photos.ana[1].jpeg } })),
    R.InvalidParameterException, "InvalidParameterException");
  const e3 = await expectError("an unsigned X-Mien-Purpose → AccessDeniedException",
    searchSample3(unsignedClient(searcher, noPurpose, { "x-mien-purpose": "lost_child" })),
    R.AccessDeniedException, "AccessDeniedException");
  check("… the message says the header is not signed", /x-mien-purpose is not signed/i.test(e3?.message ?? ""), e3?.message);
  await expectError("a signed purpose replaced after signing → AccessDeniedException",
    searchSample3(unsignedClient(searcher, HEADERS, { "x-mien-case-ref": "someone-elses-case" })),
    R.AccessDeniedException, "AccessDeniedException");
  const fine = await searchSample3(client(searcher, HEADERS));
  check("a search key with both headers signed searches", fine.FaceMatches?.[0]?.Face?.ExternalImageId === "ana", fine.FaceMatches);

  // ---- caps: MaxFaces and the threshold lowered to the collection's policy ----
  const loose = await client(searcher, HEADERS).send(new R.SearchFacesByImageCommand({
    CollectionId: C, Image: { Bytes: sample(3).bytes }, MaxFaces: 4096, FaceMatchThreshold: 0 }));
  check("threshold 0 is lowered to the default FMR cap 1e-2 (Similarity >= 61)",
        loose.FaceMatches.length >= 1 && loose.FaceMatches.every((m) => m.Similarity >= 61 - 1e-9), loose.FaceMatches);
  const CAP = "rek-capped";
  await expectError("CreateCollection with X-Mien-Max-Candidates 0 → InvalidParameterException",
    client(admin, { ...HEADERS, "x-mien-max-candidates": "0" }).send(new R.CreateCollectionCommand({ CollectionId: CAP })),
    R.InvalidParameterException, "InvalidParameterException");
  const capped = client(admin, { ...HEADERS, "x-mien-max-fmr": "1", "x-mien-max-candidates": "2" });
  await capped.send(new R.CreateCollectionCommand({ CollectionId: CAP }));
  for (const who of ["ana", "ben", "cleo"]) {
    await capped.send(new R.IndexFacesCommand({ CollectionId: CAP, Image: { Bytes: photos[who][0].jpeg }, ExternalImageId: who }));
  }
  const all = await client(searcher, HEADERS).send(new R.SearchFacesByImageCommand({
    CollectionId: CAP, Image: { Bytes: sample(3).bytes }, MaxFaces: 4096, FaceMatchThreshold: 0 }));
  check("MaxFaces 4096 at threshold 0 → the collection's cap of 2 matches", all.FaceMatches?.length === 2, all.FaceMatches);
  const su2 = await client(searcher, HEADERS).send(new R.SearchUsersByImageCommand({
    CollectionId: CAP, Image: { Bytes: sample(3).bytes }, MaxUsers: 500, UserMatchThreshold: 0 }));
  check("SearchUsersByImage MaxUsers 500 → the cap of 2", su2.UserMatches?.length === 2, su2.UserMatches);
  const sf2 = await client(searcher, HEADERS).send(new R.SearchFacesCommand({
    CollectionId: CAP, FaceId: (await capped.send(new R.ListFacesCommand({ CollectionId: CAP }))).Faces[0].FaceId,
    MaxFaces: 4096, FaceMatchThreshold: 0 }));
  // the searched face is one of the search's two candidates and never a match
  check("SearchFaces MaxFaces 4096 → at most the cap of 2", sf2.FaceMatches?.length >= 1 &&
        sf2.FaceMatches.length <= 2, sf2.FaceMatches);
  await rek.send(new R.DeleteCollectionCommand({ CollectionId: CAP }));

  // ---- the Users API: a mien subject is a user ----
  const su = await rek.send(new R.SearchUsersByImageCommand({ CollectionId: C, Image: { Bytes: sample(3).bytes } }));
  check("SearchUsersByImage: ana first, the other two faces unsearched",
        su.UserMatches?.[0]?.User?.UserId === "ana" && su.UserMatches[0].Similarity >= 80 &&
        inUnit(su.SearchedFace?.FaceDetail?.BoundingBox) && su.UnsearchedFaces?.length === 2 &&
        su.UnsearchedFaces.every((u) => u.Reasons.includes("FACE_NOT_LARGEST")), su);
  const users = await rek.send(new R.ListUsersCommand({ CollectionId: C }));
  check("ListUsers: ana, ben, cleo", users.Users?.map((u) => u.UserId).sort().join() === "ana,ben,cleo", users);

  // ---- the Users API in full, on a collection of its own: faces indexed without an
  // ExternalImageId belong to no user until AssociateFaces (docs/rekognition.md "Users") ----
  const U = "rek-users";
  // max FMR 1: SearchUsers by UserId below ranks ben at threshold 0 (a different person)
  await client(admin, { ...HEADERS, "x-mien-max-fmr": "1" }).send(new R.CreateCollectionCommand({ CollectionId: U }));
  const unowned = { ana: [], ben: [] };
  for (const who of Object.keys(unowned)) {
    for (const p of photos[who]) {
      const out = await rek.send(new R.IndexFacesCommand({ CollectionId: U, Image: { Bytes: p.jpeg }, MaxFaces: 1 }));
      const f = out.FaceRecords?.[0]?.Face;
      check(`IndexFaces without ExternalImageId (${who}): a face of no user`, f && UUID.test(f.FaceId) &&
            f.UserId === undefined && f.ExternalImageId === undefined, out.FaceRecords);
      if (f) unowned[who].push(f.FaceId);
    }
  }
  const USER_ID = /^[a-zA-Z0-9_.\-:]+$/;
  const anaProbe = (await crop(3, 1, 0.9, true)).jpeg;
  const noUser = await rek.send(new R.SearchUsersByImageCommand({ CollectionId: U, Image: { Bytes: anaProbe } }));
  check("SearchUsersByImage: faces of no user are no user's match (no rekognition/<uuid>/1 UserId)",
        noUser.UserMatches?.length === 0, noUser.UserMatches);
  check("ListUsers: no users yet", (await rek.send(new R.ListUsersCommand({ CollectionId: U }))).Users?.length === 0);
  check("CreateUser ana", (await rek.send(new R.CreateUserCommand({ CollectionId: U, UserId: "ana" }))) !== undefined);
  const fresh = await rek.send(new R.ListUsersCommand({ CollectionId: U }));
  check("ListUsers: ana, CREATED", fresh.Users?.length === 1 && fresh.Users[0].UserId === "ana" &&
        fresh.Users[0].UserStatus === "CREATED", fresh.Users);
  await expectError("CreateUser ana again → ConflictException",
    rek.send(new R.CreateUserCommand({ CollectionId: U, UserId: "ana" })), R.ConflictException, "ConflictException");
  await expectError("CreateUser with a bad UserId → InvalidParameterException",
    rek.send(new R.CreateUserCommand({ CollectionId: U, UserId: "ana/1" })), R.InvalidParameterException,
    "InvalidParameterException");
  await expectError("CreateUser with a search key → AccessDeniedException",
    client(searcher, HEADERS).send(new R.CreateUserCommand({ CollectionId: U, UserId: "eve" })),
    R.AccessDeniedException, "AccessDeniedException");
  await expectError("AssociateFaces to an unknown user → ResourceNotFoundException",
    rek.send(new R.AssociateFacesCommand({ CollectionId: U, UserId: "nobody", FaceIds: [unowned.ana[0]] })),
    R.ResourceNotFoundException, "ResourceNotFoundException");
  const assoc = await rek.send(new R.AssociateFacesCommand({ CollectionId: U, UserId: "ana", FaceIds: unowned.ana }));
  check("AssociateFaces: ana's two faces", assoc.AssociatedFaces?.length === 2 &&
        unowned.ana.every((id) => assoc.AssociatedFaces.some((a) => a.FaceId === id)) &&
        assoc.UnsuccessfulFaceAssociations?.length === 0 && assoc.UserStatus === "ACTIVE", assoc);
  const bogusFace = unowned.ben[0].replace(/.{4}$/, "ffff");
  const wrong = await rek.send(new R.AssociateFacesCommand({ CollectionId: U, UserId: "ana", FaceIds: [unowned.ben[0], bogusFace] }));
  const reason = (id) => wrong.UnsuccessfulFaceAssociations?.find((u) => u.FaceId === id)?.Reasons?.[0];
  check("AssociateFaces: ben's face does not match ana (LOW_MATCH_CONFIDENCE), an unknown FaceId FACE_NOT_FOUND",
        wrong.AssociatedFaces?.length === 0 && reason(unowned.ben[0]) === "LOW_MATCH_CONFIDENCE" &&
        reason(bogusFace) === "FACE_NOT_FOUND" &&
        wrong.UnsuccessfulFaceAssociations.find((u) => u.FaceId === unowned.ben[0]).Confidence < 75, wrong);
  // the flow the issue asks for: IndexFaces → CreateUser → AssociateFaces → SearchUsersByImage
  const found = await rek.send(new R.SearchUsersByImageCommand({ CollectionId: U, Image: { Bytes: anaProbe } }));
  check("SearchUsersByImage after AssociateFaces: ana", found.UserMatches?.[0]?.User?.UserId === "ana" &&
        found.UserMatches[0].User.UserStatus === "ACTIVE" && found.UserMatches[0].Similarity >= 80 &&
        found.UserMatches.every((m) => USER_ID.test(m.User.UserId)), found.UserMatches);
  check("SearchUsersByImage: a review id", /^[0-9a-f]{32}$/.test(lastHeaders["x-mien-review-id"] ?? ""), lastHeaders);
  const anaFaces = await rek.send(new R.ListFacesCommand({ CollectionId: U, UserId: "ana" }));
  check("ListFaces UserId ana: the two associated faces", anaFaces.Faces?.length === 2 &&
        anaFaces.Faces.every((f) => f.UserId === "ana" && unowned.ana.includes(f.FaceId)), anaFaces.Faces);
  await rek.send(new R.CreateUserCommand({ CollectionId: U, UserId: "ben" }));
  const benAssoc = await rek.send(new R.AssociateFacesCommand({ CollectionId: U, UserId: "ben", FaceIds: [...unowned.ben, unowned.ana[0]] }));
  check("AssociateFaces ben: his faces; ana's face → ASSOCIATED_TO_A_DIFFERENT_USER",
        benAssoc.AssociatedFaces?.length === 2 && benAssoc.UnsuccessfulFaceAssociations?.length === 1 &&
        benAssoc.UnsuccessfulFaceAssociations[0].Reasons[0] === "ASSOCIATED_TO_A_DIFFERENT_USER" &&
        benAssoc.UnsuccessfulFaceAssociations[0].UserId === "ana", benAssoc);

  // ---- SearchUsers: by FaceId (its own user matches), by UserId (never itself) ----
  const byFace = await rek.send(new R.SearchUsersCommand({ CollectionId: U, FaceId: unowned.ana[0], UserMatchThreshold: 50 }));
  check("SearchUsers by FaceId: ana first", byFace.SearchedFace?.FaceId === unowned.ana[0] &&
        byFace.UserMatches?.[0]?.User?.UserId === "ana", byFace);
  const byUser = await rek.send(new R.SearchUsersCommand({ CollectionId: U, UserId: "ana", UserMatchThreshold: 0, MaxUsers: 5 }));
  check("SearchUsers by UserId: ben, never ana herself", byUser.SearchedUser?.UserId === "ana" &&
        byUser.UserMatches?.length === 1 && byUser.UserMatches[0].User.UserId === "ben" &&
        byUser.UserMatches[0].Similarity < 80, byUser);
  check("SearchUsers: a review id", /^[0-9a-f]{32}$/.test(lastHeaders["x-mien-review-id"] ?? ""), lastHeaders);
  await expectError("SearchUsers, unknown user → ResourceNotFoundException",
    rek.send(new R.SearchUsersCommand({ CollectionId: U, UserId: "nobody" })), R.ResourceNotFoundException,
    "ResourceNotFoundException");
  await expectError("SearchUsers with both UserId and FaceId → InvalidParameterException",
    rek.send(new R.SearchUsersCommand({ CollectionId: U, UserId: "ana", FaceId: unowned.ana[0] })),
    R.InvalidParameterException, "InvalidParameterException");

  // ---- DisassociateFaces and DeleteUser: the faces stay, as faces of no user ----
  const dis = await rek.send(new R.DisassociateFacesCommand({ CollectionId: U, UserId: "ana", FaceIds: [unowned.ana[1], unowned.ben[0]] }));
  check("DisassociateFaces: ana's face out; ben's → ASSOCIATED_TO_A_DIFFERENT_USER",
        dis.DisassociatedFaces?.length === 1 && dis.DisassociatedFaces[0].FaceId === unowned.ana[1] &&
        dis.UnsuccessfulFaceDisassociations?.[0]?.Reasons?.[0] === "ASSOCIATED_TO_A_DIFFERENT_USER" &&
        dis.UserStatus === "ACTIVE", dis);
  const afterDis = await rek.send(new R.ListFacesCommand({ CollectionId: U, FaceIds: [unowned.ana[1]] }));
  check("ListFaces: the disassociated face is kept, of no user", afterDis.Faces?.length === 1 &&
        afterDis.Faces[0].UserId === undefined, afterDis.Faces);
  check("DeleteUser ana", (await rek.send(new R.DeleteUserCommand({ CollectionId: U, UserId: "ana" }))) !== undefined);
  const usersLeft = await rek.send(new R.ListUsersCommand({ CollectionId: U }));
  check("ListUsers after DeleteUser: ben", usersLeft.Users?.map((u) => u.UserId).join() === "ben", usersLeft.Users);
  const facesLeft = await rek.send(new R.ListFacesCommand({ CollectionId: U }));
  check("ListFaces after DeleteUser: all four faces, ana's of no user", facesLeft.Faces?.length === 4 &&
        facesLeft.Faces.filter((f) => f.UserId === undefined).length === 2, facesLeft.Faces);
  const gone2 = await rek.send(new R.SearchUsersByImageCommand({ CollectionId: U, Image: { Bytes: anaProbe } }));
  check("SearchUsersByImage after DeleteUser: not ana", gone2.UserMatches.every((m) => m.User.UserId !== "ana"), gone2.UserMatches);
  await expectError("DeleteUser, unknown user → ResourceNotFoundException",
    rek.send(new R.DeleteUserCommand({ CollectionId: U, UserId: "ana" })), R.ResourceNotFoundException,
    "ResourceNotFoundException");
  const erased = await rek.send(new R.DeleteFacesCommand({ CollectionId: U, FaceIds: unowned.ana }));
  check("DeleteFaces: a face of no user is erased on its own", erased.DeletedFaces?.length === 2, erased);
  await rek.send(new R.DeleteCollectionCommand({ CollectionId: U }));

  // ---- SearchFaces (by FaceId) ----
  const sf = await rek.send(new R.SearchFacesCommand({ CollectionId: C, FaceId: faceIds.cleo[0], FaceMatchThreshold: 50 }));
  check("SearchFaces: cleo's other face first, never the face itself",
        sf.SearchedFaceId === faceIds.cleo[0] && sf.FaceMatches?.[0]?.Face?.FaceId === faceIds.cleo[1] &&
        sf.FaceMatches.every((m) => m.Face.FaceId !== faceIds.cleo[0]), sf);

  // ---- CompareFaces: ana (sample1) against the three faces of sample3 ----
  const cmp = await comparer.send(new R.CompareFacesCommand({
    SourceImage: { Bytes: photos.ana[0].jpeg }, TargetImage: { Bytes: sample(3).bytes }, SimilarityThreshold: 80 }));
  check("CompareFaces: one match, two unmatched", cmp.FaceMatches?.length === 1 && cmp.UnmatchedFaces?.length === 2, cmp);
  check("CompareFaces: the match is ana's face in sample3",
        cmp.FaceMatches?.length === 1 && Math.abs(cmp.FaceMatches[0].Face.BoundingBox.Left * sample(3).img.width - box3.x) < 4 &&
        cmp.FaceMatches[0].Similarity >= 90 && inUnit(cmp.SourceImageFace.BoundingBox), cmp.FaceMatches);
  console.log(`  info: CompareFaces ana (sample1) vs ana (sample3): Similarity ${cmp.FaceMatches?.[0]?.Similarity}`);
  const cmpBen = await comparer.send(new R.CompareFacesCommand({
    SourceImage: { Bytes: photos.ben[0].jpeg }, TargetImage: { Bytes: photos.ben[1].jpeg }, SimilarityThreshold: 0 }));
  console.log(`  info: CompareFaces ben (sample1) vs ben (sample4): Similarity ${cmpBen.FaceMatches?.[0]?.Similarity}`);
  const cmp2 = await comparer.send(new R.CompareFacesCommand({
    SourceImage: { Bytes: photos.ben[0].jpeg }, TargetImage: { Bytes: photos.ana[0].jpeg } }));
  check("CompareFaces: different people do not match at the default 80", cmp2.FaceMatches.length === 0 &&
        cmp2.UnmatchedFaces.length === 1, cmp2);
  const cmp3 = await comparer.send(new R.CompareFacesCommand({
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
  // issue 13 item 12: a refused enrolment is one audit entry (test_rekognition.sh counts them)
  const { ["x-mien-consent-ref"]: _consent, ...noConsent } = HEADERS;
  await expectError("IndexFaces without X-Mien-Consent-Ref → AccessDeniedException",
    client(admin, noConsent).send(new R.IndexFacesCommand({ CollectionId: C, ExternalImageId: "nobody",
      Image: { Bytes: photos.ana[0].jpeg } })), R.AccessDeniedException, "AccessDeniedException");
  const blank = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==", "base64");
  const none = await rek.send(new R.IndexFacesCommand({ CollectionId: C, ExternalImageId: "nobody",
    Image: { Bytes: blank } }));
  check("IndexFaces of a picture without a face: nothing indexed", none.FaceRecords?.length === 0,
    JSON.stringify(none.FaceRecords));
  await expectError("SearchFacesByImage without a face → InvalidParameterException",
    rek.send(new R.SearchFacesByImageCommand({ CollectionId: C, Image: { Bytes: blank } })),
    R.InvalidParameterException, "InvalidParameterException");
  await expectError("CompareFaces, source without a face → InvalidParameterException",
    comparer.send(new R.CompareFacesCommand({ SourceImage: { Bytes: blank }, TargetImage: { Bytes: photos.ana[0].jpeg } })),
    R.InvalidParameterException, "InvalidParameterException");
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
