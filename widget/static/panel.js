/*
 * Bulle's panel: the conversation, loaded by the loader (loader.js, served
 * at /widget.js) on the first open. It registers a factory with the loader,
 * which calls it once the strings of the page's language are here, with
 * the shadow root, the launcher and the options of the script tag.
 *
 * Every piece of text that comes from the server or the visitor is
 * inserted with textContent. The WebSocket protocol is described in
 * docs/protocol.md, the options and the JavaScript API in docs/widget.md.
 * The server puts panel.css, minified, in place of CSS.
 */
(function () {
  "use strict";

  var B = window.Bulle;
  if (!B || !B._p) return;

  B._p(function (ctx) {
    var cfg = ctx.cfg, root = ctx.root, wrap = ctx.wrap, launcher = ctx.launcher;
    var T = ctx.strings(), LANG = cfg.lang;
    var ORIGIN = cfg.origin, KEY = cfg.key;
    var MAX_TEXT = 2000; // the server's limit, in characters
    var KEPT = 200; // messages kept in localStorage to redraw the conversation
    ctx.adopt(root, __BULLE_CSS__);

    // ---- state kept across page loads -----------------------------------

    function fresh() {
      return { token: "", lastSeq: 0, messages: [], votes: {}, pending: [], open: false };
    }

    function load() {
      try {
        var s = JSON.parse(localStorage.getItem(KEY) || "null");
        if (s && typeof s === "object" && Array.isArray(s.messages) && Array.isArray(s.pending)) {
          s.votes = s.votes && typeof s.votes === "object" ? s.votes : {};
          s.lastSeq = typeof s.lastSeq === "number" ? s.lastSeq : 0;
          s.token = typeof s.token === "string" ? s.token : "";
          return s;
        }
      } catch (e) { /* private mode, bad JSON: start afresh */ }
      return fresh();
    }

    function save() {
      if (state.messages.length > KEPT) state.messages = state.messages.slice(-KEPT);
      try { localStorage.setItem(KEY, JSON.stringify(state)); } catch (e) { /* storage full or off */ }
    }

    var state = load();

    // What the site told us (Bulle.identify, Bulle.prefill), for the forms.
    var who = { email: "", name: "" }, wanted = { topic: "", message: "" };

    // ---- DOM helpers -----------------------------------------------------

    function el(tag, attrs, children) {
      var e = document.createElement(tag);
      for (var k in attrs || {}) {
        if (k === "text") e.textContent = attrs[k];
        else if (attrs[k] !== null && attrs[k] !== undefined) e.setAttribute(k, attrs[k]);
      }
      (children || []).forEach(function (c) { if (c) e.appendChild(c); });
      return e;
    }

    function each(parent, sel, fn) { Array.prototype.forEach.call(parent.querySelectorAll(sel), fn); }

    // fill replaces {name} placeholders of a string.
    function fill(s, vars) {
      return s.replace(/\{(\w+)\}/g, function (m, k) { return vars[k] !== undefined ? vars[k] : m; });
    }

    // link resolves a URL the server gave against the server, and keeps it
    // only if it is http(s).
    function link(u) {
      try {
        var x = new URL(u, ORIGIN);
        if (x.protocol === "http:" || x.protocol === "https:") return x.href;
      } catch (e) { /* not a URL */ }
      return null;
    }

    // Icons are SVG paths, not emoji, which some systems lack fonts for.
    var ICONS = {
      list: "M4 5h16v2H4zm0 6h16v2H4zm0 6h10v2H4z",
      star: "M12 2.5l2.9 6.1 6.6.8-4.9 4.6 1.3 6.6L12 17.3l-5.9 3.3 1.3-6.6-4.9-4.6 6.6-.8z",
      x: "M19 6.41 17.59 5 12 10.59 6.41 5 5 6.41 10.59 12 5 17.59 6.41 19 12 13.41 17.59 19 19 17.59 13.41 12z",
      mail: "M20 4H4c-1.1 0-2 .9-2 2v12c0 1.1.9 2 2 2h16c1.1 0 2-.9 2-2V6c0-1.1-.9-2-2-2zm0 4-8 5-8-5V6l8 5 8-5v2z",
      up: "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z",
      down: "M15 3H6c-.83 0-1.54.5-1.84 1.22l-3.02 7.05c-.09.23-.14.47-.14.73v2c0 1.1.9 2 2 2h6.31l-.95 4.57-.03.32c0 .41.17.79.44 1.06L9.83 23l6.59-6.59c.36-.36.58-.86.58-1.41V5c0-1.1-.9-2-2-2zm4 0v12h4V3h-4z"
    };

    function icon(name) {
      var ns = "http://www.w3.org/2000/svg";
      var svg = document.createElementNS(ns, "svg");
      svg.setAttribute("viewBox", "0 0 24 24");
      svg.setAttribute("aria-hidden", "true");
      svg.setAttribute("focusable", "false");
      var p = document.createElementNS(ns, "path");
      p.setAttribute("d", ICONS[name]);
      svg.appendChild(p);
      return svg;
    }

    function newID() {
      if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
      var b = new Uint8Array(16);
      crypto.getRandomValues(b);
      return Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    }

    function cssEscape(s) { return window.CSS && CSS.escape ? CSS.escape(s) : s.replace(/[^A-Za-z0-9_-]/g, ""); }

    // ---- the panel -------------------------------------------------------

    // build draws the panel in the current language; a new language draws
    // it again (the conversation is in state, not in the DOM).
    var panel, log, live, input, status, queueBar, queueText, queueLeave, mine;

    function build() {
      var transcriptBtn = el("button", { class: "tool", type: "button", "aria-label": T.transcript, title: T.transcript }, [icon("mail")]);
      // "My requests" opens the help center's own page in a new tab, where
      // the visitor asks for the sign-in link: that form is same-origin
      // only (docs/widget.md, "My requests").
      mine = el("a", { class: "tool", href: requestsURL(), target: "_blank", rel: "noopener",
        "aria-label": T.requests + " " + T.newTab, title: T.requests }, [icon("list")]);
      mine.hidden = !topics.length;
      var closeBtn = el("button", { class: "close", type: "button", "aria-label": T.close, title: T.close }, [icon("x")]);
      status = el("div", { class: "status", role: "status" });
      queueText = el("span", {});
      queueLeave = el("button", { type: "button", text: T.queueLeave });
      queueBar = el("div", { class: "queue", role: "status", hidden: "" }, [queueText, queueLeave]);
      // The log is not a live region: drawing it again (on open, in another
      // language) would read the whole history out. New messages are said
      // once, in live, as they arrive. It takes the focus, to be scrolled
      // with the keys.
      log = el("div", { class: "log", role: "log", "aria-live": "off", "aria-label": T.title, tabindex: "0" });
      live = el("div", { class: "sr", "aria-live": "polite" });
      var old = input;
      input = el("textarea", { id: "bulle-input", rows: "1", maxlength: String(MAX_TEXT), placeholder: T.placeholder });
      if (old) input.value = old.value;
      var form = el("form", {}, [
        el("label", { class: "sr", for: "bulle-input", text: T.label }),
        input,
        el("button", { class: "send", type: "submit", text: T.send })
      ]);
      var hidden = !panel || panel.hidden, focused = panel && panel.contains(root.activeElement);
      if (panel) panel.remove();
      panel = el("section", { class: "panel", id: "bulle-panel", role: "dialog", "aria-label": T.title, lang: LANG }, [
        el("header", {}, [
          el("div", { class: "titles" }, [el("h2", { text: T.title }), el("p", { text: T.subtitle })]),
          transcriptBtn,
          mine,
          closeBtn
        ]),
        status, queueBar, log, form, live
      ]);
      panel.hidden = hidden;
      wrap.insertBefore(panel, launcher);
      fit();
      if (focused) input.focus();

      closeBtn.addEventListener("click", close);
      // The panel is modal once the visitor is in it: a panel shown open
      // as it was left, on the next page, does not hide that page from a
      // screen reader until then.
      panel.addEventListener("focusin", function () { panel.setAttribute("aria-modal", "true"); });
      transcriptBtn.addEventListener("click", showTranscriptForm);
      panel.addEventListener("keydown", trap);
      input.addEventListener("keydown", function (e) {
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
      });
      input.addEventListener("input", function () { typed(input.value.trim() !== ""); });
      form.addEventListener("submit", function (e) { e.preventDefault(); submit(); });
      queueLeave.addEventListener("click", function () {
        if (log.querySelector("form.ticket:not(.transcript)")) return;
        log.appendChild(ticketForm()); // the ticket, on this conversation, takes the visitor out of the queue
        scrollDown();
      });
      chatAt = verifyAt = availAt = "";
      chatBox = verifyBox = typingRow = null;
      render();
    }

    function open(focus) {
      panel.hidden = false;
      panel.setAttribute("aria-modal", "true");
      ctx.opened(true);
      state.open = true;
      save();
      connect();
      fit();
      scrollDown();
      if (focus) input.focus();
    }

    // trap keeps the keyboard in the open panel: Tab from its last control
    // goes to its first, Shift+Tab from its first to its last; Escape
    // closes it, and close gives the focus back to the launcher.
    function trap(e) {
      if (e.key === "Escape") { e.preventDefault(); return close(); }
      if (e.key !== "Tab") return;
      var all = Array.prototype.filter.call(panel.querySelectorAll("button,a[href],input,select,textarea,[tabindex]"), function (x) {
        return !x.disabled && x.tabIndex >= 0 && x.getClientRects().length;
      });
      var at = root.activeElement, first = all[0], last = all[all.length - 1];
      if (at === (e.shiftKey ? first : last)) {
        e.preventDefault();
        (e.shiftKey ? last : first).focus();
      }
    }

    // fit sizes the full-screen panel of a phone to the visual viewport:
    // the part of the page the on-screen keyboard leaves visible, which
    // the layout viewport (and so position: fixed) ignores in Safari and in
    // Chrome for Android. The text box stays above the keyboard.
    var vv = window.visualViewport;

    function fit() {
      var s = panel.style, phone = innerWidth < 600 && vv && !panel.hidden;
      s.top = phone ? vv.offsetTop + "px" : "";
      s.height = phone ? vv.height + "px" : "";
      s.bottom = phone ? "auto" : "";
      return phone;
    }
    if (vv) {
      // A keyboard that opens hides the end of the log: show it again.
      vv.addEventListener("resize", function () { if (fit()) scrollDown(); });
      vv.addEventListener("scroll", fit);
    }

    // say reads a new message out to screen readers, once.
    function say(text) {
      live.appendChild(el("p", { text: text }));
      if (live.childNodes.length > 3) live.firstChild.remove();
    }

    function requestsURL() { return ORIGIN + "/requests?lang=" + encodeURIComponent(LANG); }

    function close() {
      if (panel.hidden) return;
      panel.hidden = true;
      panel.removeAttribute("aria-modal");
      ctx.opened(false);
      state.open = false;
      save();
      launcher.focus();
    }

    function submit() {
      if (sendMessage(input.value)) { input.value = ""; typed(false); }
      input.focus();
    }

    function scrollDown() { log.scrollTop = log.scrollHeight; }

    function note(text, cls, extra) {
      var n = el("div", { class: "note" + (cls ? " " + cls : ""), text: text });
      if (extra) { n.appendChild(document.createTextNode(" ")); n.appendChild(extra); }
      log.appendChild(n);
      if (cls !== "intro") say(text);
      scrollDown();
      return n;
    }

    // ---- rendering messages ----------------------------------------------

    function render() {
      log.textContent = "";
      note(cfg.greeting || T.hello, "intro");
      state.messages.forEach(function (m) { log.appendChild(renderMessage(m)); });
      state.pending.forEach(function (p) { log.appendChild(renderPending(p)); });
      refresh();
      scrollDown();
    }

    function refresh() {
      refreshVerify();
      refreshChat();
      refreshAvail();
    }

    function renderPending(p) {
      return el("div", { class: "msg visitor pending", "data-client-id": p.client_id, title: T.sending, text: p.text });
    }

    function renderMessage(m) {
      var row;
      if (m.role === "visitor") {
        row = el("div", { class: "msg visitor", text: m.text });
      } else if (m.role === "bot") {
        row = el("div", { class: "msg bot" });
        renderDecision(row, m, m.decision || { kind: m.kind, text: m.text });
      } else if (m.role === "agent") {
        row = el("div", { class: "msg agent" }, [
          m.agent ? el("span", { class: "who", text: m.agent }) : null,
          el("p", { class: "text", text: m.text })]);
      } else {
        row = el("div", { class: "msg system" + (m.kind === "verified" ? " verified" : ""), text: m.text });
      }
      row.setAttribute("data-seq", String(m.seq));
      row.setAttribute("data-kind", m.kind || "");
      if (m.kind === "ticket_created") {
        row.appendChild(document.createTextNode(" "));
        row.appendChild(el("a", { class: "pointer", href: requestsURL(), target: "_blank", rel: "noopener", text: T.requestsFollow,
          "aria-label": T.requestsFollow + " " + T.newTab }));
      }
      if (m.attachments && m.attachments.length) row.appendChild(fileButtons(m.attachments));
      return row;
    }

    function articleCard(a) {
      var href = link(a.url);
      var card = el(href ? "a" : "div", { class: "card", href: href, target: "_blank", rel: "noopener",
        "data-article-id": a.id, "data-article-lang": a.lang });
      card.appendChild(el("strong", { text: a.title }));
      if (a.heading && a.heading !== a.title) card.appendChild(el("span", { text: a.heading }));
      if (a.english_only && LANG !== "en") card.appendChild(el("em", { class: "flag", text: T.englishOnly }));
      return card;
    }

    function renderDecision(row, m, d) {
      row.appendChild(el("p", { class: "text", text: d.text || m.text || "" }));
      switch (d.kind) {
        case "answer":
          if (d.quote) row.appendChild(el("blockquote", { text: d.quote }));
          if (d.article) row.appendChild(articleCard(d.article));
          if (d.related && d.related.length) {
            var rel = el("div", { class: "related" }, [el("span", { text: T.related + " " })]);
            d.related.forEach(function (a) {
              var href = link(a.url);
              if (href) rel.appendChild(el("a", { href: href, target: "_blank", rel: "noopener", "data-article-id": a.id, text: a.title }));
            });
            row.appendChild(rel);
          }
          row.appendChild(voteButtons(m.seq));
          break;
        case "clarify":
          var choices = el("div", { class: "choices" });
          (d.choices || []).forEach(function (c) {
            var b = el("button", { type: "button", "data-article-id": c.id, text: c.title });
            b.addEventListener("click", function () { sendMessage(c.title); });
            choices.appendChild(b);
          });
          row.appendChild(choices);
          break;
        case "offer_person":
        case "handoff":
          var actions = el("div", { class: "actions" });
          (d.channels || []).forEach(function (ch) {
            var b = el("button", { type: "button", "data-channel": ch, text: ch === "chat" ? T.chat : T.email });
            b.addEventListener("click", function () {
              each(actions, "button", function (x) { x.disabled = true; });
              if (ch === "email" && topics.length) row.appendChild(ticketForm());
              else sendPerson(ch);
            });
            actions.appendChild(b);
          });
          row.appendChild(actions);
          break;
        case "decline":
          if (d.pointer) {
            var href = link(d.pointer);
            if (d.pointer.charAt(0) === "/" || /^https?:/.test(d.pointer)) {
              if (href) row.appendChild(el("a", { class: "pointer", href: href, target: "_blank", rel: "noopener", text: T.pointer }));
            } else {
              row.appendChild(el("p", { class: "text", text: d.pointer }));
            }
          }
          break;
      }
    }

    function voteButtons(seq) {
      var box = el("div", { class: "votes" });
      [[true, "up", T.helpful], [false, "down", T.unhelpful]].forEach(function (v) {
        var b = el("button", { type: "button", "aria-label": v[2], title: v[2], "data-helpful": String(v[0]),
          "aria-pressed": String(state.votes[seq] === v[0]) }, [icon(v[1])]);
        b.addEventListener("click", function () {
          state.votes[seq] = v[0];
          save();
          each(box, "button", function (x) { x.setAttribute("aria-pressed", String(x.getAttribute("data-helpful") === String(v[0]))); });
          sendFrame({ type: "vote", seq: seq, helpful: v[0] });
        });
        box.appendChild(b);
      });
      return box;
    }

    // ---- is chat open? ---------------------------------------------------

    // Under the latest offer of a person, the bubble says whether live chat
    // is open now and its hours in the visitor's own time zone, from
    // GET /api/availability (docs/availability.md), asked at most once a
    // minute. Shown when the offer includes chat, or says when chat reopens.
    // The minute is measured on performance.now(), which only goes forward:
    // a wall clock put back by an hour would keep an old answer for an hour.
    var hours = null, hoursAt = -Infinity, hoursWait = null, availAt = "";

    function availability(fn) {
      if (performance.now() - hoursAt < 60000) return fn(hours);
      if (hoursWait) return hoursWait.push(fn);
      hoursWait = [fn];
      var tz = "";
      try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* old browser */ }
      fetch(ORIGIN + "/api/availability?lang=" + encodeURIComponent(LANG) + (tz ? "&tz=" + encodeURIComponent(tz) : ""),
        { credentials: "omit" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .catch(function () { return null; })
        .then(function (a) {
          hours = a && a.chat ? a : null;
          hoursAt = performance.now();
          var fns = hoursWait;
          hoursWait = null;
          fns.forEach(function (f) { f(hours); });
        });
    }

    function refreshAvail() {
      var offer = null;
      state.messages.forEach(function (m) {
        if (m.role === "bot" && (m.kind === "offer_person" || m.kind === "handoff")) offer = m;
      });
      var d = offer && offer.decision;
      var at = d && ((d.channels || []).indexOf("chat") >= 0 || d.next_open) ? String(offer.seq) : "";
      var row = at && log.querySelector('.msg.bot[data-seq="' + at + '"]');
      if (at === availAt && (!row || row.querySelector(".avail"))) return;
      each(log, ".avail", function (x) { x.remove(); });
      availAt = at;
      if (!row) return;
      var box = el("div", { class: "avail" });
      row.appendChild(box);
      availability(function (a) {
        if (!a) return;
        var c = a.chat, h = c.visitor_hours || c.hours;
        box.appendChild(el("p", { class: "state" + (c.open ? " on" : ""), "data-open": String(!!c.open), text: c.open ? T.chatOpen : T.chatClosed }));
        if (!c.open && c.next_open) box.appendChild(el("p", { text: fill(T.chatNext, { when: when(c.next_open, a.visitor_zone) }) }));
        if (h && h.lines && h.lines.length) {
          box.appendChild(el("p", { text: T.chatHours }));
          box.appendChild(el("ul", {}, h.lines.map(function (l) { return el("li", { text: l }); })));
        }
      });
    }

    // when writes an instant as a weekday and a time in the visitor's zone.
    function when(iso, zone) {
      var d = new Date(iso);
      if (isNaN(d.getTime())) return iso;
      try {
        return new Intl.DateTimeFormat(LANG, { weekday: "long", hour: "numeric", minute: "2-digit", timeZone: zone || undefined }).format(d);
      } catch (e) { return d.toLocaleString(); }
    }

    // ---- the email form --------------------------------------------------

    // ticketForm asks what an email ticket needs: the topic, the address,
    // the request and, when the server takes them (the welcome's uploads),
    // files. It is not kept across reloads: the ticket, once sent, is in
    // the conversation.
    function ticketForm() {
      var id = newID();
      var topic = el("select", { name: "topic" });
      topics.forEach(function (t) { topic.appendChild(el("option", { value: t.id, text: t.label })); });
      if (wanted.topic && topics.some(function (t) { return t.id === wanted.topic; })) topic.value = wanted.topic;
      var email = el("input", { type: "email", name: "email", required: "", autocomplete: "email", maxlength: "254" });
      var name = el("input", { type: "text", name: "name", autocomplete: "name", maxlength: "200" });
      var text = el("textarea", { name: "message", required: "", maxlength: "10000" });
      var last = state.messages.filter(function (m) { return m.role === "visitor"; }).pop();
      text.value = wanted.message || (last ? last.text : "");
      var id0 = identity || who;
      email.value = id0.email || "";
      name.value = id0.name || "";
      var fix = el("p", { class: "fix", role: "alert", id: "fix-" + id });
      var send = el("button", { type: "submit", class: "send", text: T.formSend });
      var form = el("form", { class: "ticket", "data-client-id": id });
      var files = uploads ? fileField(form) : null;
      [el("label", {}, [el("span", { text: T.formTopic }), topic]),
        el("label", {}, [el("span", { text: T.formEmail }), email]),
        el("label", {}, [el("span", { text: T.formName }), name]),
        el("label", {}, [el("span", { text: T.formMessage }), text]),
        files && files.box, fix, send].forEach(function (c) { if (c) form.appendChild(c); });
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        fix.textContent = "";
        send.disabled = true;
        each(form, "[aria-invalid]", function (x) { x.removeAttribute("aria-invalid"); });
        state.email = email.value.trim(); // prefills the transcript form
        save();
        var f = { type: "ticket", client_id: id, topic: topic.value, email: state.email, name: name.value.trim(),
          text: text.value, page_url: pageURL() };
        if (!files || !files.chosen.length) return sendFrame(f);
        fix.textContent = T.uploading;
        files.upload().then(function (ids) {
          fix.textContent = "";
          f.uploads = ids;
          sendFrame(f);
        }, function (name) {
          fix.textContent = fill(T.uploadFailed, { name: name });
          send.disabled = false;
        });
      });
      setTimeout(function () { email.focus(); }, 0);
      return form;
    }

    // The server's own limits (escalation/attachment.go): 10 MB a file,
    // 10 files, 20 MB in all; the welcome may say otherwise.
    var MB = 1 << 20;

    // fileField lets the visitor pick files or drop them on the form, and
    // checks each one's size and type (from its first bytes, as the server
    // does) before anything is sent.
    function fileField(form) {
      var maxBytes = uploads.max_bytes || 10 * MB, maxTotal = uploads.max_total || 20 * MB, maxFiles = uploads.max_files || 10;
      var mb = function (n) { return fill(T.mb, { n: Math.round(n / MB) }); };
      var chosen = [];
      var picker = el("input", { type: "file", multiple: "", hidden: "", name: "files",
        accept: "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain,.txt,.log" });
      var pick = el("button", { type: "button", class: "pick", text: T.formFilesPick });
      var list = el("ul", { class: "chosen" });
      var fix = el("p", { class: "fix", role: "alert" });
      var box = el("div", { class: "drop" }, [
        el("span", { text: T.formFiles }),
        el("p", { class: "hint", text: fill(T.formFilesHint, { size: mb(maxBytes), total: mb(maxTotal), n: maxFiles }) }),
        pick, picker, list, fix]);
      pick.addEventListener("click", function () { picker.click(); });
      picker.addEventListener("change", function () { add(picker.files); picker.value = ""; });
      form.addEventListener("dragover", function (e) {
        if (!e.dataTransfer || Array.prototype.indexOf.call(e.dataTransfer.types, "Files") < 0) return;
        e.preventDefault();
        box.classList.add("over");
      });
      form.addEventListener("dragleave", function () { box.classList.remove("over"); });
      form.addEventListener("drop", function (e) {
        if (!e.dataTransfer || !e.dataTransfer.files.length) return;
        e.preventDefault();
        box.classList.remove("over");
        add(e.dataTransfer.files);
      });

      // add checks the files one after the other, keeping those that fit.
      function add(files) {
        var problems = [];
        var chain = Promise.resolve();
        Array.prototype.forEach.call(files, function (f) {
          chain = chain.then(function () {
            var total = chosen.reduce(function (n, c) { return n + c.size; }, 0);
            if (chosen.length >= maxFiles) return problems.push(fill(T.filesTooMany, { n: maxFiles }));
            if (f.size > maxBytes) return problems.push(fill(T.fileTooBig, { name: f.name, size: mb(maxBytes) }));
            if (total + f.size > maxTotal) return problems.push(fill(T.filesTotal, { total: mb(maxTotal) }));
            return sniff(f).then(function (ok) {
              if (!ok) return problems.push(fill(T.fileType, { name: f.name }));
              chosen.push(f);
            });
          });
        });
        chain.then(function () {
          fix.textContent = problems.filter(function (p, i) { return problems.indexOf(p) === i; }).join(" ");
          draw();
        });
      }

      function draw() {
        list.textContent = "";
        chosen.forEach(function (f, i) {
          var rm = el("button", { type: "button", "aria-label": fill(T.formFileRemove, { name: f.name }), title: fill(T.formFileRemove, { name: f.name }) }, [icon("x")]);
          rm.addEventListener("click", function () { chosen.splice(i, 1); draw(); pick.focus(); });
          list.appendChild(el("li", {}, [el("span", { text: f.name }), rm]));
        });
      }

      // upload sends the files one by one to the conversation's staging
      // area and resolves to their ids, or rejects with the name of the
      // first that failed.
      function upload() {
        var ids = [];
        return chosen.reduce(function (chain, f) {
          return chain.then(function () {
            var body = new FormData();
            body.append("file", f, f.name);
            return fetch(ORIGIN + "/widget/uploads", { method: "POST", body: body, credentials: "omit",
              headers: { Authorization: "Bearer " + state.token } })
              .then(function (r) { return r.ok ? r.json() : Promise.reject(); })
              .then(function (j) { ids.push(j.id); }, function () { return Promise.reject(f.name); });
          });
        }, Promise.resolve()).then(function () { return ids; });
      }

      return { box: box, chosen: chosen, upload: upload };
    }

    // sniff tells whether a file looks like what the server accepts: a PNG,
    // JPEG, GIF or WebP image, a PDF, or text (no control bytes).
    function sniff(f) {
      if (!f.size) return Promise.resolve(false);
      return f.slice(0, 512).arrayBuffer().then(function (buf) {
        var b = new Uint8Array(buf), head = String.fromCharCode.apply(null, b.subarray(0, 12));
        if (/^(\x89PNG|\xff\xd8\xff|GIF8|%PDF-)/.test(head) || /^RIFF[\s\S]{4}WEBP/.test(head)) return true;
        for (var i = 0; i < b.length; i++) {
          if (b[i] < 9 || b[i] === 11 || (b[i] > 13 && b[i] < 32 && b[i] !== 27)) return false;
        }
        return true;
      }, function () { return false; });
    }

    // ---- sending ---------------------------------------------------------

    var ws = null, ready = false, retries = 0, timer = null, pinger = null;
    var topics = []; // the ticket form's choices, from the welcome
    var identity = null; // the visitor the site's signed identity vouches for, from the welcome
    var uploads = null; // the server's file limits, from the welcome, when it takes files
    var outbox = []; // votes and person requests made while offline
    var inflight = {}; // frames with a client_id sent and not yet acknowledged, by id
    var catchUp = 0; // the seq a resumed conversation's replay runs to

    function sendMessage(text) {
      text = (text || "").trim();
      if (!text) return false;
      if (text.length > MAX_TEXT) { note(T.too_long, "error"); return false; }
      var p = { client_id: newID(), text: text };
      state.pending.push(p);
      save();
      log.appendChild(renderPending(p));
      scrollDown();
      if (ready) raw({ type: "message", client_id: p.client_id, text: p.text });
      else connect();
      return true;
    }

    // sendPerson asks for a person. A chat request says where the visitor
    // is, for the agent: the page, and the article the bot last answered with.
    function sendPerson(channel) {
      var f = { type: "person", channel: channel, client_id: newID() };
      if (channel === "chat") {
        f.page_url = pageURL();
        var answer = state.messages.filter(function (m) { return m.decision && m.decision.article; }).pop();
        if (answer) f.topic = answer.decision.article.id;
      }
      sendFrame(f);
    }

    function pageURL() { return location.protocol.indexOf("http") === 0 ? location.href.split("#")[0] : ""; }

    function sendFrame(f) {
      if (f.client_id) inflight[f.client_id] = f;
      if (!ready || !raw(f)) { outbox.push(f); connect(); }
    }

    function raw(f) {
      if (!ws || ws.readyState !== 1) return false;
      ws.send(JSON.stringify(f));
      return true;
    }

    // resendPending sends every unacknowledged message again, with its
    // client_id, so the server stores each once.
    function resendPending() {
      state.pending.forEach(function (p) { raw({ type: "message", client_id: p.client_id, text: p.text }); });
    }

    // resendUnanswered runs once a resumed conversation's replay is in. The
    // visitor's last question, acknowledged but never answered (the server
    // stopped, or the assistant failed, between the two), is sent again
    // with its client_id: the server stores nothing twice and answers it
    // (docs/protocol.md, "Resend"). Not when anything came after it, nor
    // while a person holds the conversation: the agent answers then.
    function resendUnanswered() {
      var q = state.messages[state.messages.length - 1];
      if (!q || q.role !== "visitor" || q.kind !== "text" || !q.client_id) return;
      if (chat.status === "queued" || chat.status === "active") return;
      raw({ type: "message", client_id: q.client_id, text: q.text });
    }

    function caughtUp() {
      if (catchUp && state.lastSeq >= catchUp) { catchUp = 0; resendUnanswered(); }
    }

    // ---- the connection --------------------------------------------------

    function setStatus(text) { status.textContent = text || ""; }

    function hello() {
      return { type: "hello", token: state.token || undefined, last_seq: state.lastSeq, lang: LANG, identity: cfg.identity || undefined };
    }

    function connect() {
      if (ws || timer) return;
      setStatus(retries ? T.offline : "");
      try {
        ws = new WebSocket(cfg.ws);
      } catch (e) {
        ws = null;
        schedule();
        return;
      }
      ws.onopen = function () { raw(hello()); };
      ws.onmessage = function (e) {
        var f;
        try { f = JSON.parse(e.data); } catch (x) { return; }
        if (f && typeof f.type === "string") handle(f);
      };
      ws.onclose = function () {
        ws = null;
        ready = false;
        clearInterval(pinger);
        schedule();
      };
    }

    // reconnect starts a new connection at once, for a hello that says
    // something new (another language, another identity).
    function reconnect() {
      if (!ws && !timer) return;
      if (ws) {
        ws.onclose = ws.onmessage = null;
        ws.close();
        ws = null;
      }
      clearTimeout(timer);
      clearInterval(pinger);
      timer = null;
      ready = false;
      retries = 0;
      connect();
    }

    // schedule reconnects after 1, 2, 4… up to 30 seconds, with jitter so
    // that visitors cut off together do not come back together.
    function schedule() {
      if (timer) return;
      var delay = Math.min(30000, 1000 * Math.pow(2, retries)) * (0.5 + Math.random() / 2);
      retries++;
      setStatus(T.offline);
      timer = setTimeout(function () { timer = null; connect(); }, delay);
    }

    window.addEventListener("online", function () {
      if (timer) { clearTimeout(timer); timer = null; connect(); }
    });

    function handle(f) {
      switch (f.type) {
        case "welcome": return welcome(f);
        case "ack": return ack(f);
        case "message": return message(f);
        case "voted":
          state.votes[f.seq] = f.helpful;
          save();
          return;
        case "error": return failed(f);
        case "queue": return onQueue(f);
        case "typing": return onTyping(f);
      }
    }

    function welcome(f) {
      // A reset, or a new conversation while an old one is still shown
      // (another tab started afresh): drop the copy.
      if (f.reset || (!f.resumed && state.lastSeq > 0)) {
        state.messages = [];
        state.lastSeq = 0;
        state.votes = {};
        render();
      }
      state.token = f.token;
      topics = f.topics || [];
      mine.hidden = !topics.length;
      identity = f.identity || null;
      uploads = f.uploads || null;
      save();
      ready = true;
      retries = 0;
      setStatus("");
      catchUp = (f.conversation && f.conversation.last_seq) || 0;
      caughtUp();
      resendPending();
      var queued = outbox;
      outbox = [];
      queued.forEach(sendFrame);
      refreshChat(); // the ticket form and "leave a message" need the topics
      clearInterval(pinger);
      // Some proxies close a WebSocket after a minute of silence.
      pinger = setInterval(function () { raw({ type: "ping" }); }, 25000);
    }

    function ack(f) {
      delete inflight[f.client_id];
      dropPending(f.client_id);
      if (!state.pending.length) each(log, ".unsaved", function (x) { x.remove(); }); // saved after all
      var form = log.querySelector('form.ticket[data-client-id="' + cssEscape(f.client_id || "") + '"]');
      if (form) form.remove();
    }

    function dropPending(id) {
      state.pending = state.pending.filter(function (p) { return p.client_id !== id; });
      save();
    }

    function message(m) {
      if (m.seq <= state.lastSeq) return; // already shown
      state.lastSeq = m.seq;
      state.messages.push(m);
      var row = renderMessage(m);
      var pending = m.client_id && log.querySelector('.pending[data-client-id="' + cssEscape(m.client_id) + '"]');
      if (pending) pending.replaceWith(row);
      else log.insertBefore(row, log.querySelector(".pending")); // keep unconfirmed messages last
      if (m.client_id) dropPending(m.client_id);
      else save();
      if (m.role === "agent") showTyping(false);
      if (m.role !== "visitor") {
        if (panel.hidden) ctx.unread();
        else say((m.agent ? m.agent + ": " : "") + m.text);
      }
      refresh();
      scrollDown();
      caughtUp();
    }

    function failed(f) {
      switch (f.code) {
        case "bad_token":
          // Never keep writing into a conversation that is gone: start a new
          // one, and send the messages still pending into it.
          state.token = "";
          state.lastSeq = 0;
          state.messages = [];
          state.votes = {};
          save();
          render();
          note(T.bad_token);
          raw(hello());
          return;
        case "bad_ticket":
          var tf = log.querySelector('form.ticket[data-client-id="' + cssEscape(f.client_id || "") + '"]');
          // Staged files the server no longer has (swept after an hour):
          // upload them again and resend, once (docs/widget.md).
          if (tf && f.field === "uploads" && !tf.again) {
            tf.again = true;
            return tf.requestSubmit();
          }
          if (tf) {
            var fix = tf.querySelector(":scope > .fix"); // not the file field's
            fix.textContent = T.formFix + f.message;
            tf.querySelector(".send").disabled = false;
            var field = tf.querySelector('[name="' + (f.field === "text" ? "message" : cssEscape(f.field || "")) + '"]');
            if (field) {
              field.setAttribute("aria-invalid", "true");
              field.setAttribute("aria-describedby", fix.id);
              field.focus();
            }
            return;
          }
          note(T.error, "error");
          return;
        case "bad_code":
        case "code_expired":
        case "too_many_tries":
        case "no_code":
        case "too_many_codes":
        case "already_verified":
          return verifyFailed(f);
        case "bad_identity":
          // For the site's developer: the conversation goes on, unverified.
          if (window.console) console.warn("Bulle: data-identity refused: " + f.message);
          return;
        case "bad_transcript":
        case "too_many":
        case "no_transcripts":
          return transcriptFailed(f);
        case "bad_rating":
        case "not_closed":
        case "already_rated":
        case "no_chat":
          return rateFailed(f);
        case "rate_limited":
          note(T.rate_limited);
          setTimeout(resendPending, 1500);
          return;
        case "too_long":
          if (f.client_id) {
            dropPending(f.client_id);
            var p = log.querySelector('.pending[data-client-id="' + cssEscape(f.client_id) + '"]');
            if (p) { p.classList.remove("pending"); p.classList.add("failed"); }
          }
          note(T.too_long, "error");
          return;
        case "unavailable": return unanswered(f.client_id);
        case "internal": return unsaved(f);
        default:
          note(T.error, "error");
      }
    }

    // unanswered offers to ask again a question the server stored but did
    // not answer: the same client_id, which it answers then.
    function unanswered(id) {
      var msg = state.messages.filter(function (m) { return m.client_id === id; })[0];
      var retry = null;
      if (msg) {
        retry = el("button", { class: "retry", type: "button", text: T.retry });
        retry.addEventListener("click", function () {
          retry.disabled = true;
          if (!raw({ type: "message", client_id: id, text: msg.text })) connect();
        });
      }
      note(T.unavailable, "error", retry);
    }

    // unsaved answers "internal": the server could not store what the
    // visitor sent (its database locked by another program, its disk full)
    // and kept nothing of it. A message stays pending, sent again with the
    // same client_id (stored once) on "Try again" and on every new
    // connection; a form keeps what was typed. Besides trying again, the
    // visitor may write from the contact page, which opens in a new tab
    // (docs/protocol.md, "When the server cannot save"). Before the welcome
    // it is the hello that failed: the bubble connects again later.
    function unsaved(f) {
      var id = f.client_id || "", frame = inflight[id];
      var form = id && log.querySelector('form[data-client-id="' + cssEscape(id) + '"]');
      if (id && state.messages.some(function (m) { return m.client_id === id; })) return unanswered(id); // stored, not answered
      if (form) {
        var fix = form.querySelector(":scope > .fix"), ticket = !form.matches(".transcript, .rate");
        fix.textContent = ticket ? T.unsaved : T.error;
        if (ticket) contact(fix);
        form.querySelector(".send").disabled = false;
        return;
      }
      if (frame && /^verify/.test(frame.type)) return verifyFailed({ code: "unsaved" });
      if (!ready) {
        if (ws) ws.close(); // onclose connects again after a while
        if (!state.pending.length) return;
      } else if (!frame && !state.pending.some(function (p) { return p.client_id === id; })) {
        return note(T.error, "error");
      }
      each(log, ".unsaved", function (x) { x.remove(); });
      var retry = el("button", { class: "retry", type: "button", text: T.retry });
      var n = note(T.unsaved, "error unsaved", retry);
      contact(n);
      retry.addEventListener("click", function () {
        n.remove();
        if (!ready) reconnect();
        else if (frame) sendFrame(frame);
        else resendPending();
      });
    }

    // contact adds the link to the contact page, when the server takes tickets.
    function contact(box) {
      if (!topics.length) return;
      box.appendChild(document.createTextNode(" "));
      box.appendChild(el("a", { class: "pointer", href: ORIGIN + "/contact?lang=" + encodeURIComponent(LANG), target: "_blank",
        rel: "noopener", text: T.contact, "aria-label": T.contact + " " + T.newTab }));
    }

    // ---- live chat -------------------------------------------------------

    // The conversation says where a chat stands: its latest chat note. While
    // queued, a bar shows the place and the wait, with a way to leave a
    // message instead; while active, typing goes both ways; once closed, a
    // rating box and the transcript button sit under the closing note; and
    // when chat is not open, the ticket form sits under the note that says so.
    var chat = { status: "", position: 0, wait: 0, queuedSeq: 0 };
    var chatBox = null, chatAt = "";
    var agentName = "";

    function refreshChat() {
      var st = "", last = null, offer = null;
      state.messages.forEach(function (m) {
        switch (m.kind) {
          case "chat_queued": st = "queued"; last = m; offer = null; break;
          case "chat_claimed": case "chat_transferred": st = "active"; last = m; agentName = m.agent || ""; break;
          case "chat_closed": st = "closed"; last = m; break;
          case "chat_rated": if (st === "closed") st = "rated"; break;
          case "chat_converted": case "chat_abandoned": st = ""; last = null; break;
          case "chat_unavailable": offer = m.channel === "email" ? m : null; break;
          case "ticket": case "ticket_created": offer = null; break;
        }
      });
      if (st === "queued" && last.seq !== chat.queuedSeq) {
        // A new place in the queue: the note's, until a queue frame says more.
        chat.queuedSeq = last.seq;
        chat.position = last.position || 0;
        chat.wait = last.wait_s || 0;
      }
      chat.status = st;
      // The loader loads the panel at once on the next page while a chat is on.
      var live = st === "queued" || st === "active";
      if (!!state.live !== live) { state.live = live; save(); }
      if (st !== "active") { showTyping(false); typed(false); }
      queueBar.hidden = st !== "queued" || !chat.position;
      if (!queueBar.hidden) {
        queueText.textContent = fill(T.queue, { n: chat.position, w: waitText(chat.wait) });
        queueLeave.hidden = !topics.length;
      }
      var at = st === "closed" ? "rate:" + last.seq : (offer && topics.length ? "offer:" + offer.seq : "");
      if (at === chatAt && (!chatBox || log.contains(chatBox))) return;
      if (chatBox) chatBox.remove();
      chatBox = null;
      chatAt = at;
      if (!at) return;
      var row = log.querySelector('[data-seq="' + (st === "closed" ? last : offer).seq + '"]');
      if (!row) return;
      chatBox = st === "closed" ? rateBox() : ticketForm();
      row.appendChild(chatBox);
    }

    function waitText(s) {
      var min = Math.max(1, Math.ceil((s || 0) / 60));
      if (min < 60) return min + " min";
      return Math.floor(min / 60) + " h" + (min % 60 ? " " + (min % 60) + " min" : "");
    }

    // onQueue shows the place the server computed; position 0: out of the queue.
    function onQueue(f) {
      chat.position = f.position || 0;
      chat.wait = f.wait_s || 0;
      refreshChat();
    }

    // The agent's typing: three dots at the end of the log, gone with the
    // agent's next message, a stop, or after a while without news.
    var typingRow = null, typingTimer = null;

    function onTyping(f) {
      if (f.role === "agent") showTyping(!!f.on);
    }

    function showTyping(on) {
      clearTimeout(typingTimer);
      if (!on) {
        if (typingRow) typingRow.remove();
        typingRow = null;
        return;
      }
      var label = agentName ? fill(T.agentTyping, { name: agentName }) : T.someoneTyping;
      if (!typingRow) {
        typingRow = el("div", { class: "msg agent typing", "aria-hidden": "true", title: label },
          [el("i", {}), el("i", {}), el("i", {})]);
        say(label);
      }
      log.appendChild(typingRow); // last, after anything that came meanwhile
      scrollDown();
      typingTimer = setTimeout(function () { showTyping(false); }, 6000);
    }

    // The visitor's typing, while an agent holds the chat: "on" at most
    // every 3 seconds while keys are pressed, "off" after 4 idle seconds or
    // when the message is sent. Nothing of what is typed leaves the bubble.
    var typingSent = 0, typingIdle = null;

    function typed(on) {
      clearTimeout(typingIdle);
      if (!on) {
        if (typingSent) raw({ type: "typing", on: false });
        typingSent = 0;
        return;
      }
      if (chat.status !== "active" || !ready) return;
      var now = performance.now(); // not the wall clock, which may jump back
      if (!typingSent || now - typingSent > 3000) { raw({ type: "typing", on: true }); typingSent = now; }
      typingIdle = setTimeout(function () { typed(false); }, 4000);
    }

    // rateBox asks for 1 to 5 after the agent closed the chat, next to the
    // transcript by email.
    function rateBox() {
      var id = newID(), rating = 0;
      var stars = el("div", { class: "stars", role: "group", "aria-label": T.rateAsk });
      [1, 2, 3, 4, 5].forEach(function (n) {
        var star = fill(T.rateStar, { n: n });
        var b = el("button", { type: "button", "aria-pressed": "false", "aria-label": star, title: star, "data-rating": String(n) }, [icon("star")]);
        b.addEventListener("click", function () {
          rating = n;
          each(stars, "button", function (x) { x.setAttribute("aria-pressed", String(Number(x.getAttribute("data-rating")) <= n)); });
        });
        stars.appendChild(b);
      });
      var comment = el("input", { type: "text", name: "comment", maxlength: "1000", "aria-label": T.rateComment, placeholder: T.rateComment });
      var fix = el("p", { class: "fix", role: "alert" });
      var send = el("button", { type: "submit", class: "send", text: T.rateSend });
      var mail = el("button", { type: "button", class: "retry", text: T.transcriptSend });
      var form = el("form", { class: "rate", "data-client-id": id }, [
        el("p", { class: "text", text: T.rateAsk }), stars, comment, el("div", { class: "row" }, [send, mail]), fix]);
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        if (!rating) { fix.textContent = T.bad_rating; return; }
        fix.textContent = "";
        send.disabled = true;
        sendFrame({ type: "rate", client_id: id, rating: rating, comment: comment.value.trim() || undefined });
      });
      mail.addEventListener("click", showTranscriptForm);
      return form;
    }

    function rateFailed(f) {
      if (f.code === "already_rated" && chatBox && chatBox.classList.contains("rate")) { chatBox.remove(); chatBox = null; return; }
      var text = T[f.code] || T.error;
      if (!chatBox || !log.contains(chatBox) || !chatBox.classList.contains("rate")) { note(text, "error"); return; }
      chatBox.querySelector(".fix").textContent = text;
      chatBox.querySelector(".send").disabled = false;
    }

    // ---- verifying the ticket's address ----------------------------------

    // The conversation says where verification stands: a ticket note that
    // offers it, then "code sent" notes, then "verified". The controls go
    // under the latest of them, and only change when that changes, so that
    // a code being typed is not lost.
    var verifyBox = null, verifyAt = "";

    function refreshVerify() {
      var offer = null, sent = null, verified = false;
      state.messages.forEach(function (m) {
        if (m.kind === "ticket_created" && m.verify) { offer = m; sent = null; }
        else if (m.kind === "verify_sent" && offer) sent = m;
        else if (m.kind === "verified") verified = true;
      });
      var at = verified || !offer ? "" : (sent ? "code:" + sent.seq : "offer:" + offer.seq);
      if (at === verifyAt && (!verifyBox || log.contains(verifyBox))) return;
      if (verifyBox) verifyBox.remove();
      verifyBox = null;
      verifyAt = at;
      if (!at) return;
      var row = log.querySelector('[data-seq="' + (sent || offer).seq + '"]');
      if (!row) return;
      verifyBox = sent ? codeForm() : verifyButton();
      row.appendChild(verifyBox);
    }

    function verifyButton() {
      var b = el("button", { type: "button", class: "send", text: T.verifyStart });
      b.addEventListener("click", function () {
        b.disabled = true;
        sendFrame({ type: "verify_start", client_id: newID() });
      });
      return el("div", { class: "verify" }, [b, el("p", { class: "fix", role: "alert" })]);
    }

    function codeForm() {
      var code = el("input", { type: "text", name: "code", inputmode: "numeric", autocomplete: "one-time-code",
        maxlength: "7", required: "" });
      var fix = el("p", { class: "fix", role: "alert" });
      var check = el("button", { type: "submit", class: "send", text: T.verifyCheck });
      var resend = el("button", { type: "button", class: "retry", text: T.verifyResend });
      var form = el("form", { class: "verify" }, [
        el("label", {}, [el("span", { text: T.verifyCode }), code]),
        el("div", { class: "row" }, [check, resend]), fix]);
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        fix.textContent = "";
        check.disabled = true;
        sendFrame({ type: "verify_code", client_id: newID(), code: code.value });
      });
      resend.addEventListener("click", function () {
        fix.textContent = "";
        resend.disabled = true;
        sendFrame({ type: "verify_start", client_id: newID() });
      });
      setTimeout(function () { code.focus(); }, 0);
      return form;
    }

    function verifyFailed(f) {
      var text = T[f.code] || T.error;
      if (!verifyBox || !log.contains(verifyBox)) { note(text, "error"); return; }
      verifyBox.querySelector(".fix").textContent = text;
      each(verifyBox, "button", function (b) { b.disabled = false; });
      var code = verifyBox.querySelector("input");
      if (code && f.code === "bad_code") { code.select(); code.focus(); }
    }

    // ---- the transcript by email, and files ------------------------------

    // showTranscriptForm asks where to mail the whole conversation, with the
    // address this bubble used last (a ticket's, an earlier transcript's) or
    // the one the site vouches for. The server acks the frame and adds a
    // note to the conversation; the ack removes the form.
    function showTranscriptForm() {
      if (panel.hidden) open(false);
      var shown = log.querySelector("form.transcript");
      if (shown) { shown.querySelector("input").focus(); return; }
      var id = newID();
      var email = el("input", { type: "email", name: "email", required: "", autocomplete: "email", maxlength: "254" });
      email.value = state.email || (identity || who).email || "";
      var fix = el("p", { class: "fix", role: "alert" });
      var send = el("button", { type: "submit", class: "send", text: T.transcriptSend });
      var form = el("form", { class: "ticket transcript", "data-client-id": id }, [
        el("p", { class: "text", text: T.transcriptIntro }),
        el("label", {}, [el("span", { text: T.formEmail }), email]),
        fix, send]);
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        fix.textContent = "";
        send.disabled = true;
        state.email = email.value.trim();
        save();
        sendFrame({ type: "transcript", client_id: id, email: state.email });
      });
      log.appendChild(form);
      scrollDown();
      setTimeout(function () { email.focus(); }, 0);
    }

    function transcriptFailed(f) {
      var tf = log.querySelector('form.transcript[data-client-id="' + cssEscape(f.client_id || "") + '"]');
      var text = f.code === "bad_transcript" ? T.formFix + f.message : (T[f.code] || T.error);
      if (!tf) { note(text, "error"); return; }
      tf.querySelector(".fix").textContent = text;
      tf.querySelector(".send").disabled = f.code !== "bad_transcript";
      if (f.code === "bad_transcript") tf.querySelector("input").focus();
    }

    function fileButtons(files) {
      var box = el("div", { class: "files" });
      files.forEach(function (a) {
        var b = el("button", { type: "button", "data-attachment-id": String(a.id), title: T.download + " " + a.name, text: a.name });
        b.addEventListener("click", function () { download(a, b); });
        box.appendChild(b);
      });
      return box;
    }

    // download fetches a file with the conversation's token, which a plain
    // link could not carry, and saves it through a blob URL. The server
    // answers it only to this conversation, with CORS for allowed sites.
    function download(a, b) {
      var href = link(a.url);
      if (!href || !state.token) return;
      b.disabled = true;
      fetch(href, { headers: { Authorization: "Bearer " + state.token }, credentials: "omit", cache: "no-store" })
        .then(function (r) {
          if (!r.ok) throw new Error("HTTP " + r.status);
          return r.blob();
        })
        .then(function (blob) {
          var url = URL.createObjectURL(blob);
          var saver = el("a", { href: url, download: a.name });
          root.appendChild(saver);
          saver.click();
          saver.remove();
          setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
        })
        .catch(function () { note(T.downloadFailed, "error"); })
        .then(function () { b.disabled = false; });
    }

    // ---- start -----------------------------------------------------------

    build();
    if (state.open) { // as it was, without taking the page's focus
      panel.hidden = false;
      ctx.opened(true);
      fit();
      scrollDown();
    }
    // Connect once the loader has made the calls the page made before the
    // panel was here (it does right after this returns), so that the first
    // hello carries what Bulle.identify said. A closed panel connects when a
    // chat is going on or a message is not yet sent (the loader loaded it
    // for that).
    setTimeout(function () { if (!panel.hidden || state.token) connect(); }, 0);

    // The API the loader forwards window.Bulle's calls to (docs/widget.md).
    return {
      open: function (focus) { if (panel.hidden) open(focus); },
      close: close,
      toggle: function () { if (panel.hidden) open(true); else close(); },
      setLanguage: function () {
        T = ctx.strings();
        LANG = cfg.lang;
        hoursAt = -Infinity;
        build();
        reconnect(); // the hello names the language
      },
      // Bulle.setStrings once the panel is here: the same language, in the
      // site's own words.
      setStrings: function () {
        T = ctx.strings();
        build();
      },
      identify: function (o) {
        if (typeof o.email === "string") who.email = o.email;
        if (typeof o.name === "string") who.name = o.name;
        if (typeof o.signature === "string" && o.signature !== cfg.identity) {
          cfg.identity = o.signature;
          reconnect(); // the hello carries it
        }
      },
      prefill: function (o) {
        if (typeof o.topic === "string") wanted.topic = o.topic;
        if (typeof o.message === "string") {
          wanted.message = o.message;
          input.value = o.message;
        }
      }
    };
  });
})();
