/* passline report: paginated, lazily expanded per-case view.
   Reads the JSON block #cases and builds DOM with createElement/textContent only (never an
   HTML-parsing sink, never code from strings), so recorded data can never become markup.
   A large report (meta.chunks) ships the case list in #cases-index and each case's detail
   in #chunk-K blocks: gzip-compressed JSON in base64, unpacked on demand. */
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("cases").textContent);
  var CASES = DATA.cases;
  var META = DATA.meta || {};
  var CHUNKS = META.chunks || null;
  var PAGE = META.page_size || 50;
  var state = { filter: "all", query: "", page: 0, list: CASES };
  var listEl = document.getElementById("case-list");
  var statusEl = document.getElementById("case-status");
  var infoEl = document.getElementById("page-info");
  var prevBtn = document.getElementById("page-prev");
  var nextBtn = document.getElementById("page-next");
  var searchEl = document.getElementById("case-search");
  var CAT_LABEL = { "regression": "regressed", "improvement": "improved", "changed": "changed",
    "same": "same", "only-baseline": "baseline only", "only-candidate": "candidate only" };
  var STATUS = { p: "pass", f: "fail", e: "error" };

  /* bidi controls would let text display differently from what it is: show them */
  var BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
  function visible(s) {
    return String(s).replace(BIDI, function (ch) {
      return "[U+" + ch.charCodeAt(0).toString(16).toUpperCase() + "]";
    });
  }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = visible(text); }
    return node;
  }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) { continue; }
      parent.appendChild(typeof c === "string" ? document.createTextNode(visible(c)) : c);
    }
    return parent;
  }
  function fmtScore(x) { return (typeof x === "number") ? x.toFixed(3) : "—"; }
  function fmtMoney(x) {
    if (typeof x !== "number") { return "—"; }
    if (x === 0) { return "$0"; }
    return x >= 1 ? "$" + x.toFixed(2) : "$" + x.toPrecision(3);
  }
  function fmtSec(x) {
    if (typeof x !== "number") { return "—"; }
    return x < 1 ? Math.round(x * 1000) + " ms" : x.toFixed(2) + " s";
  }
  function fmtInt(x) { return (typeof x === "number") ? Math.round(x).toLocaleString("en-US") : "—"; }

  /* ---- filtering and search ---- */
  function inFilter(c, f) {
    switch (f) {
      case "regressed": return c.cat === "regression";
      case "improved": return c.cat === "improvement";
      case "changed": return c.cat !== "same";
      case "flaky": return c.fl[0] || c.fl[1];
      case "error": return c.err;
      default: return true;
    }
  }
  function answers(side) {
    if (!side || !side.tr) { return ""; }
    var out = [];
    for (var i = 0; i < side.tr.length; i++) { out.push(side.tr[i].a); }
    return out.join("\n");
  }
  /* ---- compressed blocks (large reports): unpacked with the browser's own gunzip ---- */
  function unpack(id) {
    var bin = atob(document.getElementById(id).textContent);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text().then(JSON.parse);
  }
  var loading = [];
  function loadChunk(k) {
    if (!loading[k]) {
      loading[k] = unpack("chunk-" + k).then(function (rows) {
        for (var j = 0; j < rows.length; j++) {
          var c = CASES[k * CHUNKS.size + j], d = rows[j];
          c.in = d[0]; c.x = d[1];
          if (c.b) { c.b.tr = d[2]; }
          if (c.c) { c.c.tr = d[3]; }
          c._d = true;
        }
      });
    }
    return loading[k];
  }
  function failed(err) {
    statusEl.textContent = "Could not unpack the case data: " + err;
    throw err;
  }
  /* fn() once c's detail is at hand: at once, or after its chunk is unpacked */
  function withDetail(c, fn) {
    if (!CHUNKS || c._d) { fn(); return; }
    loadChunk(Math.floor(c.i / CHUNKS.size)).then(fn, failed);
  }
  function allDetails() {
    var all = [];
    for (var k = 0; k < CHUNKS.n; k++) { all.push(loadChunk(k)); }
    return Promise.all(all);
  }
  var searchable = !CHUNKS;

  function haystack(c) {
    if (c._h === undefined) {
      c._h = [c.id, c.in || "", answers(c.b), answers(c.c)].join("\n").toLowerCase();
    }
    return c._h;
  }
  function recompute(keepPage) {
    var q = state.query;
    if (q && !searchable) {  /* the search reads inputs and answers: unpack every chunk */
      statusEl.textContent = "Unpacking the details of " + CASES.length + " cases to search…";
      allDetails().then(function () { searchable = true; recompute(keepPage); }, failed);
      return;
    }
    var out = [];
    for (var i = 0; i < CASES.length; i++) {
      var c = CASES[i];
      if (inFilter(c, state.filter) && (!q || haystack(c).indexOf(q) !== -1)) { out.push(c); }
    }
    state.list = out;
    if (!keepPage) { state.page = 0; }
    render();
  }
  function counts() {
    var keys = ["all", "regressed", "improved", "changed", "flaky", "error"];
    var n = {};
    keys.forEach(function (k) { n[k] = 0; });
    CASES.forEach(function (c) { keys.forEach(function (k) { if (inFilter(c, k)) { n[k]++; } }); });
    var spans = document.querySelectorAll("[data-count]");
    for (var i = 0; i < spans.length; i++) {
      spans[i].textContent = String(n[spans[i].getAttribute("data-count")] || 0);
    }
  }

  /* ---- the list ---- */
  function marks(side) {
    var wrap = el("span", "mono");
    if (!side) { wrap.textContent = "—"; return wrap; }
    for (var i = 0; i < side.o.length; i++) {
      var ch = side.o.charAt(i);
      var m = el("span", "st-" + ch, ch === "p" ? "✓" : (ch === "f" ? "✗" : "!"));
      m.title = STATUS[ch] || ch;
      wrap.appendChild(m);
    }
    return wrap;
  }
  function sideCell(side, label) {
    var cell = el("span", "fig");
    add(cell, el("span", "sr-only muted", label + " "), marks(side));
    if (side) { add(cell, " " + fmtScore(side.s)); }
    return cell;
  }
  function render() {
    var total = state.list.length;
    var pages = Math.max(1, Math.ceil(total / PAGE));
    if (state.page >= pages) { state.page = pages - 1; }
    var start = state.page * PAGE;
    var end = Math.min(total, start + PAGE);
    listEl.textContent = "";
    var frag = document.createDocumentFragment();
    for (var i = start; i < end; i++) { frag.appendChild(row(state.list[i])); }
    listEl.appendChild(frag);
    infoEl.textContent = "page " + (state.page + 1) + " of " + pages;
    prevBtn.disabled = state.page === 0;
    nextBtn.disabled = state.page >= pages - 1;
    var what = total === 0 ? "No case matches" :
      "Showing " + (start + 1) + "–" + end + " of " + total + " case(s)";
    if (state.filter !== "all") { what += " · filter: " + state.filter; }
    if (state.query) { what += " · search: \u201c" + state.query + "\u201d"; }
    statusEl.textContent = what;
  }
  function row(c) {
    var li = el("li", "case-item");
    li.setAttribute("data-case-id", c.id);
    li.setAttribute("data-cat", c.cat);
    var btn = el("button", "case-row");
    btn.type = "button";
    btn.setAttribute("aria-expanded", "false");
    btn.setAttribute("aria-controls", "detail-" + c.i);
    var cat = el("span", "cat cat-" + c.cat, CAT_LABEL[c.cat] || c.cat);
    var idCell = el("span");
    add(idCell, el("span", "cid", c.id), el("span", "ev", c.e));
    var tagCell = el("span", "tags");
    if (c.mp) { tagCell.appendChild(el("span", "tag tag-must", "must-pass")); }
    if (c.fl[0] || c.fl[1]) { tagCell.appendChild(el("span", "tag", "flaky")); }
    for (var t = 0; t < c.t.length && t < 6; t++) {
      if (c.t[t] !== "must-pass") { tagCell.appendChild(el("span", "tag", c.t[t])); }
    }
    add(btn, cat, idCell, sideCell(c.b, "baseline"), sideCell(c.c, "candidate"), tagCell);
    btn.addEventListener("click", function () { toggle(li, btn, c); });
    li.appendChild(btn);
    return li;
  }
  function toggle(li, btn, c) {
    var open = btn.getAttribute("aria-expanded") === "true";
    var existing = document.getElementById("detail-" + c.i);
    if (open) {
      btn.setAttribute("aria-expanded", "false");
      if (existing) { existing.parentNode.removeChild(existing); }
      return;
    }
    btn.setAttribute("aria-expanded", "true");
    withDetail(c, function () {
      if (btn.getAttribute("aria-expanded") === "true" && !document.getElementById("detail-" + c.i)) {
        li.appendChild(detail(c, 0));
      }
    });
  }

  /* ---- word-level diff ---- */
  function tokens(s) { return s ? (s.match(/^\s+|\S+\s*/g) || []) : []; }
  function diffWords(a, b) {
    var A = tokens(a), B = tokens(b);
    var pre = 0;
    while (pre < A.length && pre < B.length && A[pre] === B[pre]) { pre++; }
    var suf = 0;
    while (suf < A.length - pre && suf < B.length - pre &&
           A[A.length - 1 - suf] === B[B.length - 1 - suf]) { suf++; }
    var a2 = A.slice(pre, A.length - suf), b2 = B.slice(pre, B.length - suf);
    var ops = [];
    if (pre) { ops.push([0, A.slice(0, pre).join("")]); }
    var n = a2.length, m = b2.length;
    if (n * m > 4000000) {
      if (n) { ops.push([-1, a2.join("")]); }
      if (m) { ops.push([1, b2.join("")]); }
    } else {
      var L = new Array(n + 1);
      for (var i = 0; i <= n; i++) { L[i] = new Uint32Array(m + 1); }
      for (i = n - 1; i >= 0; i--) {
        for (var j = m - 1; j >= 0; j--) {
          L[i][j] = a2[i] === b2[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
        }
      }
      i = 0; j = 0;
      while (i < n || j < m) {
        if (i < n && j < m && a2[i] === b2[j]) { ops.push([0, a2[i]]); i++; j++; }
        else if (j < m && (i >= n || L[i][j + 1] >= L[i + 1][j])) { ops.push([1, b2[j]]); j++; }
        else { ops.push([-1, a2[i]]); i++; }
      }
    }
    if (suf) { ops.push([0, A.slice(A.length - suf).join("")]); }
    return ops;
  }
  function diffText(ops, keep) {
    var p = el("p", "text");
    var buf = "", kind = 0;
    function flush() {
      if (!buf) { return; }
      p.appendChild(kind === 0 ? document.createTextNode(visible(buf)) : el(kind > 0 ? "ins" : "del", null, buf));
      buf = "";
    }
    for (var i = 0; i < ops.length; i++) {
      var op = ops[i];
      if (op[0] !== 0 && op[0] !== keep) { continue; }
      if (op[0] !== kind) { flush(); kind = op[0]; }
      buf += op[1];
    }
    flush();
    return p;
  }

  /* ---- detail panes ---- */
  function trialOf(side, t) {
    if (!side || !side.tr) { return null; }
    return side.tr[Math.min(t, side.tr.length - 1)] || null;
  }
  function notRecorded(side, which) {
    if (!side) { return el("p", "muted", "This case is not in the " + which + " run."); }
    if (!side.tr) { return el("p", "muted", "not recorded in baseline file"); }
    return el("p", "muted", "no trial recorded");
  }
  function paneTitle(label, side, tr) {
    var d = el("div", "pane-title");
    add(d, el("span", null, label));
    if (tr) {
      add(d, el("span", "st-" + tr.st.charAt(0), tr.st));
      if (tr.rs && tr.rs !== "ok") { add(d, el("span", "tag", "run " + tr.rs)); }
      add(d, el("span", "muted small", fmtMoney(tr.cost) + " · " + fmtInt(tr.tok) + " tokens · " + fmtSec(tr.lat)));
    } else if (side) {
      add(d, el("span", "muted small", "score " + fmtScore(side.s) + " · " + fmtMoney(side.cost) + " · " + fmtSec(side.lat)));
    }
    return d;
  }
  function pair(left, right) { return add(el("div", "pair"), left, right); }
  function pane(title, body) { return add(el("div", "pane"), title, body); }
  function errorLine(tr) {
    if (!tr || (!tr.e && !tr.g)) { return null; }
    var p = el("p", "st-f small");
    p.textContent = (tr.g ? "guardrail " + tr.g + ": " : "") + (tr.e || "");
    return p;
  }
  function answerPanes(c, bt, ct) {
    var ops = (bt && ct) ? diffWords(bt.a, ct.a) : null;
    var left = bt ? (ops ? diffText(ops, -1) : el("p", "text", bt.a)) : notRecorded(c.b, "baseline");
    var right = ct ? (ops ? diffText(ops, 1) : el("p", "text", ct.a)) : notRecorded(c.c, "candidate");
    var lw = add(el("div"), left, errorLine(bt));
    var rw = add(el("div"), right, errorLine(ct));
    return pair(pane(paneTitle("baseline", c.b, bt), lw), pane(paneTitle("candidate", c.c, ct), rw));
  }
  function canon(v) {
    if (v === null || typeof v !== "object") { return JSON.stringify(v); }
    if (Array.isArray(v)) { return "[" + v.map(canon).join(",") + "]"; }
    return "{" + Object.keys(v).sort().map(function (k) { return JSON.stringify(k) + ":" + canon(v[k]); }).join(",") + "}";
  }
  function callCell(call, other) {
    var td = el("td");
    if (!call) { td.appendChild(el("span", "muted", "—")); return td; }
    var name = el("strong", null, call[0]);
    if (other && other[0] !== call[0]) { name.className = "argdiff"; }
    add(td, name, "(");
    var args = call[1] || {};
    var keys = Object.keys(args);
    var otherArgs = other ? (other[1] || {}) : {};
    keys.forEach(function (k, idx) {
      var text = k + "=" + canon(args[k]);
      var span = el("span", null, text);
      if (!other || !Object.prototype.hasOwnProperty.call(otherArgs, k) || canon(otherArgs[k]) !== canon(args[k])) {
        span.className = "argdiff";
      }
      add(td, idx ? ", " : "", span);
    });
    add(td, ")");
    if (call[2]) { add(td, el("span", "st-f", " error: " + call[2])); }
    if (call[3]) { add(td, el("span", "muted", " [" + call[3] + "]")); }
    return td;
  }
  function trajectory(bt, ct, c) {
    var wrap = el("div");
    if (!bt && !ct) { return add(wrap, el("p", "muted", "No tool calls recorded.")); }
    var bc = bt ? bt.tc : null, cc = ct ? ct.tc : null;
    var n = Math.max(bc ? bc.length : 0, cc ? cc.length : 0);
    if (n === 0) { return add(wrap, el("p", "muted", "Neither side called a tool.")); }
    var table = el("table", "traj");
    var head = el("tr");
    add(head, el("th", null, "step"), el("th", null, bt ? "baseline" : "baseline (not recorded)"), el("th", null, "candidate"));
    add(table, add(el("thead"), head));
    var body = el("tbody");
    var mismatches = 0;
    for (var i = 0; i < n; i++) {
      var b = bc ? bc[i] : null, k = cc ? cc[i] : null;
      var tr = el("tr");
      var same = b && k && b[0] === k[0] && canon(b[1]) === canon(k[1]);
      if (bc && cc && !same) { tr.className = "mismatch"; mismatches++; }
      add(tr, el("td", "num", String(i + 1)), callCell(b, cc ? k : null), callCell(k, bc ? b : null));
      body.appendChild(tr);
    }
    table.appendChild(body);
    if (bc && cc) {
      add(wrap, el("p", "small muted", mismatches ? mismatches + " of " + n + " step(s) differ (highlighted)" : "Same tool calls on both sides."));
    }
    return add(wrap, table);
  }
  /* ---- review marks: judge verdicts a reviewer disagrees with, downloaded as a file ---- */
  var MARKS = {};
  function markCount() { return Object.keys(MARKS).length; }
  function refreshMarks() {
    var btn = document.getElementById("marks-download");
    if (btn) { btn.textContent = "Download review marks (" + markCount() + ")"; btn.disabled = markCount() === 0; }
  }
  function markControl(c, which, t, tr, s) {
    var key = [c.e, c.id, which, t, s[0]].join("|");
    var wrap = el("span", "mark-ctl");
    var btn = el("button", "mark-btn", "disagree");
    btn.type = "button";
    btn.setAttribute("aria-pressed", MARKS[key] ? "true" : "false");
    var form = el("span", "mark-form");
    var label = el("input");
    label.type = "text"; label.placeholder = "your label"; label.setAttribute("aria-label", "your label for " + s[0]);
    var reason = el("input");
    reason.type = "text"; reason.placeholder = "why (one line)"; reason.setAttribute("aria-label", "why");
    function save() {
      MARKS[key] = { eval: c.e, case_id: c.id, side: which === "b" ? "baseline" : "candidate",
        run: (META.runs || {})[which] || null, trial: t, score: s[0], rubric: s[5] || null,
        judge_value: s[1], judge_passed: s[2], judge_verdict: s[3], judge_rationale: s[4],
        label: label.value.trim(), reason: reason.value.trim(), question: c.in, answer: tr.a };
      refreshMarks();
    }
    if (MARKS[key]) { label.value = MARKS[key].label; reason.value = MARKS[key].reason; } else { form.hidden = true; }
    label.addEventListener("input", save);
    reason.addEventListener("input", save);
    btn.addEventListener("click", function () {
      if (MARKS[key]) { delete MARKS[key]; form.hidden = true; btn.setAttribute("aria-pressed", "false"); }
      else { form.hidden = false; btn.setAttribute("aria-pressed", "true"); save(); label.focus(); }
      refreshMarks();
    });
    add(form, label, reason);
    return add(wrap, btn, form);
  }
  function downloadMarks() {
    var marks = Object.keys(MARKS).sort().map(function (k) { return MARKS[k]; });
    var doc = { schema_version: 1, kind: "passline-judge-marks", report: META.title || document.title,
      created_at: new Date().toISOString(), marks: marks };
    var blob = new Blob([JSON.stringify(doc, null, 1)], { type: "application/json" });
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "judge-marks.json";
    document.body.appendChild(a);
    a.click();
    document.body.removeChild(a);
    setTimeout(function () { URL.revokeObjectURL(a.href); }, 0);
  }
  function scoreList(tr, side, c, which, t) {
    if (!tr) { return notRecorded(side, "baseline"); }
    if (!tr.sc.length) { return el("p", "muted small", "no scores"); }
    var ul = el("ul", "plain scores small");
    tr.sc.forEach(function (s) {
      var li = el("li");
      add(li, el("span", s[2] ? "score-pass" : "score-fail", (s[2] ? "✓ " : "✗ ") + s[0] + " " + fmtScore(s[1])));
      if (s[3]) { add(li, " — " + s[3]); }
      if (s[4]) { add(li, el("span", "rationale", "judge rationale: " + s[4]), markControl(c, which, t, tr, s)); }
      ul.appendChild(li);
    });
    return ul;
  }
  function traceTree(tr, side, which) {
    if (!tr) { return notRecorded(side, which); }
    var det = el("details", "trace");
    var sp = tr.sp;
    add(det, el("summary", null, "trace: " + tr.spn + " span(s)" + (sp.length < tr.spn ? " (first " + sp.length + " shown)" : "")));
    if (!sp.length) { return add(det, el("p", "muted small", "no spans recorded")); }
    var table = el("table", "spans");
    var head = el("tr");
    ["span", "duration", "tokens", "cost", "status"].forEach(function (h) { head.appendChild(el("th", null, h)); });
    add(table, add(el("thead"), head));
    var body = el("tbody");
    sp.forEach(function (s) {
      var row = el("tr", s[6] === "ok" ? null : "span-error");
      var name = el("td", "sname");
      name.style.paddingLeft = (6 + 14 * s[0]) + "px";
      add(name, el("span", "kind", s[1] + " "), s[2]);
      if (s[7]) { add(name, el("span", "st-f", " " + s[7])); }
      add(row, name, el("td", "num", fmtSec(s[3])), el("td", "num", fmtInt(s[4])), el("td", "num", fmtMoney(s[5])), el("td", null, s[6]));
      body.appendChild(row);
    });
    return add(det, add(table, body));
  }
  function detail(c, t) {
    var d = el("div", "detail");
    d.id = "detail-" + c.i;
    var nb = c.b && c.b.tr ? c.b.tr.length : 0, nc = c.c && c.c.tr ? c.c.tr.length : 0;
    add(d, el("p", "small muted", c.d + " · " + c.e + (c.t.length ? " · tags: " + c.t.join(", ") : "")));
    if (Math.max(nb, nc) > 1) {
      var bar = el("div", "trials");
      add(bar, el("span", "small muted", "trial: "));
      for (var k = 0; k < Math.max(nb, nc); k++) {
        (function (k) {
          var b = el("button", null, String(k));
          b.type = "button";
          b.setAttribute("aria-pressed", k === t ? "true" : "false");
          b.addEventListener("click", function () {
            var fresh = detail(c, k);
            d.parentNode.replaceChild(fresh, d);
          });
          bar.appendChild(b);
        })(k);
      }
      d.appendChild(bar);
    }
    var bt = trialOf(c.b, t), ct = trialOf(c.c, t);
    add(d, el("h4", null, "input"), el("pre", null, c.in === null ? "(input not recorded)" : c.in));
    if (c.x !== null && c.x !== undefined) {
      add(d, el("h4", null, "expected"), el("pre", null, typeof c.x === "string" ? c.x : JSON.stringify(c.x, null, 2)));
    }
    add(d, el("h4", null, "answers (word diff: removed / added)"), answerPanes(c, bt, ct));
    add(d, el("h4", null, "tool-call trajectory"), trajectory(bt, ct, c));
    add(d, el("h4", null, "scores"), pair(pane(paneTitle("baseline", c.b, null), scoreList(bt, c.b, c, "b", t)), pane(paneTitle("candidate", c.c, null), scoreList(ct, c.c, c, "c", t))));
    add(d, el("h4", null, "traces"), pair(traceTree(bt, c.b, "baseline"), traceTree(ct, c.c, "candidate")));
    return d;
  }

  /* ---- wiring ---- */
  function setFilter(f) {
    state.filter = f;
    var btns = document.querySelectorAll("button.filter");
    for (var i = 0; i < btns.length; i++) {
      btns[i].setAttribute("aria-pressed", btns[i].getAttribute("data-filter") === f ? "true" : "false");
    }
  }
  function focusCase(index) {
    setFilter("all");
    state.query = "";
    searchEl.value = "";
    recompute(false);
    var pos = -1;
    for (var i = 0; i < state.list.length; i++) { if (state.list[i].i === index) { pos = i; break; } }
    if (pos < 0) { return; }
    state.page = Math.floor(pos / PAGE);
    render();
    var items = listEl.children;
    var li = items[pos - state.page * PAGE];
    var btn = li.firstChild;
    if (btn.getAttribute("aria-expanded") !== "true") { btn.click(); }
    li.scrollIntoView({ block: "start" });
    btn.focus();
  }
  var filterBtns = document.querySelectorAll("button.filter");
  for (var i = 0; i < filterBtns.length; i++) {
    filterBtns[i].addEventListener("click", function (ev) {
      setFilter(ev.currentTarget.getAttribute("data-filter"));
      recompute(false);
    });
  }
  var timer = null;
  searchEl.addEventListener("input", function () {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(function () {
      state.query = searchEl.value.trim().toLowerCase();
      recompute(false);
    }, 120);
  });
  prevBtn.addEventListener("click", function () { if (state.page > 0) { state.page--; render(); } });
  nextBtn.addEventListener("click", function () { state.page++; render(); });
  var links = document.querySelectorAll("button.case-link");
  for (i = 0; i < links.length; i++) {
    links[i].addEventListener("click", function (ev) {
      focusCase(parseInt(ev.currentTarget.getAttribute("data-case"), 10));
    });
  }
  var judges = document.getElementById("judges");
  if (judges) {
    var dl = el("button", "marks-download", "Download review marks (0)");
    dl.type = "button"; dl.id = "marks-download"; dl.disabled = true;
    dl.addEventListener("click", downloadMarks);
    add(judges, add(el("p", "small"), dl, " Mark judge verdicts you disagree with (\u201cdisagree\u201d under a judged score), give your label, then download the marks and merge them into the calibration set: passline judge labels add judge-marks.json --labeller NAME --kind human."));
  }
  function start() {
    state.list = CASES;
    counts();
    render();
    document.documentElement.setAttribute("data-rendered-ms", String(Math.round(performance.now())));
  }
  if (CHUNKS) {
    unpack("cases-index").then(function (index) { CASES = index; start(); }, failed);
  } else {
    start();
  }
})();
