/* The gallery page's script: rlvideo.gallery.build inlines it into the page it writes.
   ES5 syntax, no dependencies. The pure part comes first and is exported under Node (CommonJS),
   where the page's part never starts: tests/js/test_gallery.js tests it with node --test. */
"use strict";
(function () {
  // -- pure: no DOM (tests/js/test_gallery.js runs this part under Node) --------------------
  function known(x) { return x !== null && x !== undefined && x !== ""; }
  function fmt(x) {
    if (!known(x)) return "\u2014";
    if (typeof x !== "number") return String(x);
    return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(6)));
  }
  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  // -- the query language ----------------------------------------------------------------------
  var FIELDS = {
    file: ["file", "text"], run: ["run", "text"], worker: ["worker", "num"],
    checkpoint: ["checkpoint", "any"], ckpt: ["checkpoint", "any"],
    episode: ["episode", "num"], ep: ["episode", "num"], step: ["step", "num"],
    first_step: ["step", "num"], "return": ["return", "num"], ret: ["return", "num"],
    length: ["steps", "num"], len: ["steps", "num"], steps: ["steps", "num"],
    frames: ["frames", "num"], duration: ["duration", "num"], dur: ["duration", "num"],
    fps: ["fps", "num"], size: ["size", "num"], codec: ["codec", "text"], env: ["env", "env"],
    env_id: ["env", "text"], env_index: ["env_index", "num"], seed: ["seed", "num"],
    kind: ["kind", "text"]
  };
  var FLAGS = {
    terminated: function (v) { return v.terminated; },
    truncated: function (v) { return v.truncated; },
    cut_short: function (v) { return v.cut_short; },
    incomplete: function (v) { return v.incomplete; },
    unreadable: function (v) { return v.unreadable; },
    track: function (v) { return Boolean(v.track); },
    gif: function (v) { return v.gif; }
  };
  // The text a bare word is looked for in.
  function haystack(v) {
    return [v.file, v.run, v.env, v.codec, v.checkpoint, v.kind, (v.badges || []).join(" ")]
      .filter(known).join(" ").toLowerCase();
  }

  function splitTerms(text) {
    text = text.replace(/\bcut[\s_-]*short\b/gi, "cut_short");
    var terms = [], current = "", quoted = false, any = false;
    for (var i = 0; i < text.length; i += 1) {
      var c = text[i];
      if (c === '"') { quoted = !quoted; any = true; continue; }
      if (!quoted && /\s/.test(c)) {
        if (current || any) terms.push(current);
        current = ""; any = false;
      } else {
        current += c;
      }
    }
    if (current || any) terms.push(current);
    return terms.filter(Boolean);
  }

  function numberPredicate(key, op, value, term) {
    if (op === ">" || op === "<" || op === ">=" || op === "<=") {
      var n = Number(value);
      if (value === "" || isNaN(n)) throw new Error(term + ": " + value + " is not a number");
      return function (v) {
        var x = v[key];
        if (typeof x !== "number") return false;
        return op === ">" ? x > n : op === "<" ? x < n : op === ">=" ? x >= n : x <= n;
      };
    }
    var tests = value.split("|").map(function (alt) {
      var range = alt.split("..");
      if (range.length === 2) {
        var lo = range[0] === "" ? -Infinity : Number(range[0]);
        var hi = range[1] === "" ? Infinity : Number(range[1]);
        if (isNaN(lo) || isNaN(hi)) throw new Error(term + ": " + alt + " is not a range of numbers (a..b)");
        return function (x) { return x >= lo && x <= hi; };
      }
      var n = Number(alt);
      if (alt === "" || isNaN(n)) throw new Error(term + ": " + alt + " is not a number");
      return function (x) { return x === n; };
    });
    return function (v) {
      var x = v[key];
      return typeof x === "number" && tests.some(function (t) { return t(x); });
    };
  }

  function textPredicate(key, op, value, term) {
    if (op !== "=" && op !== ":" && op !== "==") {
      throw new Error(term + ": " + key + " is text; use = (contains) or == (exactly)");
    }
    var alts = value.toLowerCase().split("|");
    return function (v) {
      if (!known(v[key])) return false;
      var x = String(v[key]).toLowerCase();
      return alts.some(function (a) { return op === "==" ? x === a : x.indexOf(a) !== -1; });
    };
  }

  function isNumbers(value) {
    return value !== "" && value.split("|").every(function (a) {
      return a.split("..").every(function (b) { return b === "" || !isNaN(Number(b)); });
    });
  }

  function parseTerm(term, haystackOf) {
    var negate = false, body = term;
    if ((body[0] === "-" || body[0] === "!") && body.length > 1 && !/^-\d/.test(body)) {
      negate = true; body = body.slice(1);
    }
    var match = /^([a-z_]+)(>=|<=|!=|==|>|<|=|:)(.*)$/i.exec(body);
    var predicate;
    if (match) {
      var name = match[1].toLowerCase(), op = match[2], value = match[3];
      var field = FIELDS[name];
      if (!field) {
        throw new Error("unknown field " + name + " in " + term + "; fields: " + Object.keys(FIELDS).join(", "));
      }
      if (op === "!=") { negate = !negate; op = "="; }
      var key = field[0], type = field[1];
      if (type === "env") {
        if (isNumbers(value)) { key = "env_index"; type = "num"; } else { type = "text"; }
      } else if (type === "any") {
        type = isNumbers(value) && op !== "==" ? "anynum" : "text";
      }
      if (type === "num") {
        predicate = numberPredicate(key, op, value, term);
      } else if (type === "anynum") {
        var asNumber = numberPredicate(key, op, value, term);
        var asText = op === "=" || op === ":" ? textPredicate(key, op, value, term) : function () { return false; };
        predicate = function (v) { return asNumber(v) || asText(v); };
      } else {
        predicate = textPredicate(key, op, value, term);
      }
    } else if (FLAGS[body.toLowerCase()]) {
      predicate = FLAGS[body.toLowerCase()];
    } else {
      var needle = body.toLowerCase();
      predicate = function (v) { return haystackOf(v).indexOf(needle) !== -1; };
    }
    return negate ? function (v) { return !predicate(v); } : predicate;
  }

  // The query box's text as predicates (all must hold) and the errors of the terms it could not
  // read; haystackOf(v) gives the text bare words are looked for in (default: haystack).
  function parseQuery(text, haystackOf) {
    var predicates = [], errors = [];
    splitTerms(text).forEach(function (term) {
      try { predicates.push(parseTerm(term, haystackOf || haystack)); } catch (error) { errors.push(error.message); }
    });
    return { predicates: predicates, errors: errors };
  }

  // -- the plots' scales -----------------------------------------------------------------------
  function niceTicks(lo, hi, count, integers) {
    if (lo === hi) { lo -= 1; hi += 1; }
    var step = Math.pow(10, Math.floor(Math.log10((hi - lo) / count)));
    var err = (hi - lo) / count / step;
    step *= err >= 7.5 ? 10 : err >= 3.5 ? 5 : err >= 1.5 ? 2 : 1;
    if (integers) step = Math.max(1, Math.round(step));
    var ticks = [];
    for (var t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
    return { lo: lo, hi: hi, ticks: ticks };
  }
  // The lowest and highest of numbers.
  function extent(values) { return [Math.min.apply(null, values), Math.max.apply(null, values)]; }
  // A value within its env's span [lo, hi] as 0..1; 0.5 when the span is one value.
  function normalise(value, span) { return span[1] > span[0] ? (value - span[0]) / (span[1] - span[0]) : 0.5; }
  // Data to SVG coordinates for the axes X and Y (niceTicks's) in a W x H box with margins
  // L, R, T, B: an axis reaches from its lowest tick or value to its highest; y grows upwards.
  function plotScale(X, Y, box) {
    var xlo = Math.min(X.lo, X.ticks[0]), xhi = Math.max(X.hi, X.ticks[X.ticks.length - 1]);
    var ylo = Math.min(Y.lo, Y.ticks[0]), yhi = Math.max(Y.hi, Y.ticks[Y.ticks.length - 1]);
    return {
      x: function (x) { return box.L + (x - xlo) / (xhi - xlo) * (box.W - box.L - box.R); },
      y: function (y) { return box.H - box.B - (y - ylo) / (yhi - ylo) * (box.H - box.T - box.B); }
    };
  }
  // A track's curve under the player: values (null where unknown) over n frames, W x H.
  function polyline(values, n, W, H, cls) {
    var nums = values.filter(function (x) { return typeof x === "number"; });
    if (!nums.length) return { svg: "", lo: null, hi: null };
    var lo = Math.min.apply(null, nums), hi = Math.max.apply(null, nums);
    var span = hi - lo || 1, stride = Math.max(1, Math.floor(n / 2000)), points = [];
    for (var i = 0; i < n; i += stride) {
      if (typeof values[i] !== "number") continue;
      points.push((n > 1 ? i / (n - 1) * W : 0).toFixed(1) + "," + (H - 6 - (values[i] - lo) / span * (H - 12)).toFixed(1));
    }
    return { svg: '<polyline class="' + cls + '" points="' + points.join(" ") + '"/>', lo: lo, hi: hi };
  }

  var core = {
    known: known, fmt: fmt, esc: esc, FIELDS: FIELDS, FLAGS: FLAGS, haystack: haystack,
    splitTerms: splitTerms, parseQuery: parseQuery,
    niceTicks: niceTicks, extent: extent, normalise: normalise, plotScale: plotScale, polyline: polyline
  };
  if (typeof module !== "undefined" && module.exports) { module.exports = core; return; }

  // -- the page ----------------------------------------------------------------------------------
  var DATA = JSON.parse(document.getElementById("gallery-data").textContent);
  var videos = DATA.videos;
  var $ = function (id) { return document.getElementById(id); };
  var byName = new Map();
  videos.forEach(function (v, i) { v.i = i; byName.set(v.file, v); });
  var cards = Array.from(document.querySelectorAll("#grid .card"));
  var rows = Array.from(document.querySelectorAll("#videos tbody tr"));
  var grid = $("grid"), tableView = $("table-view"), tbody = document.querySelector("#videos tbody");
  var filter = $("filter"), sortSelect = $("sort"), sortDir = $("sort-dir");
  var SPEEDS = [0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4];
  var COLORS = DATA.colors || {};  // run -> colour, made by the builder: the same in every view
  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

  function fpsOf(v) { return v.sidecar_fps || v.fps || 30; }
  function playable(v) { return !v.gif && !v.problem; }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function facts(v) {
    var parts = [];
    if (known(v.episode)) parts.push("ep " + v.episode);
    if (known(v["return"])) parts.push("return " + fmt(v["return"]));
    if (known(v.step) && v.step) parts.push("step " + v.step);
    if (known(v.seed)) parts.push("seed " + v.seed);
    if (known(v.env_index)) parts.push("env " + v.env_index);
    if (known(v.worker)) parts.push("w" + v.worker);
    return parts.join(" \u00b7 ");
  }
  cards.forEach(function (card) { card.querySelector(".facts").textContent = facts(videos[card.dataset.index]); });

  // -- the query box ---------------------------------------------------------------------------
  var haystacks = videos.map(haystack);
  function queryOf(text) { return parseQuery(text, function (v) { return haystacks[v.i]; }); }

  // -- sorting and filtering -------------------------------------------------------------------
  var DATA_KEY = { length: "steps" };
  var TEXT_KEYS = { file: true, run: true, checkpoint: true, codec: true, env: true };
  var sortKey = null, ascending = true, visible = videos.slice();

  function compare(a, b) {
    var key = DATA_KEY[sortKey] || sortKey;
    var x = a[key], y = b[key], order;
    if (!known(x) || !known(y)) {
      order = (known(x) ? 0 : 1) - (known(y) ? 0 : 1);  // unknown values last, either way
    } else {
      order = TEXT_KEYS[sortKey] && (typeof x !== "number" || typeof y !== "number")
        ? collator.compare(String(x), String(y)) : x - y;
      if (!ascending) order = -order;
    }
    return order || a.i - b.i;
  }

  function sortBy(key, up) {
    sortKey = key; ascending = up;
    sortSelect.value = key;
    sortDir.innerHTML = up ? "&uarr; ascending" : "&darr; descending";
    var order = videos.slice().sort(compare);
    var cardsHere = document.createDocumentFragment(), rowsHere = document.createDocumentFragment();
    order.forEach(function (v) { cardsHere.appendChild(cards[v.i]); rowsHere.appendChild(rows[v.i]); });
    grid.appendChild(cardsHere); tbody.appendChild(rowsHere);
    document.querySelectorAll("#videos th[data-key]").forEach(function (th) {
      th.setAttribute("aria-sort", th.dataset.key !== key ? "none" : up ? "ascending" : "descending");
    });
    applyFilter();
  }

  function applyFilter() {
    var query = queryOf(filter.value);
    var error = $("query-error");
    error.hidden = query.errors.length === 0;
    error.textContent = query.errors.join("; ");
    filter.setAttribute("aria-invalid", query.errors.length ? "true" : "false");
    var order = Array.from(grid.children).map(function (card) { return videos[card.dataset.index]; });
    visible = [];
    order.forEach(function (v) {
      var match = query.predicates.every(function (p) { return p(v); });
      cards[v.i].hidden = !match;
      rows[v.i].hidden = !match;
      if (match) visible.push(v); else stopPreview(cards[v.i]);
    });
    $("shown").textContent = visible.length + " of " + videos.length;
    $("nomatch").hidden = visible.length > 0;
    var shownSet = new Set(visible);
    plotPoints.forEach(function (circle, v) { circle.classList.toggle("out", !shownSet.has(v)); });
    var terms = splitTerms(filter.value).map(function (t) { return t.toLowerCase(); });
    document.querySelectorAll("#facets .chip").forEach(function (chip) {
      chip.setAttribute("aria-pressed", terms.indexOf(chip.dataset.term.toLowerCase()) !== -1 ? "true" : "false");
    });
    if (toggle) toggleLabel();
  }

  filter.addEventListener("input", applyFilter);
  sortSelect.addEventListener("change", function () { sortBy(sortSelect.value, true); });
  sortDir.addEventListener("click", function () { sortBy(sortKey || "file", !ascending); });
  document.querySelectorAll("#videos th[data-key] button").forEach(function (button) {
    button.addEventListener("click", function () {
      var key = button.parentNode.dataset.key;
      sortBy(key, sortKey === key ? !ascending : true);
    });
  });

  // -- views and lazy previews -----------------------------------------------------------------
  function setView(view) {
    grid.hidden = view !== "grid";
    tableView.hidden = view !== "table";
    $("view-grid").setAttribute("aria-pressed", view === "grid" ? "true" : "false");
    $("view-table").setAttribute("aria-pressed", view === "table" ? "true" : "false");
    if (view !== "grid") cards.forEach(stopPreview);
  }
  $("view-grid").addEventListener("click", function () { setView("grid"); });
  $("view-table").addEventListener("click", function () { setView("table"); });

  function startPreview(card) {
    var v = videos[card.dataset.index];
    if (v.problem || !v.poster) return;
    var thumb = card.querySelector(".thumb");
    if (v.gif) { thumb.querySelector("img").src = v.href; return; }
    var preview = thumb.querySelector("video");
    if (!preview) {
      preview = el("video", { preload: "none", muted: "", playsinline: "", loop: "" });
      preview.muted = true;
      preview.src = v.href;
      preview.style.opacity = "0";
      preview.addEventListener("playing", function () { preview.style.opacity = "1"; });
      preview.addEventListener("error", function () { preview.remove(); });
      thumb.appendChild(preview);
    }
    preview.playbackRate = 1;
    var started = preview.play();
    if (started) started.catch(function () {});
  }
  function stopPreview(card) {
    var v = videos[card.dataset.index];
    var thumb = card.querySelector(".thumb");
    var preview = thumb.querySelector("video");
    if (preview) { preview.pause(); preview.removeAttribute("src"); preview.load(); preview.remove(); }
    if (v.gif && v.poster) {
      var img = thumb.querySelector("img");
      if (img.getAttribute("src") !== v.poster) img.src = v.poster;
    }
  }
  var onScreen = "IntersectionObserver" in window ? new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      entry.target.classList.toggle("seen", entry.isIntersecting);
      if (!entry.isIntersecting) stopPreview(entry.target);
    });
  }, { rootMargin: "100px" }) : null;
  cards.forEach(function (card) {
    var thumb = card.querySelector(".thumb");
    if (onScreen) onScreen.observe(card);
    thumb.addEventListener("mouseenter", function () { startPreview(card); });
    thumb.addEventListener("mouseleave", function () { stopPreview(card); });
    thumb.addEventListener("click", function () { stopPreview(card); openFromList(card.dataset.file); });
  });
  rows.forEach(function (row) {
    row.querySelector(".thumb").addEventListener("click", function () { openFromList(row.dataset.file); });
  });
  document.querySelectorAll(".card a.name, td.file a").forEach(function (link) {
    link.addEventListener("click", function (event) {
      if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      openFromList(link.closest("[data-file]").dataset.file);
    });
  });

  // -- facets ----------------------------------------------------------------------------------
  function quoteValue(value) {
    value = String(value);
    return /[\s"]/.test(value) ? '"' + value.replace(/"/g, "") + '"' : value;
  }
  function toggleTerm(term) {
    var terms = splitTerms(filter.value);
    var lower = terms.map(function (t) { return t.toLowerCase(); });
    var at = lower.indexOf(term.toLowerCase());
    if (at === -1) terms.push(term); else terms.splice(at, 1);
    filter.value = terms.map(function (t) { return /\s/.test(t) ? quoteValue(t) : t; }).join(" ");
    applyFilter();
  }
  function buildFacets() {
    var box = $("facets");
    var specs = [
      ["run", "run", "run=="], ["env", "env", "env=="], ["env", "env_index", "env="],
      ["worker", "worker", "worker="], ["checkpoint", "checkpoint", "checkpoint=="],
      ["kind", "kind", "kind=="], ["seed", "seed", "seed="]
    ];
    specs.forEach(function (spec) {
      var counts = new Map();
      videos.forEach(function (v) {
        if (known(v[spec[1]])) counts.set(v[spec[1]], (counts.get(v[spec[1]]) || 0) + 1);
      });
      if (counts.size < 2 || counts.size > 12) return;
      var group = el("span", { "class": "facet" });
      group.appendChild(el("b", {}, spec[1] === "env_index" ? "env #" : spec[0]));
      Array.from(counts.keys()).sort(function (a, b) {
        return typeof a === "number" && typeof b === "number" ? a - b : collator.compare(String(a), String(b));
      }).forEach(function (value) {
        addChip(group, String(value), spec[2] + quoteValue(value), counts.get(value));
      });
      box.appendChild(group);
    });
    var flags = el("span", { "class": "facet" });
    ["terminated", "truncated", "cut_short", "incomplete", "track"].forEach(function (flag) {
      var n = videos.filter(FLAGS[flag]).length;
      if (n) addChip(flags, flag.replace("_", " "), flag, n);
    });
    if (flags.childNodes.length) { flags.insertBefore(el("b", {}, "flags"), flags.firstChild); box.appendChild(flags); }
    box.hidden = box.childNodes.length === 0;
  }
  function addChip(group, label, term, count) {
    var chip = el("button", { type: "button", "class": "chip", "aria-pressed": "false", "data-term": term, title: term });
    chip.textContent = label;
    chip.appendChild(el("span", { "class": "n" }, String(count)));
    chip.addEventListener("click", function () { toggleTerm(term); });
    group.appendChild(chip);
  }

  // -- the return plot -------------------------------------------------------------------------
  var plotPoints = new Map();
  var runs = Object.keys(COLORS);
  function runColor(run) { return COLORS[run] || "#7f7f7f"; }
  // One small plot per env (returns of different envs share no scale), or one plot with each
  // env's returns normalised to 0..1 (its lowest to its highest); the x axis is shared.
  function envOf(v) { return known(v.env) ? v.env : ""; }
  function drawPlot() {
    var xKey = $("plot-x").value, mode = $("plot-mode").value;
    var points = videos.filter(function (v) { return typeof v["return"] === "number" && typeof v[xKey] === "number"; });
    $("plot").hidden = points.length === 0;
    plotPoints = new Map();
    var box = $("plot-panels");
    box.innerHTML = "";
    if (!points.length) return;
    var envs = new Map();
    points.forEach(function (v) { var k = envOf(v); if (!envs.has(k)) envs.set(k, []); envs.get(k).push(v); });
    var names = Array.from(envs.keys()).sort(collator.compare);
    $("plot-mode-label").hidden = names.length < 2;
    var xs = points.map(function (v) { return v[xKey]; });
    var X = niceTicks(Math.min.apply(null, xs), Math.max.apply(null, xs), names.length > 1 && mode === "apart" ? 4 : 8, xs.every(Number.isInteger));
    var spans = new Map();
    envs.forEach(function (list, env) {
      spans.set(env, extent(list.map(function (v) { return v["return"]; })));
    });
    if (names.length < 2 || mode === "normalised") {
      var normalised = names.length > 1;
      var yOf = normalised ? function (v) { return normalise(v["return"], spans.get(envOf(v))); }
        : function (v) { return v["return"]; };
      var caption = normalised ? "return, normalised per env: 0 is the env's lowest, 1 its highest" : "";
      addPanel(box, points, xKey, X, yOf, { W: 960, H: 220, caption: caption, env: null, normalised: normalised });
    } else {
      names.forEach(function (env) {
        var span = spans.get(env);
        addPanel(box, envs.get(env), xKey, X, function (v) { return v["return"]; }, {
          W: 480, H: 200, env: env,
          caption: (env || "(no env)") + '<span> \u00b7 return ' + esc(fmt(span[0])) + (span[1] > span[0] ? " to " + esc(fmt(span[1])) : "") + "</span>"
        });
      });
    }
    box.querySelectorAll("circle.pt").forEach(function (circle) { plotPoints.set(byName.get(circle.dataset.file), circle); });
    box.querySelectorAll("a").forEach(function (link) {
      link.addEventListener("click", function () { autoplayNext = true; });
    });
    var shownRuns = runs.filter(function (run) { return points.some(function (v) { return v.run === run; }); });
    $("plot-legend").innerHTML = runs.length > 1 ? shownRuns.map(function (run) {
      return '<span data-run="' + esc(run) + '"><i style="background:' + runColor(run) + '"></i>' + esc(run) + "</span>";
    }).join("") : "";
  }
  function addPanel(box, points, xKey, X, yOf, o) {
    var W = o.W, H = o.H, L = 52, R = 14, T = 10, B = 30;
    var ys = points.map(yOf);
    var Y = o.normalised ? { lo: 0, hi: 1, ticks: [0, 0.25, 0.5, 0.75, 1] }
      : niceTicks(Math.min.apply(null, ys), Math.max.apply(null, ys), o.W < 960 ? 4 : 5);
    var scale = plotScale(X, Y, { W: W, H: H, L: L, R: R, T: T, B: B }), sx = scale.x, sy = scale.y;
    var parts = [];
    Y.ticks.forEach(function (t) {
      parts.push('<line class="axis" x1="' + L + '" x2="' + (W - R) + '" y1="' + sy(t) + '" y2="' + sy(t) + '"/>');
      parts.push('<text x="' + (L - 6) + '" y="' + (sy(t) + 4) + '" text-anchor="end">' + fmt(t) + "</text>");
    });
    X.ticks.forEach(function (t) {
      parts.push('<text x="' + sx(t) + '" y="' + (H - B + 16) + '" text-anchor="middle">' + fmt(t) + "</text>");
    });
    parts.push('<text x="' + (W - R) + '" y="' + (H - 2) + '" text-anchor="end">' + (xKey === "step" ? "training step" : "episode") + "</text>");
    var lines = new Map();  // a run's points, in one env: joined by a line
    points.forEach(function (v) {
      var k = (v.run || "") + "\u0000" + envOf(v);
      if (!lines.has(k)) lines.set(k, []);
      lines.get(k).push(v);
    });
    lines.forEach(function (list) {
      list.sort(function (a, b) { return a[xKey] - b[xKey] || a.i - b.i; });
      if (list.length > 1) {
        parts.push('<polyline fill="none" stroke-opacity="0.45" stroke="' + runColor(list[0].run) + '" points="' +
          list.map(function (v) { return sx(v[xKey]).toFixed(1) + "," + sy(yOf(v)).toFixed(1); }).join(" ") + '"/>');
      }
    });
    points.forEach(function (v) {
      var about = v.file + ": return " + fmt(v["return"]) + (known(v.env) ? " (" + v.env + ")" : "") + ", " + xKey + " " + v[xKey];
      parts.push('<a href="#v=' + esc(encodeURIComponent(v.file)) + '" aria-label="' + esc(v.file) + '"><circle class="pt" r="' + (W < 960 ? 6 : 5) + '" cx="' +
        sx(v[xKey]).toFixed(1) + '" cy="' + sy(yOf(v)).toFixed(1) + '" fill="' + runColor(v.run) +
        '" data-file="' + esc(v.file) + '" data-run="' + esc(v.run || "") + '"><title>' + esc(about) + "</title></circle></a>");
    });
    var figure = el("figure", o.env === null ? { "class": "plot-panel" } : { "class": "plot-panel", "data-env": o.env });
    var label = o.env === null ? "Return of each video" : "Return of each " + (o.env || "no env") + " video";
    figure.innerHTML = (o.caption ? "<figcaption>" + o.caption + "</figcaption>" : "") +
      '<svg viewBox="0 0 ' + W + " " + H + '" role="img" aria-label="' + esc(label) + '">' + parts.join("") + "</svg>";
    box.appendChild(figure);
  }
  $("plot-x").addEventListener("change", function () { drawPlot(); applyFilter(); });
  $("plot-mode").addEventListener("change", function () { drawPlot(); applyFilter(); });
  if (!videos.some(function (v) { return typeof v.step === "number" && v.step !== videos[0].step; })) {
    $("plot-x").querySelector("option[value=step]").disabled = true;
  }

  // -- same seed, different runs ---------------------------------------------------------------
  function sameSeedGroups() {
    var groups = new Map();
    videos.forEach(function (v) {
      if (!playable(v) || !known(v.seed)) return;
      var key = (v.env || "") + "\u0000" + v.seed;
      if (!groups.has(key)) groups.set(key, new Map());
      var byRunHere = groups.get(key);
      if (!byRunHere.has(v.run)) byRunHere.set(v.run, []);
      byRunHere.get(v.run).push(v);
    });
    var found = [];
    groups.forEach(function (byRunHere) {
      if (byRunHere.size < 2) return;
      var picks = Array.from(byRunHere.keys()).sort(collator.compare).slice(0, 4).map(function (run) {
        return byRunHere.get(run).slice().sort(function (a, b) { return (a.episode || 0) - (b.episode || 0) || a.i - b.i; })[0];
      });
      found.push(picks);
    });
    found.sort(function (a, b) { return a[0].seed - b[0].seed || collator.compare(a[0].env || "", b[0].env || ""); });
    return found;
  }
  function compareHash(list) { return "compare=" + list.map(function (v) { return encodeURIComponent(v.file); }).join(","); }
  function describe(v) { return (v.run || v.file) + " ep " + fmt(v.episode) + " (return " + fmt(v["return"]) + ")"; }
  var pairs = sameSeedGroups();
  pairs.forEach(function (list) {
    var item = el("li");
    var link = el("a", { href: "#" + compareHash(list) },
      "seed " + list[0].seed + (list[0].env ? " \u00b7 " + list[0].env : "") + ": " + list.map(describe).join(" vs "));
    item.appendChild(link);
    $("pairs-list").appendChild(item);
  });
  $("pairs-count").textContent = pairs.length + " suggestion" + (pairs.length === 1 ? "" : "s");
  $("pairs").hidden = pairs.length === 0;

  // -- players kept in step: the viewer is one, compare two to four ----------------------------
  function frameOf(v, time) {
    var frames = v.frames || 1;
    return Math.max(0, Math.min(frames - 1, Math.floor(time * fpsOf(v) + 1e-3)));
  }
  // A video whose sidecar records an overlay (v.overlay: its position and band) shows its
  // values in its own frames: its live text starts hidden, so the text is never there twice.
  function burntIn(v) { return !!v.overlay; }
  function Sync(items, controls) {
    var self = this;
    this.items = items;  // [{video, v, hud}]
    this.rate = 1; this.loop = false; this.playing = false;
    this.overlay = items.some(function (item) { return !burntIn(item.v); });
    items.forEach(function (item) { item.hud.hidden = burntIn(item.v); });
    this.controls = controls;
    this.closed = false;
    items.forEach(function (item) {
      ["loadedmetadata", "seeked", "pause", "play"].forEach(function (name) {
        item.video.addEventListener(name, function () { self.render(); });
      });
      item.video.addEventListener("ended", function () { self.ended(item); });
      if (item.video.requestVideoFrameCallback) {  // redraw as each frame is shown
        var onFrame = function () {
          if (self.closed) return;
          self.render();
          item.video.requestVideoFrameCallback(onFrame);
        };
        item.video.requestVideoFrameCallback(onFrame);
      }
    });
    buildControls(this);
    var tick = function () {
      if (self.closed) return;
      self.correct();
      self.render();
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }
  Sync.prototype.master = function () {
    var best = this.items[0];
    this.items.forEach(function (item) {
      if ((item.video.duration || 0) > (best.video.duration || 0)) best = item;
    });
    return best;
  };
  Sync.prototype.time = function () { return this.master().video.currentTime; };
  Sync.prototype.duration = function () { return this.master().video.duration || 0; };
  Sync.prototype.each = function (fn) { this.items.forEach(fn); };
  Sync.prototype.play = function () {
    var self = this, master = this.master();
    if (master.video.ended || this.time() >= this.duration() - 1e-3) this.seek(0);
    var t = this.time();
    this.playing = true;
    this.each(function (item) {
      var video = item.video;
      video.playbackRate = self.rate;
      if (item !== master && Math.abs(video.currentTime - Math.min(t, video.duration || t)) > 0.5 / fpsOf(item.v)) {
        video.currentTime = Math.min(t, video.duration || t);
      }
      if (!(video.duration && t >= video.duration - 1e-3)) {
        var started = video.play();
        if (started) started.catch(function () {});
      }
    });
    this.render();
  };
  Sync.prototype.pause = function () {
    this.playing = false;
    this.each(function (item) { item.video.pause(); });
    var t = this.time(), master = this.master();
    var rate = this.rate;
    this.each(function (item) {
      if (item !== master) item.video.currentTime = Math.min(t, item.video.duration || t);
      item.video.playbackRate = rate;
    });
    this.render();
  };
  Sync.prototype.toggle = function () { if (this.playing) this.pause(); else this.play(); };
  Sync.prototype.seek = function (t) {
    t = Math.max(0, Math.min(t, this.duration() || t));
    this.each(function (item) { item.video.currentTime = Math.min(t, item.video.duration || t); });
    this.render();
  };
  Sync.prototype.step = function (frames) {
    if (this.playing) this.pause();
    var v = this.master().v;
    var target = Math.max(0, Math.min((v.frames || 1) - 1, frameOf(v, this.time()) + frames));
    this.seek((target + 0.5) / fpsOf(v));
  };
  Sync.prototype.setRate = function (rate) {
    this.rate = rate;
    this.each(function (item) { item.video.playbackRate = rate; });
    this.controls.speed.value = String(rate);
  };
  Sync.prototype.faster = function (by) {
    var i = SPEEDS.indexOf(this.rate);
    this.setRate(SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, (i < 0 ? 3 : i) + by))]);
  };
  Sync.prototype.setLoop = function (loop) { this.loop = loop; this.controls.loop.checked = loop; };
  Sync.prototype.setOverlay = function (on) {
    this.overlay = on;
    this.controls.overlay.checked = on;
    this.each(function (item) { item.hud.hidden = !on; });
  };
  Sync.prototype.ended = function (item) {
    if (item !== this.master() || !this.playing) return;
    if (this.loop) { this.seek(0); this.play(); } else { this.pause(); }
  };
  Sync.prototype.correct = function () {
    // Followers chase the master: a small drift is taken up by playing a little faster or
    // slower, a large one (a stall) by a seek.
    if (!this.playing) return;
    var master = this.master(), m = master.video.currentTime, rate = this.rate;
    this.each(function (item) {
      if (item === master) return;
      var video = item.video, fps = fpsOf(item.v);
      if (video.duration && m >= video.duration - 1e-3) return;  // shorter: it waits at its end
      if (video.paused) { var p = video.play(); if (p) p.catch(function () {}); }
      var drift = video.currentTime - m;
      if (Math.abs(drift) > 3 / fps) {
        video.currentTime = m;
      } else if (Math.abs(drift) > 0.2 / fps) {
        video.playbackRate = rate * Math.max(0.7, Math.min(1.3, 1 - drift * 4));
      } else if (video.playbackRate !== rate) {
        video.playbackRate = rate;
      }
    });
  };
  Sync.prototype.render = function () {
    var c = this.controls, master = this.master(), t = this.time(), d = this.duration();
    c.play.textContent = this.playing ? "\u275a\u275a pause" : "\u25b6 play";
    c.play.setAttribute("aria-pressed", this.playing ? "true" : "false");
    if (d && document.activeElement !== c.seek) { c.seek.max = String(d); c.seek.value = String(t); }
    var f = frameOf(master.v, t);
    c.time.textContent = t.toFixed(2) + " / " + (d ? d.toFixed(2) : "?") + " s \u00b7 frame " + f + " / " + Math.max(0, (master.v.frames || 1) - 1);
    c.time.dataset.frame = String(f);
    this.each(function (item) { drawHud(item, frameOf(item.v, item.video.currentTime)); });
    if (this.onFrame) this.onFrame(f);
  };
  Sync.prototype.close = function () {
    this.closed = true;
    this.each(function (item) {
      item.video.pause();
      item.video.removeAttribute("src");
      item.video.load();
    });
  };

  function buildControls(sync) {
    var box = sync.controls.box;
    box.innerHTML = "";
    var c = sync.controls;
    c.back = el("button", { type: "button", "data-act": "back", title: "Previous frame (,)" }, "\u25c0\u2759");
    c.play = el("button", { type: "button", "data-act": "play", title: "Play / pause (Space)" }, "\u25b6 play");
    c.fwd = el("button", { type: "button", "data-act": "fwd", title: "Next frame (.)" }, "\u2759\u25b6");
    c.seek = el("input", { type: "range", min: "0", max: "1", step: "any", value: "0", "data-act": "seek", "aria-label": "Seek" });
    c.time = el("span", { "class": "time", "data-act": "time" });
    c.speed = el("select", { "data-act": "speed", "aria-label": "Speed", title: "Speed ([ and ])" });
    SPEEDS.forEach(function (s) { c.speed.appendChild(el("option", { value: String(s) }, s + "x")); });
    c.speed.value = "1";
    var loopLabel = el("label", { title: "Loop (l)" }), overlayLabel = el("label", { title: "Live overlay text (o); off at first where the frames show their own" });
    c.loop = el("input", { type: "checkbox", "data-act": "loop" });
    c.overlay = el("input", { type: "checkbox", "data-act": "overlay" });
    c.overlay.checked = sync.overlay;
    loopLabel.append(c.loop, " loop");
    overlayLabel.append(c.overlay, " overlay");
    box.append(c.back, c.play, c.fwd, c.seek, c.time, c.speed, loopLabel, overlayLabel);
    c.back.addEventListener("click", function () { sync.step(-1); });
    c.fwd.addEventListener("click", function () { sync.step(1); });
    c.play.addEventListener("click", function () { sync.toggle(); });
    c.seek.addEventListener("input", function () { sync.seek(Number(c.seek.value)); });
    c.speed.addEventListener("change", function () { sync.setRate(Number(c.speed.value)); });
    c.loop.addEventListener("change", function () { sync.setLoop(c.loop.checked); });
    c.overlay.addEventListener("change", function () { sync.setOverlay(c.overlay.checked); });
  }

  var HUD_FIELDS = ["episode", "step", "reward", "return", "action"];
  function drawHud(item, frame) {
    if (item.hud.hidden) return;
    if (item.lastFrame === frame && item.hud.firstChild) return;
    item.lastFrame = frame;
    var track = item.v.track, parts = [["frame", frame]];
    if (track && track.frames) {
      var i = Math.min(frame, track.frames - 1);
      HUD_FIELDS.forEach(function (key) {
        if (track[key] && known(track[key][i])) parts.push([key, track[key][i]]);
      });
      Object.keys(track.info || {}).forEach(function (key) {
        if (known(track.info[key][i])) parts.push([key, track.info[key][i]]);
      });
    }
    item.hud.innerHTML = parts.map(function (p) {
      var value = Array.isArray(p[1]) ? "[" + p[1].map(fmt).join(", ") + "]" : fmt(p[1]);
      return esc(p[0]) + ' <b data-field="' + esc(p[0]) + '">' + esc(value) + "</b>";
    }).join("  ");
  }

  function makePlayer(v, stage, onFail) {
    var video = el("video", { playsinline: "", preload: "auto", "data-file": v.file });
    video.muted = true;
    if (v.width && v.width < 320) video.classList.add("small");
    var hud = el("div", { "class": "hud", "aria-live": "off" });
    var fail = function () { if (onFail) onFail(v); };
    if (v.mime && video.canPlayType(v.mime) === "") fail();
    video.addEventListener("error", fail);
    video.src = v.href;
    stage.append(video, hud);
    return { video: video, v: v, hud: hud };
  }

  // -- the viewer ------------------------------------------------------------------------------
  var viewer = $("viewer"), compareBox = $("compare");
  var current = null, viewerSync = null, compareSync = null, autoplayNext = false;

  function showFallback(v) {
    var note = $("viewer-fallback");
    note.hidden = false;
    note.innerHTML = "This browser cannot play this " + esc(v.codec || "") + ' video. <a href="' + esc(v.href) + '" download>Download it</a> to watch it in a player.';
  }
  function openViewer(name, autoplay) {
    var v = byName.get(name);
    if (!v) return;
    closeCompare();
    closeViewer();
    current = v;
    var stage = $("viewer-stage");
    stage.innerHTML = "";
    $("viewer-fallback").hidden = true;
    $("viewer-title").textContent = v.file;
    $("viewer-swatch").style.background = runColor(v.run);
    $("viewer-swatch").title = "run " + v.run;
    $("viewer-file").setAttribute("href", v.href);
    $("viewer-pick").checked = picked.indexOf(v.file) !== -1;
    $("viewer-pick").disabled = !playable(v);
    var controls = $("viewer-controls");
    controls.innerHTML = "";
    if (v.problem) {
      stage.appendChild(el("p", { "class": "fallback" }, "cannot be decoded: " + v.problem));
    } else if (v.gif) {
      stage.appendChild(el("img", { src: v.href, alt: v.file }));
      controls.appendChild(el("span", { "class": "time" }, "A GIF plays as an image: no speed, loop or frame controls."));
    } else {
      var item = makePlayer(v, stage, showFallback);
      viewerSync = new Sync([item], { box: controls });
      viewerSync.onFrame = moveHead;
      if (autoplay) viewerSync.play();
    }
    drawCurve(v);
    drawMeta(v);
    var others = pairs.filter(function (list) { return list.indexOf(v) !== -1; });
    var seedBox = $("viewer-seed");
    seedBox.hidden = others.length === 0;
    seedBox.innerHTML = others.length ? "Same seed in other runs: " + others.map(function (list) {
      return '<a href="#' + esc(compareHash([v].concat(list.filter(function (o) { return o !== v; })))) + '">compare with ' +
        esc(list.filter(function (o) { return o !== v; }).map(describe).join(", ")) + "</a>";
    }).join("; ") : "";
    viewer.hidden = false;
    document.body.style.overflow = "hidden";
  }
  function closeViewer() {
    if (viewerSync) viewerSync.close();
    viewerSync = null;
    current = null;
    $("viewer-stage").innerHTML = "";
    viewer.hidden = true;
    document.body.style.overflow = "";
  }
  function drawMeta(v) {
    var entries = [
      ["run", v.run], ["worker", v.worker], ["checkpoint", v.checkpoint], ["episode", v.episode],
      ["training step", v.step], ["return", v["return"]], ["length", v.steps], ["frames", v.frames],
      ["duration", known(v.duration) ? v.duration.toFixed(2) + " s" : null], ["fps", v.fps],
      ["codec", known(v.codec) ? v.codec + " " + v.width + "\u00d7" + v.height : null], ["env", v.env],
      ["env index", v.env_index], ["seed", v.seed], ["kind", v.kind],
      ["flags", (v.badges || []).join(", ")]
    ];
    $("viewer-meta").innerHTML = entries.filter(function (e) { return known(e[1]); }).map(function (e) {
      var swatch = e[0] === "run" ? '<i class="swatch" style="background:' + runColor(v.run) + '"></i>' : "";
      return "<div><dt>" + esc(e[0]) + "</dt><dd>" + swatch + esc(fmt(e[1])) + "</dd></div>";
    }).join("");
  }
  function drawCurve(v) {
    var box = $("viewer-track"), svg = $("curve"), track = v.track;
    box.hidden = !track || !track.frames;
    if (box.hidden) { svg.innerHTML = ""; return; }
    var n = track.frames, W = 960, H = 130;
    var ret = polyline(track["return"], n, W, H, "return"), rew = polyline(track.reward, n, W, H, "reward");
    svg.innerHTML = rew.svg + ret.svg + '<line class="playhead" id="playhead" x1="0" x2="0" y1="0" y2="' + H + '" data-frame="0"/>';
    $("curve-return").textContent = ret.lo === null ? "" : fmt(ret.lo) + " to " + fmt(ret.hi);
    $("curve-reward").textContent = rew.lo === null ? "" : fmt(rew.lo) + " to " + fmt(rew.hi);
  }
  function moveHead(frame) {
    var head = $("playhead");
    if (!head || !current || !current.track) return;
    var n = current.track.frames, i = Math.min(frame, n - 1);
    var x = (n > 1 ? i / (n - 1) * 960 : 0).toFixed(2);
    if (head.dataset.frame === String(i) && head.getAttribute("x1") === x) return;
    head.setAttribute("x1", x); head.setAttribute("x2", x);
    head.dataset.frame = String(i);
  }
  $("curve").addEventListener("click", function (event) {
    if (!viewerSync || !current || !current.track) return;
    var box = this.getBoundingClientRect();
    var n = current.track.frames;
    var frame = Math.round((event.clientX - box.left) / box.width * (n - 1));
    viewerSync.pause();
    viewerSync.seek((Math.max(0, Math.min(n - 1, frame)) + 0.5) / fpsOf(current));
  });
  function neighbour(by) {
    if (!current) return;
    var list = visible.length ? visible : videos;
    var at = list.indexOf(current);
    var next = list[(at + by + list.length) % list.length];
    if (next) go("v=" + encodeURIComponent(next.file));
  }
  $("viewer-prev").addEventListener("click", function () { neighbour(-1); });
  $("viewer-next").addEventListener("click", function () { neighbour(1); });
  $("viewer-pick").addEventListener("change", function () { if (current) setPicked(current.file, this.checked); });

  // -- compare ---------------------------------------------------------------------------------
  var picked = [];
  function setPicked(name, on) {
    var note = $("tray-note");
    note.textContent = "";
    var at = picked.indexOf(name);
    if (on && at === -1) {
      if (picked.length >= 4) {
        note.textContent = "Compare holds at most 4 videos: unpick one first.";
        on = false;
      } else {
        picked.push(name);
      }
    } else if (!on && at !== -1) {
      picked.splice(at, 1);
    }
    document.querySelectorAll("input.pick").forEach(function (box) {
      box.checked = picked.indexOf(box.dataset.file) !== -1;
    });
    if (current) $("viewer-pick").checked = picked.indexOf(current.file) !== -1;
    cards.forEach(function (card) { card.classList.toggle("picked", picked.indexOf(card.dataset.file) !== -1); });
    rows.forEach(function (row) { row.classList.toggle("picked", picked.indexOf(row.dataset.file) !== -1); });
    var list = $("tray-list");
    list.textContent = "";
    picked.forEach(function (file) {
      var chip = el("button", { type: "button", "class": "chip", title: "Unpick " + file }, file + " \u00d7");
      chip.addEventListener("click", function () { setPicked(file, false); });
      list.appendChild(chip);
    });
    $("tray").hidden = picked.length === 0 && !note.textContent;
    $("compare-open").disabled = picked.length < 2;
    $("compare-open").textContent = "Compare " + picked.length + " video" + (picked.length === 1 ? "" : "s");
  }
  document.querySelectorAll("input.pick").forEach(function (box) {
    box.addEventListener("change", function () { setPicked(box.dataset.file, box.checked); });
  });
  $("compare-clear").addEventListener("click", function () { picked.slice().forEach(function (f) { setPicked(f, false); }); });
  $("compare-open").addEventListener("click", openPicked);
  function openPicked() {
    if (picked.length >= 2) go(compareHash(picked.map(function (f) { return byName.get(f); })));
  }
  function openCompare(names) {
    var list = names.map(function (n) { return byName.get(n); }).filter(function (v) { return v && playable(v); }).slice(0, 4);
    if (list.length < 2) return;
    closeViewer();
    closeCompare();
    var gridBox = $("compare-grid");
    gridBox.innerHTML = "";
    gridBox.style.gridTemplateColumns = "repeat(" + (list.length === 4 ? 2 : list.length) + ", minmax(0, 1fr))";
    var items = list.map(function (v) {
      var figure = el("figure", { "data-file": v.file, "data-run": v.run || "", style: "--run: " + runColor(v.run) });
      var caption = el("figcaption");
      caption.innerHTML = '<i class="swatch"></i><b>' + esc(v.run || v.file) + "</b> \u00b7 " + esc(facts(v)) + '<span class="detail">' + esc(v.file) + "</span>";
      var stage = el("div", { "class": "stage" });
      figure.append(caption, stage);
      gridBox.appendChild(figure);
      return makePlayer(v, stage, function () {
        caption.appendChild(el("span", { "class": "fallback" }, " (this browser cannot play it)"));
      });
    });
    $("compare-title").textContent = "Compare " + list.length + " videos";
    compareSync = new Sync(items, { box: $("compare-controls") });
    compareBox.hidden = false;
    document.body.style.overflow = "hidden";
  }
  function closeCompare() {
    if (compareSync) compareSync.close();
    compareSync = null;
    $("compare-grid").innerHTML = "";
    compareBox.hidden = true;
    if (viewer.hidden) document.body.style.overflow = "";
  }

  // -- links inside the page: #v=<file> opens the player, #compare=<a>,<b> the compare view ---
  function go(hash) {
    if (location.hash === "#" + hash) route(); else location.hash = hash;
  }
  function openFromList(name) { autoplayNext = true; go("v=" + encodeURIComponent(name)); }
  function route() {
    var hash = location.hash.slice(1), autoplay = autoplayNext;
    autoplayNext = false;
    try {
      if (hash.indexOf("v=") === 0) { openViewer(decodeURIComponent(hash.slice(2)), autoplay); return; }
      if (hash.indexOf("compare=") === 0) {
        openCompare(hash.slice(8).split(",").map(decodeURIComponent));
        return;
      }
    } catch (error) {
      if (!(error instanceof URIError)) throw error;
    }
    closeViewer();
    closeCompare();
  }
  function closeAll() {
    closeViewer();
    closeCompare();
    if (location.hash && location.hash !== "#") location.hash = "";
  }
  window.addEventListener("hashchange", route);
  document.querySelectorAll(".overlay .close").forEach(function (button) { button.addEventListener("click", closeAll); });
  [viewer, compareBox].forEach(function (box) {
    box.addEventListener("click", function (event) { if (event.target === box) closeAll(); });
  });

  // -- keys ------------------------------------------------------------------------------------
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target, key = event.key;
    var typing = target.matches && target.matches("input[type=search], input[type=text], textarea, select");
    if (typing && key !== "Escape") return;
    if (typing && key === "Escape" && target === filter) { filter.blur(); return; }
    var sync = compareSync || viewerSync;
    var open = !viewer.hidden || !compareBox.hidden;
    var handled = true;
    if (key === "Escape" && open) closeAll();
    else if (key === "?") { var help = $("help"); help.open = !help.open; if (help.open) showControls(true); if (help.open && !open) help.scrollIntoView({ block: "nearest" }); }
    else if (sync && (key === " " || key === "k")) sync.toggle();
    else if (sync && key === ",") sync.step(-1);
    else if (sync && key === ".") sync.step(1);
    else if (sync && key === "ArrowLeft" && target.type !== "range") sync.seek(sync.time() - 1);
    else if (sync && key === "ArrowRight" && target.type !== "range") sync.seek(sync.time() + 1);
    else if (sync && key === "Home") sync.seek(0);
    else if (sync && key === "End") sync.step(1e9);
    else if (sync && key === "[") sync.faster(-1);
    else if (sync && key === "]") sync.faster(1);
    else if (sync && key === "l") sync.setLoop(!sync.loop);
    else if (sync && key === "o") sync.setOverlay(!sync.overlay);
    else if (!viewer.hidden && key === "n") neighbour(1);
    else if (!viewer.hidden && key === "p") neighbour(-1);
    else if (!viewer.hidden && key === "s" && current && playable(current)) setPicked(current.file, picked.indexOf(current.file) === -1);
    else if (!open && key === "/") { showControls(true); filter.focus(); }
    else if (!open && key === "v") setView(grid.hidden ? "grid" : "table");
    else if (key === "c" && compareBox.hidden) openPicked();
    else handled = false;
    if (handled) event.preventDefault();
  });

  // -- narrow screens: the videos first, the controls folded behind one button ----------------
  var controls = $("controls"), toggle = $("controls-toggle");
  function showControls(open) {
    controls.classList.toggle("open", open);
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  }
  function toggleLabel() {
    var filtered = filter.value.trim() !== "";
    toggle.textContent = filtered ? "Filters · " + visible.length + " of " + videos.length : "Filters";
  }
  toggle.addEventListener("click", function () { showControls(!controls.classList.contains("open")); });

  buildFacets();
  drawPlot();
  applyFilter();  // as built: by file name (sorting 1,000 nodes again would only cost time)
  route();
  window.rlvideoGallery = {
    videos: videos, parseQuery: queryOf, visible: function () { return visible.map(function (v) { return v.file; }); },
    viewer: function () { return viewerSync; }, compare: function () { return compareSync; }
  };
  if (window.performance && performance.mark) performance.mark("rlvideo-gallery-ready");
})();
