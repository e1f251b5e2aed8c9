/* web/app.js — the behaviour of mien's page (web/index.html, docs/web.md): the API key, and
 * the Detect, Compare, Search, Group, Enrol, Subjects and erasure, Review queue and Audit log
 * panels, each a thin client of routes of the HTTP API (docs/api.md, openapi.yaml). Plain browser JavaScript, no build step, no libraries, no
 * request to any other origin. Compare sends the purpose typed in; Search sends one of the
 * chosen collection's declared purposes and a case reference, and shows the review the
 * candidates await.
 *
 * The key is kept in sessionStorage (this tab only: a key may erase people) and sent as
 * "Authorization: Bearer KEY". Errors are shown from the API's {"error":{"code","message",
 * "request_id"}} shape, with the request id on a 5xx (the server's log has the detail under
 * it). Test hooks: #enrol-result, #erase-receipt and #audit-status carry data-state once
 * done; each review card carries data-review="ID" and data-status. When a detection has been
 * drawn, the canvas carries data-faces="N" (tests/server/web_test.js waits for it); when a
 * grouping has been shown (one row of face crops per person, cut in the browser from the
 * photos chosen), #group-rows carries data-people="N". */
'use strict';

(function () {
    var KEY_STORE = 'mien.apiKey';
    var LANDMARK_COLOURS = ['#00b7ff', '#00b7ff', '#ffd400', '#ff4fa3', '#ff4fa3'];
    var QUALITY_COLOURS = { high: '#17c964', medium: '#f5a524', low: '#f31260' };

    function $(id) {
        return document.getElementById(id);
    }

    /* ---- the API key ---------------------------------------------------------------- */

    function storedKey() {
        try {
            return window.sessionStorage.getItem(KEY_STORE) || '';
        } catch (e) {
            return '';
        }
    }

    function storeKey(k) {
        try {
            if (k) {
                window.sessionStorage.setItem(KEY_STORE, k);
            } else {
                window.sessionStorage.removeItem(KEY_STORE);
            }
        } catch (e) {
            /* storage disabled: the key lives in the field only */
        }
    }

    function apiKey() {
        return $('key').value.trim();
    }

    /* ---- requests --------------------------------------------------------------------- */

    /* The key's id (the <id> of mien_<id>_<secret>): the actor the audit log and the
     * reviews name; '' for anything else. */
    function keyId() {
        var m = /^mien_([A-Za-z0-9]+)_/.exec(apiKey());
        return m ? m[1] : '';
    }

    /* Sends one request; resolves to the parsed JSON body of a 2xx answer (its text when
     * asText), rejects with an Error whose message is "STATUS code: message" from the API's
     * error shape. */
    function api(method, path, body, contentType, asText) {
        var headers = {};
        var k = apiKey();
        if (k) {
            headers.Authorization = 'Bearer ' + k;
        }
        if (contentType) {
            headers['Content-Type'] = contentType;
        }
        return fetch(path, { method: method, headers: headers, body: body })
            .catch(function () {
                throw new Error('cannot reach the server');
            })
            .then(function (res) {
                return res.text().then(function (text) {
                    var json = null;
                    try {
                        json = text ? JSON.parse(text) : null;
                    } catch (e) {
                        json = null;
                    }
                    if (res.ok && asText) {
                        return text;
                    }
                    if (res.ok) {
                        if (json === null) {
                            throw new Error(res.status + ': the answer is not JSON');
                        }
                        return json;
                    }
                    throw new Error(errorText(res, json));
                });
            });
    }

    function errorText(res, json) {
        var msg = String(res.status);
        if (json && json.error) {
            msg += ' ' + (json.error.code || 'error') + ': ' + (json.error.message || '');
        } else {
            msg += ' ' + (res.statusText || 'error');
        }
        var rid = (json && json.error && json.error.request_id) ||
            res.headers.get('X-Request-Id');
        if (res.status >= 500 && rid && msg.indexOf(rid) < 0) {
            msg += ' (request id ' + rid + ')';
        }
        if (res.status === 401) {
            msg += ' — check the API key above.';
        } else if (res.status === 503 && res.headers.get('Retry-After')) {
            msg += ' — try again in ' + res.headers.get('Retry-After') + ' s.';
        }
        return msg;
    }

    function showError(id, err) {
        var el = $(id);
        if (err) {
            el.textContent = err.message || String(err);
            el.hidden = false;
        } else {
            el.textContent = '';
            el.hidden = true;
        }
    }

    function busy(button, on) {
        if (button) {
            button.disabled = on;
            button.setAttribute('aria-busy', on ? 'true' : 'false');
        }
    }

    /* ---- formatting ------------------------------------------------------------------- */

    function fixed(x, n) {
        return typeof x === 'number' ? x.toFixed(n) : '—';
    }

    function rate(x) {
        if (typeof x !== 'number') {
            return '—';
        }
        return x >= 0.01 ? x.toFixed(3) : x.toExponential(1).replace('.0e', 'e');
    }

    function cell(tr, text) {
        var td = document.createElement('td');
        td.textContent = text;
        tr.appendChild(td);
        return td;
    }

    /* ---- file pickers with drag and drop ----------------------------------------------- */

    /* Wires a drop zone (the label around a file input): a dropped file becomes the
     * input's file; onFile(file) runs for both dropping and picking. */
    /* Marks the zone while something is dragged over it. */
    function highlightDrags(zone) {
        ['dragenter', 'dragover'].forEach(function (t) {
            zone.addEventListener(t, function (ev) {
                ev.preventDefault();
                zone.classList.add('over');
            });
        });
        ['dragleave', 'drop'].forEach(function (t) {
            zone.addEventListener(t, function () {
                zone.classList.remove('over');
            });
        });
    }

    function dropZone(zoneId, inputId, onFile) {
        var zone = $(zoneId);
        var input = $(inputId);
        highlightDrags(zone);
        zone.addEventListener('drop', function (ev) {
            ev.preventDefault();
            var files = ev.dataTransfer && ev.dataTransfer.files;
            if (!files || files.length === 0) {
                return;
            }
            try {
                input.files = files;
            } catch (e) {
                /* old browsers: the dropped file is still used below */
            }
            onFile(files[0]);
        });
        input.addEventListener('change', function () {
            if (input.files && input.files.length > 0) {
                onFile(input.files[0]);
            }
        });
    }

    function currentFile(inputId, dropped) {
        var input = $(inputId);
        if (input.files && input.files.length > 0) {
            return input.files[0];
        }
        return dropped || null;
    }

    function preview(imgId, file, what) {
        var img = $(imgId);
        if (img.dataset.url) {
            URL.revokeObjectURL(img.dataset.url);
        }
        img.dataset.url = URL.createObjectURL(file);
        img.src = img.dataset.url;
        img.alt = what + ': ' + file.name;
        img.hidden = false;
    }

    /* A Content-Type for a raw image body: the file's own, else octet-stream (the server
     * reads images by content). */
    function imageType(file) {
        return file.type && file.type.indexOf('image/') === 0 ? file.type
            : 'application/octet-stream';
    }

    /* ---- Detect ----------------------------------------------------------------------- */

    /* Decodes the photo for drawing, with its EXIF orientation applied (the server's
     * coordinates are in pixels of the oriented picture). */
    function loadBitmap(file) {
        if (window.createImageBitmap) {
            return createImageBitmap(file, { imageOrientation: 'from-image' })
                .catch(function () {
                    return loadImage(file);
                });
        }
        return loadImage(file);
    }

    function loadImage(file) {
        return new Promise(function (resolve, reject) {
            var img = new Image();
            var url = URL.createObjectURL(file);
            img.onload = function () {
                URL.revokeObjectURL(url);
                resolve(img);
            };
            img.onerror = function () {
                URL.revokeObjectURL(url);
                reject(new Error('this browser cannot show the photo'));
            };
            img.src = url;
        });
    }

    /* Draws the photo and every face: box, five landmark dots, and a label with the
     * face's number, quality class and detector score. */
    function drawFaces(canvas, bitmap, result) {
        var w = bitmap.width;
        var h = bitmap.height;
        /* The server's pixels are the oriented photo's; scale if they differ anyway. */
        var sx = result.width ? w / result.width : 1;
        var sy = result.height ? h / result.height : 1;
        var unit = Math.max(2, Math.round(Math.max(w, h) / 400));
        var ctx = canvas.getContext('2d');
        canvas.width = w;
        canvas.height = h;
        ctx.drawImage(bitmap, 0, 0, w, h);
        ctx.font = 'bold ' + (unit * 7) + 'px system-ui, sans-serif';
        ctx.textBaseline = 'bottom';
        result.faces.forEach(function (f, i) {
            var q = (f.quality && f.quality['class']) || 'low';
            var colour = QUALITY_COLOURS[q] || '#ffffff';
            var x1 = f.box[0] * sx;
            var y1 = f.box[1] * sy;
            var x2 = f.box[2] * sx;
            var y2 = f.box[3] * sy;
            ctx.lineWidth = unit;
            ctx.strokeStyle = colour;
            ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
            (f.landmarks || []).forEach(function (p, j) {
                ctx.beginPath();
                ctx.arc(p[0] * sx, p[1] * sy, unit * 1.6, 0, 2 * Math.PI);
                ctx.fillStyle = LANDMARK_COLOURS[j] || '#ffffff';
                ctx.fill();
                ctx.lineWidth = Math.max(1, unit / 2);
                ctx.strokeStyle = '#000000';
                ctx.stroke();
            });
            var label = '#' + (i + 1) + ' ' + q + ' ' + fixed(f.score, 2);
            var tw = ctx.measureText(label).width + unit * 4;
            var th = unit * 9;
            var ly = y1 - th < 0 ? y2 + th : y1;
            ctx.fillStyle = colour;
            ctx.fillRect(x1 - unit / 2, ly - th, tw, th);
            ctx.fillStyle = '#000000';
            ctx.fillText(label, x1 + unit * 1.5, ly - unit);
        });
        if (bitmap.close) {
            bitmap.close();
        }
    }

    function faceTable(faces) {
        var table = $('detect-table');
        var body = table.tBodies[0];
        body.textContent = '';
        faces.forEach(function (f, i) {
            var q = f.quality || {};
            var tr = document.createElement('tr');
            cell(tr, '#' + (i + 1));
            var qc = cell(tr, q['class'] || '—');
            qc.className = 'q-' + (q['class'] || 'none');
            cell(tr, fixed(f.score, 3));
            cell(tr, f.box.map(function (v) { return Math.round(v); }).join(', '));
            cell(tr, fixed(q.interocular_px, 0));
            cell(tr, fixed(q.yaw, 0) + ' / ' + fixed(q.pitch, 0) + ' / ' + fixed(q.roll, 0));
            body.appendChild(tr);
        });
        table.hidden = faces.length === 0;
    }

    function detect(file) {
        var canvas = $('detect-canvas');
        var params = new URLSearchParams();
        if ($('detect-small').checked) {
            params.set('small_faces', '1');
        }
        var min = parseFloat($('detect-min').value);
        if (!isNaN(min)) {
            params.set('min_score', String(min));
        }
        showError('detect-error', null);
        canvas.removeAttribute('data-faces');
        canvas.setAttribute('aria-busy', 'true');
        $('detect-summary').textContent = 'Detecting faces in ' + file.name + '…';
        $('detect-table').hidden = true;
        var answer = api('POST', '/v1/detect?' + params.toString(), file, imageType(file));
        return Promise.all([answer, loadBitmap(file)])
            .then(function (both) {
                var result = both[0];
                var faces = result.faces || [];
                drawFaces(canvas, both[1], result);
                faceTable(faces);
                var what = faces.length === 1 ? '1 face' : faces.length + ' faces';
                $('detect-summary').textContent = file.name + ' (' + result.width + '×' +
                    result.height + '): ' + what + '.';
                canvas.setAttribute('aria-label', 'The photo ' + file.name + ' with ' + what +
                    ' marked: ' + faces.map(function (f, i) {
                        return 'face ' + (i + 1) + ', quality ' +
                            ((f.quality && f.quality['class']) || 'unknown') +
                            ', score ' + fixed(f.score, 2);
                    }).join('; '));
                canvas.dataset.faces = String(faces.length);
            })
            .catch(function (err) {
                $('detect-summary').textContent = '';
                canvas.dataset.faces = 'error';
                showError('detect-error', err);
            })
            .then(function () {
                canvas.setAttribute('aria-busy', 'false');
            });
    }

    /* ---- Compare ---------------------------------------------------------------------- */

    var compareFiles = { a: null, b: null };

    function compare(ev) {
        ev.preventDefault();
        var a = currentFile('compare-a', compareFiles.a);
        var b = currentFile('compare-b', compareFiles.b);
        showError('compare-error', null);
        if (!a || !b) {
            showError('compare-error', new Error('Choose two photos, A and B.'));
            return;
        }
        var form = new FormData();
        form.append('a', a, a.name);
        form.append('b', b, b.name);
        var purpose = $('compare-purpose').value.trim();
        if (!purpose) {
            showError('compare-error', new Error('Say what the comparison is for (purpose).'));
            return;
        }
        var params = new URLSearchParams({
            profile: $('compare-profile').value,
            fmr: $('compare-fmr').value,
            purpose: purpose
        });
        var caseRef = $('compare-case').value.trim();
        if (caseRef) {
            params.set('case_ref', caseRef);
        }
        var button = $('compare-go');
        busy(button, true);
        $('compare-result').hidden = true;
        /* No Content-Type: the browser sets multipart/form-data with its boundary. */
        api('POST', '/v1/compare?' + params.toString(), form, null)
            .then(function (r) {
                var d = $('compare-decision');
                d.textContent = (r.same_person ? 'Same person' : 'Not the same person') +
                    ' at a false-match rate of ' + rate(r.at_fmr) + '.';
                d.className = 'decision ' + (r.same_person ? 'same' : 'different');
                $('compare-similarity').textContent = fixed(r.similarity, 4);
                $('compare-fmr-out').textContent = rate(r.fmr);
                $('compare-threshold').textContent = fixed(r.threshold, 4);
                $('compare-profile-out').textContent = r.profile || '—';
                $('compare-result').hidden = false;
            })
            .catch(function (err) {
                showError('compare-error', err);
            })
            .then(function () {
                busy(button, false);
            });
    }

    /* ---- Search ----------------------------------------------------------------------- */

    var searchFile = null;
    var collections = {};

    /* Fills the purpose list with the declared purposes of the chosen collection. */
    function loadPurposes() {
        var sel = $('search-purpose');
        var c = collections[$('search-collection').value];
        var keep = sel.value;
        sel.textContent = '';
        var first = document.createElement('option');
        first.value = '';
        first.textContent = c ? '(choose a purpose)' : '(choose a collection first)';
        sel.appendChild(first);
        (c && c.purposes ? c.purposes : []).forEach(function (p) {
            var o = document.createElement('option');
            o.value = p;
            o.textContent = p;
            sel.appendChild(o);
        });
        if (c && c.purposes && c.purposes.indexOf(keep) >= 0) {
            sel.value = keep;
        } else if (c && c.purposes && c.purposes.length === 1) {
            sel.value = c.purposes[0];
        }
    }

    /* Fills one collection picker (class coll-select) with list, keeping its choice; one
     * with data-any offers "every collection" first instead of a choice to make. */
    function fillCollections(sel, list) {
        var keep = sel.value;
        var any = sel.dataset.any === '1';
        sel.textContent = '';
        var first = document.createElement('option');
        first.value = '';
        first.textContent = any ? '(every collection)'
            : list.length ? '(choose a collection)' : '(no collections)';
        sel.appendChild(first);
        list.forEach(function (c) {
            var o = document.createElement('option');
            o.value = c.name;
            o.textContent = c.name + ' (' + c.profile + ', ' + c.subjects +
                ' subjects, ' + c.faces + ' faces' +
                (c.verification_only ? ', verification only' : '') + ', consent ' +
                c.consent + ', review ' + c.review + ')';
            sel.appendChild(o);
        });
        if (keep && list.some(function (c) { return c.name === keep; })) {
            sel.value = keep;
        } else if (list.length === 1 && !any) {
            sel.value = list[0].name;
        }
        sel.dataset.count = String(list.length);
    }

    function loadCollections() {
        if (!apiKey()) {
            return Promise.resolve();
        }
        showError('search-error', null);
        return api('GET', '/v1/collections', null, null)
            .then(function (r) {
                var list = r.collections || [];
                collections = {};
                list.forEach(function (c) {
                    collections[c.name] = c;
                });
                Array.prototype.forEach.call(document.querySelectorAll('.coll-select'),
                    function (sel) { fillCollections(sel, list); });
                loadPurposes();
            })
            .catch(function (err) {
                showError('search-error', err);
            });
    }

    function search(ev) {
        ev.preventDefault();
        var coll = $('search-collection').value;
        var file = currentFile('search-file', searchFile);
        showError('search-error', null);
        if (!coll) {
            showError('search-error', new Error('Choose a collection.'));
            return;
        }
        if (!file) {
            showError('search-error', new Error('Choose a probe photo.'));
            return;
        }
        var purpose = $('search-purpose').value;
        var caseRef = $('search-case').value.trim();
        if (!purpose || !caseRef) {
            showError('search-error', new Error('Choose the purpose and name the case.'));
            return;
        }
        var params = new URLSearchParams({
            fmr: $('search-fmr').value,
            purpose: purpose,
            case_ref: caseRef
        });
        var top = parseInt($('search-top').value, 10);
        if (top > 0) {
            params.set('top', String(top));
        }
        var button = $('search-go');
        busy(button, true);
        $('search-result').hidden = true;
        api('POST', '/v1/collections/' + encodeURIComponent(coll) + '/search?' +
            params.toString(), file, imageType(file))
            .then(function (r) {
                var body = $('search-table').tBodies[0];
                var list = r.candidates || [];
                body.textContent = '';
                list.forEach(function (c) {
                    var tr = document.createElement('tr');
                    cell(tr, String(c.rank));
                    cell(tr, c.subject);
                    cell(tr, fixed(c.similarity, 4));
                    cell(tr, rate(c.fmr));
                    cell(tr, String(c.face_id));
                    body.appendChild(tr);
                });
                var q = r.face && r.face.quality ? r.face.quality['class'] : '—';
                $('search-summary').textContent = (list.length
                    ? list.length + ' candidate' + (list.length === 1 ? '' : 's') +
                      ' for review'
                    : 'No candidate at this false-match rate') +
                    ' (probe face quality: ' + q + ').';
                $('search-table').hidden = list.length === 0;
                if (r.review) {
                    rememberCandidates(r.review.id, coll, list);
                }
                $('search-review').textContent = r.review
                    ? 'Review ' + r.review.id + ': awaits ' + r.review.required +
                      (r.review.required === 1 ? ' reviewer' : ' different reviewers') +
                      ' (the Review queue below).'
                    : (list.length ? 'This collection opted out of review.' : '');
                $('search-result').hidden = false;
            })
            .catch(function (err) {
                showError('search-error', err);
            })
            .then(function () {
                busy(button, false);
            });
    }

    /* ---- Group ------------------------------------------------------------------------ */

    var groupFiles = [];
    var CROP_PX = 72;

    function isImageFile(f) {
        return /^image\//.test(f.type) || /\.(jpe?g|png|webp)$/i.test(f.name);
    }

    /* Every file under a dropped entry (a folder is read recursively). */
    function entryFiles(entry) {
        if (entry.isFile) {
            return new Promise(function (resolve) {
                entry.file(function (f) { resolve([f]); }, function () { resolve([]); });
            });
        }
        if (!entry.isDirectory) {
            return Promise.resolve([]);
        }
        var reader = entry.createReader();
        var all = [];
        return new Promise(function (resolve) {
            function next() { /* readEntries answers in batches until an empty one */
                reader.readEntries(function (batch) {
                    if (batch.length === 0) {
                        Promise.all(all.map(entryFiles)).then(function (lists) {
                            resolve([].concat.apply([], lists));
                        });
                        return;
                    }
                    all = all.concat(batch);
                    next();
                }, function () { resolve([]); });
            }
            next();
        });
    }

    function setGroupFiles(files) {
        groupFiles = files.filter(isImageFile).sort(function (a, b) {
            var x = a.webkitRelativePath || a.name, y = b.webkitRelativePath || b.name;
            return x < y ? -1 : x > y ? 1 : 0;
        });
        $('group-drop-text').textContent = groupFiles.length
            ? groupFiles.length + ' photo' + (groupFiles.length === 1 ? '' : 's') + ' chosen'
            : 'Drop a folder of photos here, or choose photos';
    }

    function groupDropZone() {
        var zone = $('group-drop');
        highlightDrags(zone);
        zone.addEventListener('drop', function (ev) {
            ev.preventDefault();
            var items = ev.dataTransfer && ev.dataTransfer.items;
            var entries = [];
            for (var i = 0; items && i < items.length; i++) {
                var e = items[i].webkitGetAsEntry ? items[i].webkitGetAsEntry() : null;
                if (e) {
                    entries.push(e);
                }
            }
            if (entries.length === 0) { /* no entries API: the dropped files themselves */
                setGroupFiles(Array.prototype.slice.call(ev.dataTransfer.files || []));
                return;
            }
            Promise.all(entries.map(entryFiles)).then(function (lists) {
                setGroupFiles([].concat.apply([], lists));
            });
        });
        $('group-files').addEventListener('change', function () {
            setGroupFiles(Array.prototype.slice.call(this.files || []));
        });
    }

    /* Loads each photo once, for cutting crops. */
    function loadImages(files) {
        return Promise.all(files.map(function (f) {
            return new Promise(function (resolve) {
                var img = new Image();
                img.onload = function () { resolve(img); };
                img.onerror = function () { resolve(null); };
                img.src = URL.createObjectURL(f);
            });
        }));
    }

    /* A face's crop (its box with a margin of a fifth) on a small canvas. */
    function crop(img, face, rep) {
        var c = document.createElement('canvas');
        c.width = CROP_PX;
        c.height = CROP_PX;
        var b = face.box, w = b[2] - b[0], h = b[3] - b[1], side = Math.max(w, h) * 1.2;
        var x = (b[0] + b[2] - side) / 2, y = (b[1] + b[3] - side) / 2;
        if (img) {
            c.getContext('2d').drawImage(img, x, y, side, side, 0, 0, CROP_PX, CROP_PX);
        }
        var name = groupFiles[face.image] ? groupFiles[face.image].name : 'photo ' + face.image;
        c.setAttribute('role', 'img');
        c.setAttribute('aria-label', name + ', face ' + face.face + (rep ? ' (representative)' : ''));
        c.title = c.getAttribute('aria-label');
        if (rep) {
            c.className = 'rep';
        }
        return c;
    }

    function groupRow(title, faces, rep, images, messy) {
        var row = document.createElement('div');
        row.className = 'group-row' + (messy ? ' messy' : '');
        var h = document.createElement('h3');
        h.textContent = title;
        row.appendChild(h);
        faces.forEach(function (f) {
            var isRep = rep && f.image === rep.image && f.face === rep.face;
            row.appendChild(crop(images[f.image], f, isRep));
        });
        return row;
    }

    function group(ev) {
        ev.preventDefault();
        var purpose = $('group-purpose').value.trim();
        showError('group-error', null);
        if (groupFiles.length === 0) {
            showError('group-error', new Error('Choose or drop the photos to group.'));
            return;
        }
        if (!purpose) {
            showError('group-error', new Error('Name the purpose.'));
            return;
        }
        var params = new URLSearchParams({
            purpose: purpose,
            profile: $('group-profile').value,
            fmr: $('group-fmr').value
        });
        var caseRef = $('group-case').value.trim();
        if (caseRef) {
            params.set('case_ref', caseRef);
        }
        var form = new FormData();
        groupFiles.forEach(function (f) {
            form.append('image', f, f.name);
        });
        var button = $('group-go');
        var rows = $('group-rows');
        busy(button, true);
        $('group-result').hidden = true;
        delete rows.dataset.people;
        Promise.all([api('POST', '/v1/group?' + params.toString(), form, null),
            loadImages(groupFiles)])
            .then(function (both) {
                var r = both[0], images = both[1];
                var people = r.people || [], messy = r.messy || [];
                rows.textContent = '';
                people.forEach(function (p) {
                    rows.appendChild(groupRow('Person ' + p.person + ' (' + p.size + ')',
                        p.faces, p.representative, images, false));
                });
                if (messy.length) {
                    rows.appendChild(groupRow('Nobody else (' + messy.length + ')', messy, null,
                        images, true));
                }
                $('group-summary').textContent = people.length + ' ' +
                    (people.length === 1 ? 'person' : 'people') + ' and ' + messy.length +
                    ' face' + (messy.length === 1 ? '' : 's') + ' matching no one, from ' +
                    r.faces + ' faces in ' + r.images + ' photos (' + r.method +
                    ', false-match rate ' + rate(r.max_fmr) + ').';
                rows.dataset.people = String(people.length);
                $('group-result').hidden = false;
            })
            .catch(function (err) {
                showError('group-error', err);
                rows.dataset.people = 'error';
            })
            .then(function () {
                busy(button, false);
            });
    }

    /* ---- Enrol ------------------------------------------------------------------------ */

    var enrolFile = null;

    /* A date input's value (YYYY-MM-DD) as the API's expires_at: the end of that day, UTC. */
    function endOfDay(date) {
        return date ? date + 'T23:59:59Z' : '';
    }

    function enrol(ev) {
        ev.preventDefault();
        var coll = $('enrol-collection').value;
        var subject = $('enrol-subject').value.trim();
        var file = currentFile('enrol-file', enrolFile);
        var out = $('enrol-result');
        showError('enrol-error', null);
        out.textContent = '';
        delete out.dataset.state;
        if (!coll || !subject || !file) {
            showError('enrol-error', new Error('Choose a collection, name the subject and ' +
                'choose their photo.'));
            return;
        }
        var params = new URLSearchParams();
        var fields = { display_name: $('enrol-name').value.trim(),
            consent_ref: $('enrol-consent').value.trim(),
            expires_at: endOfDay($('enrol-expires').value), face: $('enrol-face').value.trim() };
        Object.keys(fields).forEach(function (k) {
            if (fields[k]) {
                params.set(k, fields[k]);
            }
        });
        if ($('enrol-force').checked) {
            params.set('force', '1');
        }
        var button = $('enrol-go');
        busy(button, true);
        api('POST', '/v1/collections/' + encodeURIComponent(coll) + '/subjects/' +
            encodeURIComponent(subject) + '/faces?' + params.toString(), file, imageType(file))
            .then(function (r) {
                var q = r.face && r.face.quality ? r.face.quality['class'] : '—';
                out.textContent = 'Enrolled ' + r.subject + ' in ' + coll + ': face id ' +
                    r.face_id + ' (quality ' + q + ')' +
                    (fields.consent_ref ? ', consent ' + fields.consent_ref : '') +
                    (fields.expires_at ? ', expires ' + fields.expires_at : '') + '.';
                out.dataset.state = 'done';
                if ($('subjects-collection').value === coll) {
                    listSubjects();
                }
                loadCollections();
            })
            .catch(function (err) {
                showError('enrol-error', err);
                out.dataset.state = 'error';
            })
            .then(function () {
                busy(button, false);
            });
    }

    /* ---- Subjects and erasure ---------------------------------------------------------- */

    var eraseTarget = null;

    function day(t) {
        return t ? String(t).replace('T', ' ').replace(/:\d\dZ$/, ' UTC') : '—';
    }

    function listSubjects() {
        var coll = $('subjects-collection').value;
        var table = $('subjects-table');
        showError('subjects-error', null);
        if (!coll) {
            showError('subjects-error', new Error('Choose a collection.'));
            return Promise.resolve();
        }
        return api('GET', '/v1/collections/' + encodeURIComponent(coll) + '/subjects', null,
            null)
            .then(function (r) {
                var body = table.tBodies[0];
                var list = r.subjects || [];
                body.textContent = '';
                list.forEach(function (g) {
                    var tr = document.createElement('tr');
                    tr.dataset.subject = g.subject;
                    cell(tr, g.subject);
                    cell(tr, g.display_name || '');
                    cell(tr, String(g.faces));
                    cell(tr, g.consent_ref || '—');
                    cell(tr, day(g.expires_at));
                    var b = document.createElement('button');
                    b.type = 'button';
                    b.className = 'danger erase';
                    b.textContent = 'Erase…';
                    b.setAttribute('aria-label', 'Erase ' + g.subject);
                    b.addEventListener('click', function () {
                        askErase(coll, g.subject);
                    });
                    cell(tr, '').appendChild(b);
                    body.appendChild(tr);
                });
                table.hidden = list.length === 0;
                $('subjects-summary').textContent = list.length + ' subject' +
                    (list.length === 1 ? '' : 's') + ' in ' + coll + '.';
                table.dataset.count = String(list.length);
            })
            .catch(function (err) {
                showError('subjects-error', err);
            });
    }

    /* Erasure is final: the page asks on the page itself (no window.confirm, which a
     * browser may suppress). */
    function askErase(coll, subject) {
        eraseTarget = { collection: coll, subject: subject };
        $('erase-question').textContent = 'Erase ' + subject + ' from ' + coll + '? Their ' +
            'faces, templates and stored crops are deleted for good, with the reviews that ' +
            'name them.';
        $('erase-confirm').hidden = false;
        $('erase-yes').focus();
    }

    function erase() {
        var t = eraseTarget;
        var box = $('erase-receipt');
        $('erase-confirm').hidden = true;
        if (!t) {
            return;
        }
        eraseTarget = null;
        showError('subjects-error', null);
        delete box.dataset.state;
        api('DELETE', '/v1/collections/' + encodeURIComponent(t.collection) + '/subjects/' +
            encodeURIComponent(t.subject), null, null)
            .then(function (r) {
                $('receipt-subject').textContent = r.subject;
                $('receipt-collection').textContent = r.collection;
                $('receipt-counts').textContent = r.faces_deleted + ' / ' + r.crops_deleted +
                    ' / ' + r.reviews_deleted;
                $('receipt-at').textContent = day(r.erased_at);
                $('receipt-hash').textContent = r.subject_hash;
                $('receipt-audit').textContent = 'no. ' + r.audit_seq + ', hash ' +
                    r.audit_hash;
                box.hidden = false;
                box.dataset.state = 'done';
                listSubjects();
                loadCollections();
            })
            .catch(function (err) {
                showError('subjects-error', err);
            });
    }

    /* ---- Review queue ------------------------------------------------------------------ */

    var CANDIDATES_STORE = 'mien.reviewCandidates';

    /* The candidates of the searches made in this tab, by review id: the queue lists ranks
     * only (the store keeps candidates as keyed hashes). */
    function knownCandidates() {
        try {
            return JSON.parse(window.sessionStorage.getItem(CANDIDATES_STORE) || '{}');
        } catch (e) {
            return {};
        }
    }

    function rememberCandidates(id, coll, list) {
        var all = knownCandidates();
        all[id] = list.map(function (c) {
            return { rank: c.rank, subject: c.subject, similarity: c.similarity, fmr: c.fmr };
        });
        try {
            window.sessionStorage.setItem(CANDIDATES_STORE, JSON.stringify(all));
        } catch (e) {
            /* storage full or disabled: the queue shows ranks only */
        }
    }

    function decisionText(d) {
        return (d.decision === 'confirm' ? 'confirmed #' + d.rank : 'rejected') + ' by ' +
            d.reviewer + (d.reviewer === keyId() ? ' (this key)' : '') + ', ' + day(d.time) +
            (d.note ? ' — “' + d.note + '”' : '');
    }

    function reviewState(v) {
        if (v.status === 'pending') {
            return 'pending: ' + v.confirmations + ' of ' + v.required + ' confirmation' +
                (v.required === 1 ? '' : 's') +
                (v.required > 1 && v.confirmations > 0 ? '; awaits a second, different reviewer'
                    : '');
        }
        return v.status + (v.confirmed_rank ? ' (candidate #' + v.confirmed_rank + ')' : '');
    }

    function reviewCard(v, known) {
        var card = document.createElement('article');
        card.className = 'review-card status-' + v.status;
        card.dataset.review = v.id;
        card.dataset.status = v.status;
        card.dataset.confirmations = String(v.confirmations);
        var h = document.createElement('h3');
        h.textContent = 'Review ' + v.id.slice(0, 8) + '… · ' + v.collection + ' · ' +
            day(v.created_at);
        h.title = v.id;
        card.appendChild(h);
        var st = document.createElement('p');
        st.className = 'review-state';
        st.textContent = reviewState(v) + ' · search audit entry ' + v.search_seq;
        card.appendChild(st);
        var ul = document.createElement('ul');
        ul.className = 'review-decisions';
        (v.decisions || []).forEach(function (d) {
            var li = document.createElement('li');
            li.textContent = decisionText(d);
            ul.appendChild(li);
        });
        card.appendChild(ul);
        if (v.status !== 'pending') {
            return card;
        }
        var form = document.createElement('div');
        form.className = 'options review-actions';
        var cands = known[v.id] || [];
        for (var rank = 1; rank <= v.candidates; rank++) {
            var c = cands[rank - 1];
            var b = document.createElement('button');
            b.type = 'button';
            b.className = 'confirm-rank';
            b.dataset.rank = String(rank);
            b.textContent = 'Confirm #' + rank + (c ? ' ' + c.subject + ' (' +
                fixed(c.similarity, 3) + ', FMR ' + rate(c.fmr) + ')' : '');
            form.appendChild(b);
        }
        var reject = document.createElement('button');
        reject.type = 'button';
        reject.className = 'reject';
        reject.textContent = 'Reject: none of them';
        form.appendChild(reject);
        var note = document.createElement('input');
        note.type = 'text';
        note.className = 'review-note';
        note.placeholder = 'note (optional)';
        note.setAttribute('aria-label', 'note for review ' + v.id);
        form.appendChild(note);
        form.addEventListener('click', function (ev) {
            var t = ev.target;
            if (t.tagName !== 'BUTTON') {
                return;
            }
            var body = t.classList.contains('reject') ? { decision: 'reject' }
                : { decision: 'confirm', rank: Number(t.dataset.rank) };
            if (note.value.trim()) {
                body.note = note.value.trim();
            }
            decide(v.id, body, card);
        });
        card.appendChild(form);
        return card;
    }

    function decide(id, body, card) {
        showError('reviews-error', null);
        card.setAttribute('aria-busy', 'true');
        api('POST', '/v1/reviews/' + id, JSON.stringify(body), 'application/json')
            .then(function (v) {
                var fresh = reviewCard(v, knownCandidates());
                card.parentNode.replaceChild(fresh, card);
            })
            .catch(function (err) {
                card.setAttribute('aria-busy', 'false');
                showError('reviews-error', err);
            });
    }

    function loadReviews() {
        var list = $('reviews-list');
        var params = new URLSearchParams({ status: $('reviews-status').value });
        var coll = $('reviews-collection').value;
        if (coll) {
            params.set('collection', coll);
        }
        showError('reviews-error', null);
        delete list.dataset.count;
        return api('GET', '/v1/reviews?' + params.toString(), null, null)
            .then(function (r) {
                var reviews = (r.reviews || []).slice().reverse(); /* newest first */
                var known = knownCandidates();
                list.textContent = '';
                reviews.forEach(function (v) {
                    list.appendChild(reviewCard(v, known));
                });
                $('reviews-summary').textContent = reviews.length + ' review' +
                    (reviews.length === 1 ? '' : 's') + ' (' + $('reviews-status').value +
                    ')' + (keyId() ? '; deciding as key ' + keyId() : '') + '.';
                list.dataset.count = String(reviews.length);
            })
            .catch(function (err) {
                showError('reviews-error', err);
                list.dataset.count = 'error';
            });
    }

    /* ---- Audit log --------------------------------------------------------------------- */

    function verifyAudit() {
        var el = $('audit-status');
        showError('audit-error', null);
        delete el.dataset.state;
        el.textContent = 'verifying…';
        api('GET', '/v1/audit/verify', null, null)
            .then(function (r) {
                el.textContent = r.ok
                    ? 'intact: ' + r.entries + ' entries, signed head at entry ' + r.head_seq
                    : 'NOT intact: first bad entry ' + r.first_bad + ' — ' + r.problem;
                el.className = 'audit-status ' + (r.ok ? 'ok' : 'bad');
                el.dataset.state = r.ok ? 'intact' : 'broken';
            })
            .catch(function (err) {
                el.textContent = '';
                el.dataset.state = 'error';
                showError('audit-error', err);
            });
    }

    /* Downloads the export as a .jsonl file (a fetch with the key, then a blob link: a plain
     * link could not send the Authorization header). */
    function exportAudit() {
        var params = new URLSearchParams();
        if ($('audit-from').value) {
            params.set('from', $('audit-from').value);
        }
        if ($('audit-to').value) {
            params.set('to', $('audit-to').value);
        }
        showError('audit-error', null);
        var button = $('audit-export');
        busy(button, true);
        api('GET', '/v1/audit/export?' + params.toString(), null, null, true)
            .then(function (text) {
                var lines = text.split('\n').filter(function (l) { return l !== ''; });
                var a = $('audit-download');
                if (a.href) {
                    URL.revokeObjectURL(a.href);
                }
                a.href = URL.createObjectURL(new Blob([text], { type: 'application/x-ndjson' }));
                a.download = 'mien-audit-' + new Date().toISOString().slice(0, 10) + '.jsonl';
                a.click();
                $('audit-summary').textContent = lines.length + ' entr' +
                    (lines.length === 1 ? 'y' : 'ies') + ' exported to ' + a.download + '.';
            })
            .catch(function (err) {
                showError('audit-error', err);
            })
            .then(function () {
                busy(button, false);
            });
    }

    /* ---- readiness -------------------------------------------------------------------- */

    function checkReady() {
        var el = $('ready');
        fetch('/readyz')
            .then(function (res) {
                return res.json().then(function (j) {
                    el.textContent = res.ok ? 'server ready'
                        : 'server not ready (' + (j.reason || ('models: ' + j.models +
                            ', store: ' + j.store)) + ')';
                    el.className = 'ready ' + (res.ok ? 'ok' : 'not');
                });
            })
            .catch(function () {
                el.textContent = 'server unreachable';
                el.className = 'ready not';
            });
    }

    /* ---- wiring ----------------------------------------------------------------------- */

    function showKeyId() {
        $('key-id').textContent = keyId() ? 'This key acts as ' + keyId() + '.' : '';
    }

    function init() {
        var key = $('key');
        var timer = null;
        key.value = storedKey();
        key.addEventListener('input', function () {
            storeKey(apiKey());
            clearTimeout(timer);
            timer = setTimeout(loadCollections, 400);
        });
        $('key-show').addEventListener('click', function () {
            var show = key.type === 'password';
            key.type = show ? 'text' : 'password';
            this.textContent = show ? 'Hide' : 'Show';
            this.setAttribute('aria-pressed', show ? 'true' : 'false');
        });
        $('key-forget').addEventListener('click', function () {
            key.value = '';
            storeKey('');
            showKeyId();
            key.focus();
        });
        key.addEventListener('input', showKeyId);
        showKeyId();

        dropZone('detect-drop', 'detect-file', detect);
        dropZone('compare-drop-a', 'compare-a', function (f) {
            compareFiles.a = f;
            preview('compare-preview-a', f, 'Photo A');
        });
        dropZone('compare-drop-b', 'compare-b', function (f) {
            compareFiles.b = f;
            preview('compare-preview-b', f, 'Photo B');
        });
        dropZone('search-drop', 'search-file', function (f) {
            searchFile = f;
            preview('search-preview', f, 'Probe photo');
        });
        $('compare-form').addEventListener('submit', compare);
        $('search-form').addEventListener('submit', search);
        $('search-refresh').addEventListener('click', loadCollections);
        $('search-collection').addEventListener('change', loadPurposes);
        groupDropZone();
        $('group-form').addEventListener('submit', group);
        dropZone('enrol-drop', 'enrol-file', function (f) {
            enrolFile = f;
            preview('enrol-preview', f, 'Photo to enrol');
        });
        $('enrol-form').addEventListener('submit', enrol);
        $('subjects-refresh').addEventListener('click', listSubjects);
        $('subjects-collection').addEventListener('change', listSubjects);
        $('erase-yes').addEventListener('click', erase);
        $('erase-no').addEventListener('click', function () {
            eraseTarget = null;
            $('erase-confirm').hidden = true;
        });
        $('reviews-refresh').addEventListener('click', loadReviews);
        $('reviews-status').addEventListener('change', loadReviews);
        $('reviews-collection').addEventListener('change', loadReviews);
        $('audit-verify').addEventListener('click', verifyAudit);
        $('audit-export').addEventListener('click', exportAudit);

        checkReady();
        loadCollections();
    }

    if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', init);
    } else {
        init();
    }
}());
