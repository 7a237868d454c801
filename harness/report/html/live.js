// The live page of harness serve --live: asks for /state.json, which answers as soon as
// something happened after what the page has drawn (or after a second), and draws the
// attempts on a time axis as they happen. Text goes in as text, never as markup.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var W = 940, LEFT = 64, RIGHT = 24, TOP = 14, ROW = 30, BAR = 12;
  var status = document.getElementById("status");
  var figure = document.getElementById("figure");
  var log = document.getElementById("log");
  var verdict = document.getElementById("verdict");
  var logged = 0, polls = 0, seen = -1, done = false;

  function node(name, attributes, text) {
    var element = document.createElementNS(SVG, name);
    Object.keys(attributes).forEach(function (key) {
      element.setAttribute(key, String(attributes[key]));
    });
    if (text !== undefined) { element.textContent = text; }
    return element;
  }

  function niceStep(raw) {
    var exponent = Math.floor(Math.log10(raw));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) {
      if (steps[i] * Math.pow(10, exponent) >= raw) { return steps[i] * Math.pow(10, exponent); }
    }
    return Math.pow(10, exponent + 1);
  }

  function draw(state) {
    var attempts = state.attempts;
    var span = Math.max(state.now_s - state.first_s, 1);
    var step = niceStep(span / 6);
    var end = Math.ceil(span / step) * step;
    var x = function (t) {
      return LEFT + Math.max(0, Math.min(1, (t - state.first_s) / end)) * (W - LEFT - RIGHT);
    };
    var bottom = TOP + attempts.length * ROW;
    var svg = node("svg", {"class": "timeline", viewBox: "0 0 " + W + " " + (bottom + 34),
                           width: W, height: bottom + 34, role: "img"});
    for (var tick = 0; tick <= end + 1e-9; tick += step) {
      svg.appendChild(node("line", {"class": "grid", x1: x(state.first_s + tick), y1: TOP - 4,
                                    x2: x(state.first_s + tick), y2: bottom}));
      svg.appendChild(node("text", {"class": "tick", x: x(state.first_s + tick), y: bottom + 16,
                                    "text-anchor": "middle"}, String(Math.round(tick * 10) / 10)));
    }
    svg.appendChild(node("text", {"class": "axis-label", x: W - RIGHT, y: bottom + 30,
                                  "text-anchor": "end"}, "seconds since the first connection"));
    attempts.forEach(function (attempt, row) {
      var y = TOP + row * ROW + (ROW - BAR) / 2;
      var close = state.closes[attempt.closed_by || ""] || state.closes[""];
      var stop = attempt.end_s === null ? state.now_s : attempt.end_s;
      svg.appendChild(node("text", {"class": "row-label", x: LEFT - 10, y: y + BAR - 2,
                                    "text-anchor": "end"}, "#" + attempt.index));
      var bar = node("rect", {"class": "bar" + (attempt.end_s === null ? " open" : ""),
                              x: x(attempt.start_s), y: y, rx: 3, height: BAR,
                              width: Math.max(x(stop) - x(attempt.start_s), 3), fill: close[0]});
      bar.appendChild(node("title", {}, "attempt #" + attempt.index + ": " + close[1]));
      svg.appendChild(bar);
      attempt.events.forEach(function (event) {
        var at = x(event.t_s);
        if (event.kind === "fault") {
          var mark = node("path", {"class": "m-fault", fill: "#d64545",
                                   d: "M" + (at - 5) + "," + (y - 9) + " L" + (at + 5) + "," +
                                      (y - 9) + " L" + at + "," + (y - 2) + " Z"});
          mark.appendChild(node("title", {}, "fault: " + event.text));
          svg.appendChild(mark);
        } else if (event.kind === "message") {
          svg.appendChild(node("rect", {"class": "m-message", x: at - 4.5, y: y + BAR / 2 - 4.5,
                                        width: 9, height: 9, fill: "#fff", stroke: "#2e9960",
                                        "stroke-width": 2.5}));
        }
      });
    });
    figure.replaceChildren(svg);
  }

  function remember(state) {
    var events = [];
    state.attempts.forEach(function (attempt) {
      attempt.events.forEach(function (event) { events.push([event.t_s, attempt.index, event]); });
      if (attempt.end_s !== null) {
        events.push([attempt.end_s, attempt.index, {kind: "close", text: attempt.closed_by}]);
      }
    });
    events.sort(function (a, b) { return a[0] - b[0]; });
    for (; logged < events.length; logged++) {
      var item = document.createElement("li");
      var event = events[logged][2];
      item.className = "k-" + event.kind;
      item.textContent = "+" + (events[logged][0] - state.first_s).toFixed(3) + " s  #" +
        events[logged][1] +
        " " + event.kind + ": " + event.text;
      log.appendChild(item);
    }
  }

  function judge(record) {
    var head = document.createElement("p");
    head.className = "live-verdict " + record.outcome;
    head.textContent = record.outcome.toUpperCase().replace("-", " ");
    var list = document.createElement("ul");
    record.expectations.forEach(function (result) {
      var item = document.createElement("li");
      item.className = "s-" + result.status;
      item.textContent = result.status + "  " + result.name + ": " + result.detail;
      list.appendChild(item);
    });
    verdict.replaceChildren(head, list);
    document.body.classList.add("decided");
  }

  function update(state) {
    polls += 1;
    if (polls === 1) { status.dataset.firstAttempts = String(state.attempts.length); }
    status.dataset.attempts = String(state.attempts.length);
    status.dataset.polls = String(polls);
    var open = state.attempts.filter(function (a) { return a.end_s === null; }).length;
    status.textContent = state.attempts.length + " attempt(s), " + open + " open, " +
      state.messages.length + " message(s) stored, " + state.now_s.toFixed(1) + " s";
    if (state.attempts.length) { draw(state); }
    remember(state);
    seen = state.events;
    if (state.verdict) { judge(state.verdict); done = true; }
  }

  function ask() {
    fetch("/state.json?seen=" + seen, {cache: "no-store"})
      .then(function (response) { return response.json(); })
      .then(update)
      .catch(function () { status.textContent += " (the harness has stopped)"; done = true; })
      .finally(function () { if (!done) { setTimeout(ask, 50); } });
  }
  ask();
}());
