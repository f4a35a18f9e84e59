/*
 * Bulle's loader, served at /widget.js. A site embeds it with one line:
 *
 *   <script src="https://help.example.com/widget.js" data-lang="fr" async></script>
 *
 * It stays tiny: it reads the data-* attributes of its own script tag,
 * draws the launcher button in a shadow root (so the page's styles and the
 * bubble's cannot touch each other), and defines window.Bulle. The panel
 * (panel.js, with its CSS) and the strings of one language are fetched only
 * on the first open, or at once when the visitor left the panel open or a
 * live chat going on the previous page. Options and the JavaScript API are
 * described in docs/widget.md.
 *
 * The server replaces BUILD with the URLs of this build's panel and of each
 * language's strings (content-hashed, cached for good) and the launcher's
 * own few words in every language, and CSS with loader.css, minified
 * (widget/assets.go).
 */
(function () {
  "use strict";

  var BUILD = __BULLE_BUILD__;

  var script = document.currentScript;
  if (!script) {
    var found = document.querySelectorAll('script[src$="widget.js"], script[src*="widget.js?"]');
    script = found[found.length - 1];
  }
  if (!script || !script.src || window.__bulleWidget) return;
  window.__bulleWidget = true; // one bubble per page, even if embedded twice

  var server = new URL(script.src, location.href);
  function data(name) { return (script.getAttribute(name) || "").trim(); }

  // pick is the supported language closest to what was asked ("fr-CA" is
  // "fr"), else English.
  function pick(lang) {
    lang = String(lang || "").slice(0, 2).toLowerCase();
    return BUILD.langs[lang] ? lang : "en";
  }

  // cfg is what the panel needs to know; the panel reads it when it loads.
  var cfg = {
    origin: server.origin,
    ws: (server.protocol === "https:" ? "wss://" : "ws://") + server.host + "/widget/ws",
    key: "bulle:" + server.origin, // one conversation per help center
    lang: pick(data("data-lang") || document.documentElement.lang),
    identity: data("data-identity"), // signed by the site, checked by the server (docs/identity.md)
    greeting: data("data-greeting"),
    nonce: script.nonce || ""
  };

  // ---- colours -------------------------------------------------------------

  // The accent is a #rgb or #rrggbb colour. The text on it is white when
  // that reaches a 4.5:1 contrast (WCAG AA), else near-black, else black,
  // which always does then. Links and borders on white use the accent
  // darkened until it reaches 5.1:1 on white: 4.5:1 still on the tinted
  // backgrounds they sit on too (#eef1fb).
  function rgb(hex) {
    var m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(hex);
    if (!m) return null;
    var h = m[1].length === 3 ? m[1].replace(/./g, "$&$&") : m[1];
    return [0, 2, 4].map(function (i) { return parseInt(h.substr(i, 2), 16); });
  }
  function luminance(c) {
    var l = c.map(function (v) { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2];
  }
  function css(c) { return "rgb(" + c.map(Math.round).join(",") + ")"; }
  var accent = rgb(data("data-accent")) || [52, 81, 178];
  var lum = luminance(accent) + 0.05; // #1f2328's is 0.0164
  var onAccent = 1.05 / lum >= 4.5 ? "#fff" : lum / 0.0664 >= 4.5 ? "#1f2328" : "#000";
  var ink = accent;
  while (1.05 / (luminance(ink) + 0.05) < 5.1) ink = ink.map(function (v) { return v * 0.9; });

  // ---- the launcher ----------------------------------------------------------

  var host = document.createElement("div");
  host.setAttribute("data-bulle", "");
  var root = host.attachShadow({ mode: "open" });
  var wrap = document.createElement("div");
  wrap.className = "root" + (data("data-position") === "left" ? " left" : "");
  wrap.style.setProperty("--a", css(accent));
  wrap.style.setProperty("--on", onAccent);
  wrap.style.setProperty("--ink", css(ink));

  adopt(root, __BULLE_CSS__); // loader.css, minified by the server

  var ns = "http://www.w3.org/2000/svg";
  var svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  var path = document.createElementNS(ns, "path");
  path.setAttribute("d", "M12 3C6.5 3 2 6.8 2 11.5c0 2.4 1.2 4.6 3.1 6.1L4 21.5l4.6-2.3c1.1.3 2.2.5 3.4.5 5.5 0 10-3.8 10-8.5S17.5 3 12 3z");
  svg.appendChild(path);
  var badge = document.createElement("span");
  badge.className = "badge";
  badge.setAttribute("aria-hidden", "true");
  var launcher = document.createElement("button");
  launcher.type = "button";
  launcher.className = "bubble";
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "bulle-panel");
  launcher.appendChild(svg);
  launcher.appendChild(badge);
  wrap.appendChild(launcher);
  root.appendChild(wrap);

  var isOpen = false, unread = 0;

  // The site's own words (Bulle.setStrings, data-strings), over the
  // strings files: by language, and "*" for every language.
  var own = {};

  // words lays the site's words for lang over base.
  function words(lang, base) {
    return Object.assign({}, base, own["*"], own[lang]);
  }

  // keep adds the site's words o: {key: text} for lang ("*": every
  // language), or {fr: {key: text}, ...} for each language.
  function keep(o, lang) {
    Object.keys(o || {}).forEach(function (k) {
      var v = o[k];
      if (typeof v === "string") (own[lang] = own[lang] || {})[k] = v;
      else if (v && typeof v === "object" && lang === "*") keep(v, k.slice(0, 2).toLowerCase());
    });
  }

  // label says what the launcher does, in the current language.
  function label() {
    var w = words(cfg.lang, BUILD.langs[cfg.lang]);
    launcher.setAttribute("aria-label", isOpen ? w.close : unread ? w.unread : w.open);
    badge.textContent = unread && !isOpen ? String(Math.min(unread, 99)) : "";
  }
  label();

  // adopt adds a style sheet to the shadow root. A constructed sheet is not
  // an inline <style>, so a strict Content-Security-Policy on the page does
  // not block it; browsers without them get a <style>.
  function adopt(r, text) {
    if (r.adoptedStyleSheets !== undefined && window.CSSStyleSheet) {
      try {
        var sheet = new CSSStyleSheet();
        sheet.replaceSync(text);
        r.adoptedStyleSheets = r.adoptedStyleSheets.concat([sheet]);
        return;
      } catch (e) { /* fall through */ }
    }
    var style = document.createElement("style");
    style.textContent = text;
    r.insertBefore(style, r.firstChild);
  }

  // ---- loading the panel -----------------------------------------------------

  var strings = {}; // by language, as each strings script registers them
  var panel = null; // the panel's API once it runs
  var factory = null, loading = false, queue = [];
  var waiting = {}; // language -> callbacks for its strings

  // inject adds a script; when it fails (offline), the next click tries
  // again.
  function inject(url, lang) {
    var s = document.createElement("script");
    s.src = new URL(url, cfg.origin).href;
    s.async = false; // run in the order inserted: strings, then the panel
    if (cfg.nonce) s.nonce = cfg.nonce;
    s.onerror = function () {
      loading = false;
      if (lang) delete waiting[lang];
      s.remove();
    };
    (document.head || document.documentElement).appendChild(s);
  }

  // withStrings calls fn once the strings of lang are here.
  function withStrings(lang, fn) {
    if (strings[lang]) return fn();
    (waiting[lang] = waiting[lang] || []).push(fn);
    if (waiting[lang].length === 1) inject(BUILD.langs[lang].url, lang);
  }

  function load() {
    if (panel || loading) return;
    loading = true;
    withStrings(cfg.lang, start);
    if (!factory) inject(BUILD.panel);
  }

  function start() {
    if (panel || !factory || !strings[cfg.lang]) return;
    panel = factory({
      cfg: cfg, root: root, wrap: wrap, launcher: launcher, adopt: adopt,
      strings: function () { return words(cfg.lang, strings[cfg.lang]); },
      opened: function (o) { isOpen = o; if (o) unread = 0; launcher.setAttribute("aria-expanded", String(o)); label(); },
      unread: function () { if (!isOpen) { unread++; label(); } }
    });
    // What the page said before (identify, prefill…) comes before opening,
    // so the first hello already carries it.
    var q = queue.filter(function (c) { return c[0] !== "open"; }).concat(queue.filter(function (c) { return c[0] === "open"; }));
    queue = [];
    q.forEach(function (c) { panel[c[0]].apply(null, c[1]); });
  }

  function call(name, args) {
    if (panel) panel[name].apply(null, args);
    else queue.push([name, args]);
  }

  launcher.addEventListener("click", function () {
    if (panel) panel.toggle();
    else { call("open", [true]); load(); }
  });

  // The public API: every call waits for the panel, and only open() loads it.
  var api = window.Bulle = {
    open: function () { call("open", [true]); load(); },
    close: function () {
      if (panel) panel.close();
      else queue = queue.filter(function (c) { return c[0] !== "open"; });
    },
    setLanguage: function (lang) {
      var l = pick(lang);
      if (l === cfg.lang) return;
      cfg.lang = l;
      label();
      // Loaded, or on its way: fetch the strings of the new language.
      if (panel || loading) {
        withStrings(l, function () {
          if (cfg.lang !== l) return;
          if (panel) panel.setLanguage();
          else start();
        });
      }
    },
    // setStrings({key: text}) says any of the bubble's strings in the
    // site's own words, in every language; setStrings({key: text}, "fr")
    // in one; setStrings({fr: {...}, en: {...}}) in each of them.
    setStrings: function (o, lang) {
      keep(o, lang ? String(lang).slice(0, 2).toLowerCase() : "*");
      label();
      if (panel) panel.setStrings();
    },
    identify: function (who) { call("identify", [who || {}]); },
    prefill: function (what) { call("prefill", [what || {}]); },
    // For the panel and strings scripts only.
    _s: function (lang, words) {
      strings[lang] = words;
      var fns = waiting[lang] || [];
      delete waiting[lang];
      fns.forEach(function (fn) { fn(); });
    },
    _p: function (f) { factory = f; start(); }
  };

  // data-strings: the same as Bulle.setStrings, in JSON.
  try { api.setStrings(JSON.parse(data("data-strings") || "{}")); } catch (e) {
    if (window.console) console.warn("Bulle: data-strings is not JSON: " + e.message);
  }

  function boot() {
    document.body.appendChild(host);
    // A panel left open, a message not yet sent or a live chat going on,
    // on the previous page: load the panel at once to carry on.
    var kept = null;
    try { kept = JSON.parse(localStorage.getItem(cfg.key) || "null"); } catch (e) { /* private mode */ }
    if (kept && (kept.open || kept.live || (kept.pending && kept.pending.length))) load();
    try { window.dispatchEvent(new CustomEvent("bulle:ready", { detail: api })); } catch (e) { /* old browser */ }
  }

  if (document.body) boot();
  else document.addEventListener("DOMContentLoaded", boot);
})();
