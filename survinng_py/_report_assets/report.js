/* survinng_py report viewer: plain JavaScript drawing SVG, no libraries, no requests.
   The data block holds the results (see survinng_py/html_report.py); every number shown
   carries its exact value in data-value (the shortest decimal that reads back to the
   stored float32 or float64). */
(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
    "#e377c2", "#17becf", "#bcbd22", "#393b79"];
  const TOP = 10; // features drawn one by one; the rest as one bar
  const MAX_ROWS = 40; // heatmap rows
  const VIEWS = [];
  let setTime = () => {}; // set once the page is built

  // -- numbers ------------------------------------------------------------------------
  function unpack(p) {
    if (!p) return null;
    const bin = atob(p.b64);
    const bytes = new Uint8Array(bin.length);
    for (let k = 0; k < bin.length; k++) bytes[k] = bin.charCodeAt(k);
    const view = new DataView(bytes.buffer);
    const f4 = p.dtype === "f4";
    const size = f4 ? 4 : 8;
    const data = new Float64Array(bytes.length / size);
    for (let k = 0; k < data.length; k++) {
      data[k] = f4 ? view.getFloat32(k * size, true) : view.getFloat64(k * size, true);
    }
    const strides = [];
    let stride = 1;
    for (let k = p.shape.length - 1; k >= 0; k--) { strides[k] = stride; stride *= p.shape[k]; }
    return { data, shape: p.shape, strides, f4 };
  }
  function at(a, ...index) {
    let offset = 0;
    for (let k = 0; k < index.length; k++) offset += index[k] * a.strides[k];
    return a.data[offset];
  }
  // the shortest decimal that reads back to v (as float32 when f4)
  function exact(v, f4) {
    if (!f4 || !isFinite(v)) return String(v);
    for (let p = 1; p <= 9; p++) {
      const s = v.toPrecision(p);
      if (Math.fround(parseFloat(s)) === v) return String(parseFloat(s));
    }
    return String(v);
  }
  function fmt(v) {
    if (v === 0 || !isFinite(v)) return String(v);
    const a = Math.abs(v);
    if (a >= 1e-4 && a < 1e5) return String(parseFloat(v.toPrecision(4)));
    return v.toExponential(3);
  }

  // -- elements -----------------------------------------------------------------------
  function el(tag, attrs, parent, text) {
    const node = document.createElement(tag);
    for (const k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }
  function sv(tag, attrs, parent, text) {
    const node = document.createElementNS(SVG, tag);
    for (const k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }
  // a number: readable text, exact value in data-value
  function num(tag, key, v, f4, parent) {
    return el(tag, { "data-key": key, "data-value": exact(v, f4), title: exact(v, f4) }, parent, fmt(v));
  }
  function readout(parent, rows) {
    const dl = el("dl", { class: "readout" }, parent);
    for (const [label, key, v, f4] of rows) {
      el("dt", {}, dl, label);
      num("dd", key, v, f4, dl);
    }
    return dl;
  }
  function legend(parent, items) {
    const box = el("div", { class: "legend" }, parent);
    for (const [name, color] of items) el("span", { style: "--c:" + color }, box, name);
  }
  const tooltip = el("div", { class: "tooltip" }, document.body);
  function showTip(event, lines) {
    tooltip.textContent = "";
    for (const line of lines) el("div", {}, tooltip, line);
    tooltip.style.display = "block";
    tooltip.style.left = event.clientX + 14 + "px";
    tooltip.style.top = event.clientY + 10 + "px";
  }
  function hideTip() { tooltip.style.display = "none"; }

  // -- charts -------------------------------------------------------------------------
  function scale(d0, d1, r0, r1) {
    const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
    const f = (v) => r0 + (v - d0) * k;
    f.domain = [d0, d1];
    f.invert = (p) => (k === 0 ? d0 : d0 + (p - r0) / k);
    return f;
  }
  function ticks(a, b, n) {
    if (!(b > a)) return [a];
    const raw = (b - a) / n;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const err = raw / mag;
    const step = mag * (err < 1.5 ? 1 : err < 3 ? 2 : err < 7 ? 5 : 10);
    const out = [];
    // multiples of step (k * step, not a running sum: 0 stays exactly 0)
    for (let k = Math.ceil(a / step); k * step <= b + step * 1e-9; k++) out.push(+(k * step).toPrecision(12));
    return out;
  }
  function extent(values, pad) {
    let lo = Infinity, hi = -Infinity;
    for (const v of values) if (isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    if (!isFinite(lo)) return [0, 1];
    if (lo === hi) { lo -= 0.5; hi += 0.5; }
    const p = (hi - lo) * (pad || 0.05);
    return [lo - p, hi + p];
  }
  // an SVG with axes for x (time) and y; returns the scales
  function chart(parent, xDomain, yDomain, opts) {
    const W = 560, H = opts.height || 250, m = { l: 54, r: 12, t: 8, b: 34 };
    const svg = sv("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": opts.label || "" }, parent);
    const x = scale(xDomain[0], xDomain[1], m.l, W - m.r);
    const y = scale(yDomain[0], yDomain[1], H - m.b, m.t);
    const axis = sv("g", { class: "axis" }, svg);
    sv("line", { x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b }, axis);
    sv("line", { x1: m.l, x2: m.l, y1: m.t, y2: H - m.b }, axis);
    for (const v of ticks(xDomain[0], xDomain[1], 6)) {
      sv("line", { x1: x(v), x2: x(v), y1: H - m.b, y2: H - m.b + 4 }, axis);
      sv("text", { x: x(v), y: H - m.b + 15, "text-anchor": "middle" }, axis, fmt(v));
    }
    for (const v of ticks(yDomain[0], yDomain[1], 5)) {
      sv("line", { x1: m.l - 4, x2: m.l, y1: y(v), y2: y(v) }, axis);
      sv("text", { x: m.l - 6, y: y(v) + 4, "text-anchor": "end" }, axis, fmt(v));
    }
    if (yDomain[0] < 0 && yDomain[1] > 0) {
      sv("line", { x1: m.l, x2: W - m.r, y1: y(0), y2: y(0), stroke: "#ccc" }, axis);
    }
    sv("text", { x: (m.l + W - m.r) / 2, y: H - 4, "text-anchor": "middle" }, axis, opts.xlabel || "time");
    sv("text", { x: 12, y: (m.t + H - m.b) / 2, transform: `rotate(-90 12 ${(m.t + H - m.b) / 2})`, "text-anchor": "middle" }, axis, opts.ylabel || "");
    return { svg, x, y, W, H, m };
  }
  function line(c, xs, ys, attrs) {
    let d = "";
    for (let k = 0; k < xs.length; k++) d += (k ? "L" : "M") + c.x(xs[k]).toFixed(2) + "," + c.y(ys[k]).toFixed(2);
    return sv("path", Object.assign({ d, fill: "none", "stroke-width": 1.6 }, attrs), c.svg);
  }
  function marker(c, t) {
    return sv("line", { class: "marker", x1: c.x(t), x2: c.x(t), y1: c.m.t, y2: c.H - c.m.b }, c.svg);
  }
  // hovering shows lines(k) for the nearest time k; a click moves the time slider there
  function hover(c, times, lines) {
    const zone = sv("rect", { x: c.m.l, y: c.m.t, width: c.W - c.m.l - c.m.r, height: c.H - c.m.t - c.m.b, fill: "transparent" }, c.svg);
    const nearest = (event) => {
      const box = c.svg.getBoundingClientRect();
      const px = ((event.clientX - box.left) / box.width) * c.W;
      const t = c.x.invert(px);
      let best = 0;
      for (let k = 1; k < times.length; k++) if (Math.abs(times[k] - t) < Math.abs(times[best] - t)) best = k;
      return best;
    };
    zone.addEventListener("mousemove", (e) => showTip(e, lines(nearest(e))));
    zone.addEventListener("mouseleave", hideTip);
    zone.addEventListener("click", (e) => setTime(nearest(e)));
  }

  // -- data of the selection ------------------------------------------------------------
  function series(a, i, e) {
    const out = new Array(a.shape[a.shape.length - 1]);
    for (let t = 0; t < out.length; t++) out[t] = i === null ? at(a, e, t) : at(a, i, e, t);
    return out;
  }
  function playerSeries(r, i, e, p) {
    const out = new Array(r.times.length);
    for (let t = 0; t < out.length; t++) out[t] = at(r.values, i, p, e, t);
    return out;
  }
  // players ordered by mean |attribution| over time of patient i
  function ranked(r, i, e) {
    const score = r.players.map((_, p) => {
      let s = 0;
      for (let t = 0; t < r.times.length; t++) s += Math.abs(at(r.values, i, p, e, t));
      return s;
    });
    return r.players.map((_, p) => p).sort((a, b) => score[b] - score[a]);
  }
  function colors(r, order) {
    const out = {};
    order.slice(0, TOP).forEach((p, k) => { out[p] = PALETTE[k % PALETTE.length]; });
    return out;
  }

  // -- views ----------------------------------------------------------------------------
  function addView(view) { VIEWS.push(view); }

  addView({
    id: "curve",
    title: (r, s) => "Prediction: " + r.target + (r.events.length > 1 ? ", " + r.events[s.e] : ""),
    applies: () => true,
    render(body, r, s) {
      const xs = r.times;
      const lines = [["patient " + r.instances[s.i], "pred", series(r.pred, s.i, s.e), "#1f77b4", ""],
        ["cohort mean", "cohort", series(r.cohortCurve, null, s.e), "#777", "5 4"]];
      if (r.pred_ref) lines.push(["reference", "pred_ref", series(r.pred_ref, s.i, s.e), "#ff7f0e", "2 3"]);
      const c = chart(body, [xs[0], xs[xs.length - 1]], extent(lines.flatMap((l) => l[2])), { ylabel: r.target, label: "predicted curves" });
      for (const [, key, ys, color, dash] of lines) line(c, xs, ys, { stroke: color, "stroke-dasharray": dash, "data-series": key });
      marker(c, xs[s.t]);
      for (const [, , ys, color] of lines) sv("circle", { cx: c.x(xs[s.t]), cy: c.y(ys[s.t]), r: 3.5, fill: color }, c.svg);
      hover(c, xs, (k) => ["t = " + fmt(xs[k])].concat(lines.map((l) => l[0] + ": " + fmt(l[2][k]))));
      legend(body, lines.map((l) => [l[0], l[3]]));
      el("p", { class: "note" }, body, "Cohort mean: " + r.cohort.source + ".");
      readout(body, lines.map((l) => [l[0] + " at t", l[1], l[2][s.t], l[1] !== "cohort" && r.f4]));
    },
  });

  addView({
    id: "attribution",
    title: () => "Attribution of every feature over time",
    applies: () => true,
    render(body, r, s) {
      const xs = r.times;
      const order = ranked(r, s.i, s.e);
      const color = colors(r, order);
      const all = r.players.map((_, p) => playerSeries(r, s.i, s.e, p));
      const c = chart(body, [xs[0], xs[xs.length - 1]], extent(all.flat()), { ylabel: "attribution", label: "attributions over time" });
      for (const p of order.slice().reverse()) {
        line(c, xs, all[p], { stroke: color[p] || "#ccc", "stroke-width": color[p] ? 1.8 : 1, "data-name": r.players[p] });
      }
      marker(c, xs[s.t]);
      hover(c, xs, (k) => ["t = " + fmt(xs[k])].concat(order.slice(0, TOP).map((p) => r.players[p] + ": " + fmt(all[p][k]))));
      legend(body, order.slice(0, TOP).map((p) => [r.players[p], color[p]]));
      if (order.length > TOP) el("p", { class: "note" }, body, `${order.length - TOP} more feature(s) in grey.`);
    },
  });

  addView({
    id: "force",
    title: (r, s) => "At t = " + fmt(r.times[s.t]) + ": from the reference to the prediction",
    applies: () => true,
    render(body, r, s) {
      const t = s.t;
      const decomposes = !!(r.pred_diff && r.pred_ref);
      const values = r.players.map((_, p) => at(r.values, s.i, p, s.e, t));
      const order = values.map((_, p) => p).sort((a, b) => Math.abs(values[b]) - Math.abs(values[a]));
      const bars = order.slice(0, TOP).map((p) => [r.players[p], values[p], r.f4]);
      if (order.length > TOP) {
        const rest = order.slice(TOP).reduce((acc, p) => acc + values[p], 0);
        bars.push([`${order.length - TOP} other feature(s)`, rest, false]);
      }
      const total = values.reduce((a, b) => a + b, 0);
      const base = decomposes ? at(r.pred_ref, s.i, s.e, t) : 0;
      const diff = decomposes ? at(r.pred_diff, s.i, s.e, t) : null;
      const gap = decomposes ? diff - total : null;
      const rows = bars.map((b) => ({ name: b[0], v: b[1], f4: b[2], cls: "force-bar" }));
      if (decomposes) rows.push({ name: "completeness gap", v: gap, f4: false, cls: "force-gap" });
      let cum = base;
      const ends = [base];
      for (const row of rows) { row.start = cum; cum += row.v; ends.push(cum); }
      const H = 26 + 22 * (rows.length + 2), W = 560, left = 190, right = 70;
      const svg = sv("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "waterfall" }, body);
      const [lo, hi] = extent(ends, 0.08);
      const x = scale(lo, hi, left, W - right);
      const label = (k, text) => sv("text", { x: left - 6, y: 20 + 22 * k + 14, "text-anchor": "end" }, svg, text);
      label(0, decomposes ? "reference " + fmt(base) : "zero");
      rows.forEach((row, k) => {
        const y = 20 + 22 * (k + 1);
        const a = x(row.start), b = x(row.start + row.v);
        const fill = row.cls === "force-gap" ? "#bbb" : row.v >= 0 ? "#d62728" : "#1f77b4";
        const rect = sv("rect", { class: row.cls, x: Math.min(a, b), y: y + 3, width: Math.max(Math.abs(b - a), 0.5), height: 16, fill, "data-name": row.name, "data-value": exact(row.v, row.f4) }, svg);
        sv("title", {}, rect, row.name + ": " + exact(row.v, row.f4));
        label(k + 1, row.name);
        sv("text", { x: Math.max(a, b) + 4, y: y + 15 }, svg, (row.v >= 0 ? "+" : "") + fmt(row.v));
      });
      const yEnd = 20 + 22 * (rows.length + 1);
      label(rows.length + 1, (decomposes ? "prediction " : "sum ") + fmt(cum));
      sv("line", { class: "marker", x1: x(base), x2: x(base), y1: 18, y2: yEnd + 20 }, svg);
      sv("line", { x1: x(cum), x2: x(cum), y1: 18, y2: yEnd + 20, stroke: "#000" }, svg);
      const lines = [["t", "time", r.times[t], false]];
      if (decomposes) {
        lines.push(["reference", "pred_ref", base, r.f4], ["prediction", "pred", at(r.pred, s.i, s.e, t), r.f4],
          ["prediction − reference", "pred_diff", diff, r.f4]);
      } else {
        lines.push(["prediction", "pred", at(r.pred, s.i, s.e, t), r.f4]);
      }
      lines.push(["sum of attributions", "sum", total, false]);
      if (decomposes) lines.push(["completeness gap", "gap", gap, false]);
      readout(body, lines);
      if (!decomposes) el("p", { class: "note" }, body, r.label + " has no reference: the bars are the attributions at t, stacked from zero.");
    },
  });

  addView({
    id: "cohort",
    title: () => "Cohort: mean |attribution| per feature and time",
    applies: () => true,
    render(body, r, s) {
      const T = r.times.length;
      const mean = r.players.map((_, p) => series(r.importance, p, s.e).reduce((a, b) => a + b, 0) / T);
      const order = r.players.map((_, p) => p).sort((a, b) => mean[b] - mean[a]);
      const rows = order.slice(0, MAX_ROWS);
      let top = 0;
      for (const p of rows) for (let t = 0; t < T; t++) top = Math.max(top, at(r.importance, p, s.e, t));
      const W = 560, left = 150, cell = 14, H = 30 + cell * rows.length;
      const svg = sv("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "importance heatmap" }, body);
      const x = scale(0, T, left, W - 10);
      rows.forEach((p, k) => {
        sv("text", { x: left - 6, y: 8 + cell * k + 11, "text-anchor": "end" }, svg, r.players[p]);
        for (let t = 0; t < T; t++) {
          const v = at(r.importance, p, s.e, t);
          const shade = top > 0 ? v / top : 0;
          const rect = sv("rect", { x: x(t), y: 8 + cell * k, width: x(t + 1) - x(t) + 0.3, height: cell - 1, fill: `rgba(178,24,43,${shade.toFixed(3)})` }, svg);
          sv("title", {}, rect, `${r.players[p]}, t = ${fmt(r.times[t])}: ${fmt(v)}`);
        }
      });
      sv("rect", { x: x(s.t), y: 6, width: x(s.t + 1) - x(s.t), height: cell * rows.length + 4, fill: "none", stroke: "#000" }, svg);
      sv("text", { x: left, y: H - 6 }, svg, "t = " + fmt(r.times[0]));
      sv("text", { x: W - 10, y: H - 6, "text-anchor": "end" }, svg, "t = " + fmt(r.times[T - 1]));
      if (order.length > MAX_ROWS) el("p", { class: "note" }, body, `Top ${MAX_ROWS} of ${order.length} features shown.`);
      const table = el("table", { class: "ranking" }, body);
      const head = el("tr", {}, el("thead", {}, table));
      for (const h of ["rank", "feature", "mean over time", "at t"]) el("th", {}, head, h);
      const tb = el("tbody", {}, table);
      order.slice(0, MAX_ROWS).forEach((p, k) => {
        const tr = el("tr", {}, tb);
        el("td", {}, tr, String(k + 1));
        el("td", {}, tr, r.players[p]);
        num("td", "mean", mean[p], false, tr).className = "num";
        num("td", "at_t", at(r.importance, p, s.e, s.t), false, tr).className = "num";
      });
    },
  });

  // shares of |contribution| per modality over time: the patient's and the cohort's
  addView({
    id: "modalities",
    title: () => "Modality shares of |attribution| over time",
    applies: (r) => !!r.sections.modalities,
    render(body, r, s) {
      const mod = r.sections.modalities;
      const M = mod.names.length, T = r.times.length, n = r.instances.length;
      const shares = (cohort) => {
        const out = mod.names.map(() => new Array(T).fill(0));
        for (let t = 0; t < T; t++) {
          const abs = mod.names.map((_, m) => {
            if (!cohort) return Math.abs(at(mod.values, s.i, m, s.e, t));
            let sum = 0;
            for (let i = 0; i < n; i++) sum += Math.abs(at(mod.values, i, m, s.e, t));
            return sum / n;
          });
          const total = abs.reduce((a, b) => a + b, 0);
          abs.forEach((v, m) => { out[m][t] = total > 0 ? (100 * v) / total : 0; });
        }
        return out;
      };
      for (const [label, cohort] of [["patient " + r.instances[s.i], false], ["cohort", true]]) {
        el("div", { class: "note" }, body, label);
        const share = shares(cohort);
        const c = chart(body, [r.times[0], r.times[T - 1]], [0, 100], { height: 170, ylabel: "share (%)", label: "modality shares" });
        let lower = new Array(T).fill(0);
        share.forEach((ys, m) => {
          const upper = lower.map((v, t) => v + ys[t]);
          let d = "";
          for (let t = 0; t < T; t++) d += (t ? "L" : "M") + c.x(r.times[t]).toFixed(2) + "," + c.y(upper[t]).toFixed(2);
          for (let t = T - 1; t >= 0; t--) d += "L" + c.x(r.times[t]).toFixed(2) + "," + c.y(lower[t]).toFixed(2);
          sv("path", { d: d + "Z", fill: PALETTE[m % PALETTE.length], "fill-opacity": 0.75, "data-name": mod.names[m] }, c.svg);
          lower = upper;
        });
        marker(c, r.times[s.t]);
        hover(c, r.times, (k) => ["t = " + fmt(r.times[k])].concat(mod.names.map((name, m) => `${name}: ${share[m][k].toFixed(1)} %`)));
        if (!cohort) readout(body, mod.names.map((name, m) => [name + " at t (%)", "share", share[m][s.t], false]));
      }
      legend(body, mod.names.map((name, m) => [name, PALETTE[m % PALETTE.length]]));
    },
  });

  addView({
    id: "images",
    title: (r, s) => "Attribution per pixel at t = " + fmt(r.times[s.t]),
    applies: (r) => !!r.sections.images,
    render(body, r, s) {
      for (const im of r.sections.images.inputs) {
        el("div", { class: "note" }, body, im.input + " (leading dimensions summed; red raises, blue lowers the " + r.target + ")");
        let top = 0;
        const cells = im.rows * im.cols;
        for (let k = 0; k < cells; k++) top = Math.max(top, Math.abs(at(im.values, s.i, k, s.e, s.t)));
        const size = Math.max(4, Math.min(24, Math.floor(320 / Math.max(im.rows, im.cols))));
        const svg = sv("svg", { viewBox: `0 0 ${im.cols * size} ${im.rows * size}`, style: `max-width:${im.cols * size * 1.5}px`, role: "img", "aria-label": im.input }, body);
        for (let k = 0; k < cells; k++) {
          const v = at(im.values, s.i, k, s.e, s.t);
          const a = top > 0 ? Math.abs(v) / top : 0;
          const fill = v >= 0 ? `rgba(214,39,40,${a.toFixed(3)})` : `rgba(31,119,180,${a.toFixed(3)})`;
          const rect = sv("rect", { x: (k % im.cols) * size, y: Math.floor(k / im.cols) * size, width: size, height: size, fill, stroke: "#eee", "stroke-width": 0.3, "data-value": exact(v, im.values.f4) }, svg);
          sv("title", {}, rect, `(${Math.floor(k / im.cols)}, ${k % im.cols}): ${fmt(v)}`);
        }
        readout(body, [["largest |attribution|", "image_max", top, im.values.f4]]);
      }
    },
  });

  addView({
    id: "meta",
    title: () => "Run",
    applies: () => true,
    render(body, r) {
      const table = el("table", { class: "meta" }, body);
      for (const [k, v] of r.meta) {
        const tr = el("tr", {}, table);
        el("th", {}, tr, k);
        el("td", {}, tr, v);
      }
    },
  });

  // -- page: built once every asset has registered its views ----------------------------
  window.SurvReport = { addView, unpack, at, exact, fmt, el, sv, chart, line, marker, hover, readout, legend };
  document.addEventListener("DOMContentLoaded", start);

  function start() {
    const payload = JSON.parse(document.getElementById("survinng-data").textContent);
    const results = payload.results.map((r) => {
      for (const k of ["time", "values", "pred", "pred_ref", "pred_diff", "importance"]) r[k] = unpack(r[k]);
      r.cohortCurve = unpack(r.cohort.curve);
      r.times = Array.from(r.time.data);
      r.f4 = r.values.f4;
      const sec = r.sections;
      if (sec.modalities) sec.modalities.values = unpack(sec.modalities.values);
      if (sec.images) for (const im of sec.images.inputs) im.values = unpack(im.values);
      return r;
    });
    const state = { r: 0, i: 0, e: 0, t: 0 };

    document.title = payload.title;
    const header = el("header", {}, document.body);
    el("h1", {}, header, payload.title);
    const controls = el("div", { class: "controls" }, header);
    function control(label, node) {
      const box = el("label", {}, controls, label + " ");
      box.appendChild(node);
      return box;
    }
    const resultSelect = el("select", { id: "result" });
    results.forEach((r, k) => el("option", { value: k }, resultSelect, r.name));
    const resultBox = control("result", resultSelect);
    if (results.length < 2) resultBox.style.display = "none";
    const patientSelect = el("select", { id: "patient" });
    control("patient", patientSelect);
    const eventSelect = el("select", { id: "event" });
    const eventBox = control("event", eventSelect);
    const slider = el("input", { id: "time", type: "range", min: 0, step: 1, value: 0 });
    const timeBox = control("time", slider);
    const timeValue = el("span", { id: "time-value" }, timeBox);

    const main = el("main", {}, document.body);
    const sections = VIEWS.map((view) => {
      const section = el("section", { id: "view-" + view.id }, main);
      return { view, section, heading: el("h2", {}, section), body: el("div", {}, section) };
    });

    function fillSelectors() {
      const r = results[state.r];
      patientSelect.textContent = "";
      r.instances.forEach((id, k) => el("option", { value: k }, patientSelect, "id " + id));
      eventSelect.textContent = "";
      r.events.forEach((name, k) => el("option", { value: k }, eventSelect, name));
      eventBox.style.display = r.events.length > 1 ? "" : "none";
      slider.max = r.times.length - 1;
    }
    function render() {
      const r = results[state.r];
      patientSelect.value = state.i;
      eventSelect.value = state.e;
      slider.value = state.t;
      timeValue.textContent = "t = " + fmt(r.times[state.t]);
      timeValue.setAttribute("data-value", exact(r.times[state.t], false));
      hideTip();
      for (const { view, section, heading, body } of sections) {
        const shown = view.applies(r);
        section.classList.toggle("hidden", !shown);
        body.textContent = "";
        if (!shown) continue;
        heading.textContent = view.title(r, state);
        view.render(body, r, state);
      }
    }
    setTime = (k) => { state.t = k; render(); };
    resultSelect.addEventListener("change", () => {
      const old = results[state.r];
      const id = old.instances[state.i], t = old.times[state.t], event = old.events[state.e];
      state.r = +resultSelect.value;
      const r = results[state.r];
      state.i = Math.max(0, r.instances.indexOf(id));
      state.e = Math.max(0, r.events.indexOf(event));
      state.t = r.times.reduce((best, v, k) => (Math.abs(v - t) < Math.abs(r.times[best] - t) ? k : best), 0);
      fillSelectors();
      render();
    });
    patientSelect.addEventListener("change", () => { state.i = +patientSelect.value; render(); });
    eventSelect.addEventListener("change", () => { state.e = +eventSelect.value; render(); });
    slider.addEventListener("input", () => setTime(+slider.value));

    Object.assign(window.SurvReport, { results, state, render });
    fillSelectors();
    render();
  }
})();
