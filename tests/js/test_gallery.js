// Unit tests of the gallery page's pure part (src/rlvideo/gallery/static/gallery.js): the query
// language and the plots' scales, under Node with no DOM and no npm package.
// Run: node --test tests/js/   (tests/test_gallery_js.py runs it in pytest)
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");

const gallery = require(path.join(__dirname, "..", "..", "src", "rlvideo", "gallery", "static", "gallery.js"));

const VIDEOS = [
  { i: 0, file: "ppo/rl-video-episode-0.mp4", run: "ppo", env: "CartPole-v1", episode: 0, step: 0,
    "return": 12, seed: 0, steps: 12, terminated: true, badges: ["terminated"], codec: "h264" },
  { i: 1, file: "ppo/rl-video-episode-8.mp4", run: "ppo", env: "CartPole-v1", episode: 8, step: 400,
    "return": 35.5, seed: 1, steps: 36, truncated: true, badges: ["truncated", "track"], track: { frames: 36 },
    codec: "h264" },
  { i: 2, file: "sac/pendulum-env-1-episode-3.webm", run: "sac", env: "Pendulum-v1", env_index: 1,
    episode: 3, "return": -500, seed: 3, cut_short: true, badges: ["cut short"], codec: "vp9",
    checkpoint: "ckpt-200" },
  { i: 3, file: "hand.gif", run: "hand", gif: true, badges: ["no metadata"], checkpoint: 7 }
];

function matching(text) {
  const query = gallery.parseQuery(text);
  assert.deepEqual(query.errors, [], "no errors for " + text);
  return VIDEOS.filter((v) => query.predicates.every((p) => p(v))).map((v) => v.i);
}

function errorsOf(text) {
  return gallery.parseQuery(text).errors;
}

// -- the query language ---------------------------------------------------------------------------
test("terms split on spaces; quotes keep spaces; 'cut short' is one flag", () => {
  assert.deepEqual(gallery.splitTerms('return>30  env="Cart Pole" x'), ["return>30", "env=Cart Pole", "x"]);
  assert.deepEqual(gallery.splitTerms("-cut short terminated"), ["-cut_short", "terminated"]);
  assert.deepEqual(gallery.splitTerms('""'), []);
  assert.deepEqual(gallery.splitTerms("   "), []);
});

test("an empty query keeps every video", () => {
  assert.deepEqual(matching(""), [0, 1, 2, 3]);
});

test("numbers compare with > < >= <= and = (one value, alternatives, ranges)", () => {
  assert.deepEqual(matching("return>30"), [1]);
  assert.deepEqual(matching("return<=12"), [0, 2]);
  assert.deepEqual(matching("ep=8"), [1]);
  assert.deepEqual(matching("seed=0|3"), [0, 2]);
  assert.deepEqual(matching("episode=1..8"), [1, 2]);
  assert.deepEqual(matching("episode=..3"), [0, 2]);
  assert.deepEqual(matching("length>=36"), [1]);  // length reads the steps
});

test("a video without the value never matches a number term, nor its negation's opposite", () => {
  assert.deepEqual(matching("return>-1000"), [0, 1, 2]);
  assert.deepEqual(matching("-return>-1000"), [3]);
});

test("text contains with = or :, equals with ==, and != negates", () => {
  assert.deepEqual(matching("run=pp"), [0, 1]);
  assert.deepEqual(matching("run==pp"), []);
  assert.deepEqual(matching("run==PPO"), [0, 1]);
  assert.deepEqual(matching("codec:vp"), [2]);
  assert.deepEqual(matching("run!=ppo"), [2, 3]);
  assert.deepEqual(matching("run=ppo|hand"), [0, 1, 3]);
});

test("env takes an env id (text) or an env index (numbers)", () => {
  assert.deepEqual(matching("env=cartpole"), [0, 1]);
  assert.deepEqual(matching("env=1"), [2]);
  assert.deepEqual(matching("env_id==Pendulum-v1"), [2]);
});

test("checkpoint matches numbers as numbers and names as text", () => {
  assert.deepEqual(matching("ckpt=7"), [3]);
  assert.deepEqual(matching("checkpoint=ckpt"), [2]);
  assert.deepEqual(matching("checkpoint==ckpt-200"), [2]);
});

test("flags and their negation with - or !", () => {
  assert.deepEqual(matching("terminated"), [0]);
  assert.deepEqual(matching("-cut_short"), [0, 1, 3]);
  assert.deepEqual(matching("!truncated"), [0, 2, 3]);
  assert.deepEqual(matching("track"), [1]);
  assert.deepEqual(matching("gif"), [3]);
});

test("bare words look in the file, run, env, codec, checkpoint, kind and badges", () => {
  assert.deepEqual(matching("cartpole"), [0, 1]);
  assert.deepEqual(matching("episode-8"), [1]);
  assert.deepEqual(matching("metadata"), [3]);
  assert.deepEqual(matching("-ppo"), [2, 3]);
  assert.deepEqual(matching("-5"), []);  // a negative number is a word, not a negation
});

test("terms are and-ed", () => {
  assert.deepEqual(matching("ppo return>20"), [1]);
  assert.deepEqual(matching("env=cartpole -terminated"), [1]);
});

test("a bare word can look in a text the caller gives (the page's precomputed one)", () => {
  const query = gallery.parseQuery("secret", (v) => (v.i === 2 ? "a secret place" : ""));
  assert.deepEqual(VIDEOS.filter((v) => query.predicates[0](v)).map((v) => v.i), [2]);
});

test("wrong terms say what is wrong and are left out; the others still filter", () => {
  const query = gallery.parseQuery("colour=red return>x run>3 episode=a..b ppo");
  assert.equal(query.predicates.length, 1);
  assert.equal(query.errors.length, 4);
  assert.match(query.errors[0], /^unknown field colour in colour=red; fields: file, run, /);
  assert.equal(query.errors[1], "return>x: x is not a number");
  assert.equal(query.errors[2], "run>3: run is text; use = (contains) or == (exactly)");
  assert.equal(query.errors[3], "episode=a..b: a..b is not a range of numbers (a..b)");
  assert.deepEqual(errorsOf("return>"), ["return>:  is not a number"]);
});

// -- formatting ------------------------------------------------------------------------------------
test("numbers show up to 6 significant digits; unknown values a dash", () => {
  assert.equal(gallery.fmt(500), "500");
  assert.equal(gallery.fmt(1 / 3), "0.333333");
  assert.equal(gallery.fmt(null), "\u2014");
  assert.equal(gallery.fmt(""), "\u2014");
  assert.equal(gallery.fmt("x"), "x");
  assert.equal(gallery.esc('<a href="x">\'&'), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;");
});

// -- the plots' scales -----------------------------------------------------------------------------
test("axis ticks are 1, 2 or 5 times a power of ten and cover the values", () => {
  assert.deepEqual(gallery.niceTicks(0, 10, 5), { lo: 0, hi: 10, ticks: [0, 2, 4, 6, 8, 10] });
  assert.deepEqual(gallery.niceTicks(-500, 35.5, 4).ticks, [-500, -400, -300, -200, -100, 0]);
  assert.deepEqual(gallery.niceTicks(0.1, 0.3, 4).ticks, [0.1, 0.15, 0.2, 0.25, 0.3]);
  assert.deepEqual(gallery.niceTicks(3, 3, 4), { lo: 2, hi: 4, ticks: [2, 2.5, 3, 3.5, 4] });
});

test("integer axes (episodes, steps) step by whole numbers", () => {
  assert.deepEqual(gallery.niceTicks(0, 3, 8, true).ticks, [0, 1, 2, 3]);
  assert.deepEqual(gallery.niceTicks(0, 3, 8, false).ticks, [0, 0.5, 1, 1.5, 2, 2.5, 3]);
});

test("the scale maps the axis ends to the plot's edges, y upwards", () => {
  const X = gallery.niceTicks(0, 10, 5), Y = { lo: 0, hi: 1, ticks: [0, 0.5, 1] };
  const box = { W: 500, H: 200, L: 50, R: 10, T: 10, B: 30 };
  const scale = gallery.plotScale(X, Y, box);
  assert.equal(scale.x(0), 50);
  assert.equal(scale.x(10), 490);
  assert.equal(scale.x(5), 270);
  assert.equal(scale.y(0), 170);  // the bottom edge: H - B
  assert.equal(scale.y(1), 10);  // the top edge: T
  assert.equal(scale.y(0.5), 90);
});

test("a tick beyond the values widens the axis to it", () => {
  const X = { lo: 1, hi: 9, ticks: [0, 5, 10] }, Y = { lo: 0, hi: 1, ticks: [0, 1] };
  const scale = gallery.plotScale(X, Y, { W: 110, H: 100, L: 0, R: 10, T: 0, B: 0 });
  assert.equal(scale.x(0), 0);
  assert.equal(scale.x(10), 100);
});

test("each env's returns normalise to 0..1 over their own span", () => {
  const span = gallery.extent([12, 35.5, 20]);
  assert.deepEqual(span, [12, 35.5]);
  assert.equal(gallery.normalise(12, span), 0);
  assert.equal(gallery.normalise(35.5, span), 1);
  assert.equal(gallery.normalise(-500, [-500, -100]), 0);
  assert.equal(gallery.normalise(7, [7, 7]), 0.5);  // one value: the middle
});

test("a track's curve spans the width, skips unknown values and reports its range", () => {
  const curve = gallery.polyline([null, 0, 5, 10], 4, 300, 112, "return");
  assert.equal(curve.lo, 0);
  assert.equal(curve.hi, 10);
  assert.equal(curve.svg, '<polyline class="return" points="100.0,106.0 200.0,56.0 300.0,6.0"/>');
  assert.deepEqual(gallery.polyline([null, null], 2, 300, 112, "reward"), { svg: "", lo: null, hi: null });
  assert.equal(gallery.polyline([4], 1, 300, 112, "return").svg, '<polyline class="return" points="0.0,106.0"/>');
});
