/*
 * Bulle: the assistant bubble. A site embeds it with one line:
 *
 *   <script src="https://help.example.com/widget.js" data-lang="fr" async></script>
 *
 * The script learns the server from its own src and the language from
 * data-lang. A site that knows who its visitor is may add
 * data-identity="<payload>.<signature>", signed on its server
 * (docs/identity.md). Everything it draws lives in a shadow root, so the page's
 * styles and the bubble's cannot touch each other. Every piece of text that
 * comes from the server or the visitor is inserted with textContent.
 * The WebSocket protocol is described in docs/protocol.md.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script) {
    var found = document.querySelectorAll('script[src$="widget.js"], script[src*="widget.js?"]');
    script = found[found.length - 1];
  }
  if (!script || !script.src || window.__bulleWidget) return;
  window.__bulleWidget = true; // one bubble per page, even if embedded twice

  var server = new URL(script.src, location.href);
  var ORIGIN = server.origin;
  var WS_URL = (server.protocol === "https:" ? "wss://" : "ws://") + server.host + "/widget/ws";
  var LANG = (script.getAttribute("data-lang") || document.documentElement.lang || "en").slice(0, 2).toLowerCase();
  if (LANG !== "fr") LANG = "en";
  var IDENTITY = script.getAttribute("data-identity") || ""; // signed by the site, checked by the server
  var MAX_TEXT = 2000; // the server's limit, in characters
  var KEPT = 200; // messages kept in localStorage to redraw the conversation
  var KEY = "bulle:" + ORIGIN; // one conversation per help center

  var STRINGS = {
    fr: {
      open: "Ouvrir l'assistant",
      close: "Fermer l'assistant",
      title: "Assistant",
      subtitle: "Réponses tirées du centre d'aide",
      hello: "Bonjour ! Posez-moi votre question, je cherche dans le centre d'aide.",
      label: "Votre question",
      placeholder: "Posez votre question…",
      send: "Envoyer",
      englishOnly: "Cet article n'est disponible qu'en anglais",
      related: "Voir aussi :",
      helpful: "Cette réponse m'a aidé",
      unhelpful: "Cette réponse ne m'a pas aidé",
      chat: "Discuter avec une personne",
      email: "Écrire un e-mail",
      pointer: "Où trouver de l'aide",
      connecting: "Connexion…",
      offline: "Connexion perdue, nouvelle tentative…",
      sending: "Envoi…",
      retry: "Réessayer",
      too_long: "Votre message est trop long : 2 000 caractères au plus.",
      rate_limited: "Vous allez un peu vite : nouvel essai dans un instant.",
      bad_token: "Votre conversation précédente est introuvable : une nouvelle commence.",
      unavailable: "L'assistant n'a pas pu répondre.",
      error: "Une erreur est survenue. Réessayez dans un instant.",
      formEmail: "Votre e-mail",
      formName: "Votre nom (facultatif)",
      formTopic: "Thème",
      formMessage: "Votre message",
      formSend: "Envoyer la demande",
      formFix: "À corriger : ",
      transcript: "Envoyer la transcription par e-mail",
      transcriptIntro: "Recevez toute cette conversation par e-mail. En répondant à cet e-mail, vous écrivez à l'équipe.",
      transcriptSend: "Envoyer la transcription",
      too_many: "Cette conversation a déjà été envoyée plusieurs fois : réessayez dans une heure.",
      no_transcripts: "Ce centre d'aide n'envoie pas de transcription.",
      download: "Télécharger",
      downloadFailed: "Le fichier n'a pas pu être téléchargé.",
      verifyStart: "Vérifier mon adresse",
      verifyCode: "Code reçu par e-mail (6 chiffres)",
      verifyCheck: "Valider",
      verifyResend: "Renvoyer un code",
      bad_code: "Ce code ne correspond pas : vérifiez les 6 chiffres.",
      code_expired: "Ce code a expiré : demandez-en un nouveau.",
      too_many_tries: "Trop d'essais : ce code est bloqué. Demandez-en un nouveau.",
      no_code: "Aucun code en attente : demandez-en un.",
      too_many_codes: "Trop de codes envoyés : réessayez dans une heure.",
      already_verified: "Votre adresse est déjà vérifiée.",
      queue: "Vous êtes n° {n} dans la file, attente estimée : {w}",
      queueLeave: "Laisser plutôt un message",
      agentTyping: "{name} écrit…",
      someoneTyping: "L'équipe écrit…",
      rateAsk: "Comment s'est passée cette conversation ?",
      rateStar: "{n} sur 5",
      rateComment: "Un commentaire ? (facultatif)",
      rateSend: "Envoyer la note",
      bad_rating: "Choisissez une note de 1 à 5.",
      not_closed: "La conversation n'est pas encore terminée.",
      already_rated: "Cette conversation a déjà été notée.",
      no_chat: "Ce centre d'aide ne propose pas de chat en direct."
    },
    en: {
      open: "Open the assistant",
      close: "Close the assistant",
      title: "Assistant",
      subtitle: "Answers from the help center",
      hello: "Hello! Ask me your question and I'll look in the help center.",
      label: "Your question",
      placeholder: "Ask your question…",
      send: "Send",
      englishOnly: "This article is only available in English",
      related: "See also:",
      helpful: "This answer helped",
      unhelpful: "This answer did not help",
      chat: "Chat with a person",
      email: "Send an email",
      pointer: "Where to get help",
      connecting: "Connecting…",
      offline: "Connection lost, trying again…",
      sending: "Sending…",
      retry: "Try again",
      too_long: "Your message is too long: 2,000 characters at most.",
      rate_limited: "You're going a bit fast: trying again in a moment.",
      bad_token: "Your previous conversation could not be found: a new one starts.",
      unavailable: "The assistant could not answer.",
      error: "Something went wrong. Try again in a moment.",
      formEmail: "Your email",
      formName: "Your name (optional)",
      formTopic: "Topic",
      formMessage: "Your message",
      formSend: "Send the request",
      formFix: "Please fix: ",
      transcript: "Email me the transcript",
      transcriptIntro: "Get this whole conversation by email. Replying to that email writes to the team.",
      transcriptSend: "Send the transcript",
      too_many: "This conversation was already sent several times: try again in an hour.",
      no_transcripts: "This help center sends no transcripts.",
      download: "Download",
      downloadFailed: "The file could not be downloaded.",
      verifyStart: "Verify my email",
      verifyCode: "Code from the email (6 digits)",
      verifyCheck: "Verify",
      verifyResend: "Send a new code",
      bad_code: "This code does not match: check the 6 digits.",
      code_expired: "This code expired: ask for a new one.",
      too_many_tries: "Too many tries: this code is locked. Ask for a new one.",
      no_code: "No code is waiting: ask for one.",
      too_many_codes: "Too many codes sent: try again in an hour.",
      already_verified: "Your email is verified already.",
      queue: "You are number {n} in the queue, estimated wait: {w}",
      queueLeave: "Leave a message instead",
      agentTyping: "{name} is typing…",
      someoneTyping: "The team is typing…",
      rateAsk: "How was this conversation?",
      rateStar: "{n} out of 5",
      rateComment: "Any comment? (optional)",
      rateSend: "Send my rating",
      bad_rating: "Choose a rating from 1 to 5.",
      not_closed: "The conversation is not over yet.",
      already_rated: "This conversation was rated already.",
      no_chat: "This help center offers no live chat."
    }
  };
  var T = STRINGS[LANG];

  var CSS = [
    ":host { all: initial; }",
    "* { box-sizing: border-box; }",
    ".root { font: 15px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #1f2328; }",
    ".bubble { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; width: 58px; height: 58px;",
    "  border: 0; border-radius: 50%; background: #3451b2; color: #fff; cursor: pointer;",
    "  box-shadow: 0 4px 14px rgba(0,0,0,.25); display: flex; align-items: center; justify-content: center; }",
    ".bubble:hover { background: #2a4196; }",
    ".bubble:focus-visible, button:focus-visible, a:focus-visible, textarea:focus-visible { outline: 3px solid #f5a623; outline-offset: 2px; }",
    ".bubble svg { width: 28px; height: 28px; fill: currentColor; }",
    ".panel { position: fixed; right: 20px; bottom: 90px; z-index: 2147483001; width: 370px;",
    "  height: min(580px, calc(100vh - 110px)); display: flex; flex-direction: column; background: #fff;",
    "  border-radius: 14px; box-shadow: 0 8px 30px rgba(0,0,0,.28); overflow: hidden; }",
    ".panel[hidden] { display: none; }",
    "header { background: #3451b2; color: #fff; padding: 12px 14px; display: flex; align-items: center; gap: 8px; }",
    "header h2 { margin: 0; font-size: 16px; font-weight: 600; }",
    "header p { margin: 0; font-size: 12px; opacity: .85; }",
    "header .titles { flex: 1; }",
    ".close { background: transparent; color: #fff; border: 0; font-size: 24px; line-height: 1; cursor: pointer; padding: 4px 8px; border-radius: 6px; }",
    ".status { font-size: 12px; color: #6e5b00; background: #fff8db; padding: 4px 14px; }",
    ".status:empty { display: none; }",
    ".log { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 10px; background: #f6f7f9; }",
    ".msg { max-width: 88%; padding: 8px 11px; border-radius: 12px; white-space: pre-wrap; overflow-wrap: anywhere; }",
    ".visitor { align-self: flex-end; background: #3451b2; color: #fff; border-bottom-right-radius: 4px; }",
    ".visitor.pending { opacity: .6; }",
    ".visitor.failed { background: #b42318; }",
    ".bot, .agent { align-self: flex-start; background: #fff; border: 1px solid #e1e4e8; border-bottom-left-radius: 4px; }",
    ".system, .note { align-self: center; font-size: 13px; color: #57606a; text-align: center; max-width: 95%; }",
    ".note.error { color: #b42318; }",
    ".text { margin: 0; }",
    "blockquote { margin: 8px 0; padding: 4px 10px; border-left: 3px solid #3451b2; color: #424a53; font-style: italic; }",
    ".card { display: block; margin-top: 6px; padding: 8px 10px; border: 1px solid #d0d7de; border-radius: 8px; color: #1f2328; text-decoration: none; background: #fafbfc; }",
    ".card:hover { border-color: #3451b2; }",
    ".card strong { display: block; color: #3451b2; }",
    ".card span { display: block; font-size: 13px; color: #57606a; }",
    ".badge { display: inline-block; margin-top: 4px; font-size: 12px; background: #fff1c2; color: #6e5b00; border-radius: 4px; padding: 1px 6px; }",
    ".related { margin-top: 6px; font-size: 13px; }",
    ".related a { color: #3451b2; margin-right: 8px; }",
    ".choices { display: flex; flex-direction: column; gap: 6px; margin-top: 8px; }",
    ".choices button { text-align: left; }",
    ".actions button, .choices button, .retry { font: inherit; font-size: 14px; border: 1px solid #3451b2; background: #fff; color: #3451b2; border-radius: 18px; padding: 6px 12px; cursor: pointer; }",
    ".actions { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 8px; }",
    ".actions button:disabled, .choices button:disabled { opacity: .5; cursor: default; }",
    ".votes { display: flex; gap: 4px; margin-top: 6px; }",
    ".votes button { border: 1px solid #d0d7de; background: #fff; color: #57606a; border-radius: 14px; cursor: pointer; padding: 3px 9px; line-height: 0; }",
    ".votes svg { width: 15px; height: 15px; fill: currentColor; }",
    ".votes button[aria-pressed=true] { background: #e6ecff; border-color: #3451b2; color: #3451b2; }",
    ".pointer { display: inline-block; margin-top: 6px; color: #3451b2; }",
    "form.ticket { display: flex; flex-direction: column; gap: 6px; padding: 8px 0 0; border: 0; background: transparent; }",
    "form.ticket label { font-size: 13px; color: #424a53; display: flex; flex-direction: column; gap: 2px; }",
    "form.ticket input, form.ticket select, form.ticket textarea { font: inherit; font-size: 14px; padding: 6px 8px; border: 1px solid #d0d7de; border-radius: 8px; height: auto; }",
    "form.ticket textarea { min-height: 70px; resize: vertical; }",
    "form.ticket .send { padding: 8px 12px; }",
    "form.ticket .fix { color: #b42318; font-size: 13px; margin: 0; }",
    "form.ticket .fix:empty { display: none; }",
    "form.transcript { align-self: stretch; background: #fff; border: 1px solid #e1e4e8; border-radius: 12px; padding: 10px; }",
    ".tool { background: transparent; color: #fff; border: 0; cursor: pointer; padding: 6px; border-radius: 6px; line-height: 0; }",
    ".tool svg { width: 20px; height: 20px; fill: currentColor; }",
    ".files { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 6px; }",
    ".files button { font: inherit; font-size: 13px; border: 1px solid #d0d7de; background: #fafbfc; color: #3451b2; border-radius: 8px; padding: 3px 8px; cursor: pointer; }",
    ".system.verified { color: #1a7f37; font-weight: 600; }",
    ".verify { display: flex; flex-direction: column; gap: 6px; margin-top: 8px; text-align: left; }",
    "form.verify { padding: 0; border: 0; background: transparent; }",
    "form.verify label { font-size: 13px; color: #424a53; display: flex; flex-direction: column; gap: 2px; }",
    "form.verify input { font: inherit; font-size: 16px; letter-spacing: 2px; padding: 6px 8px; border: 1px solid #d0d7de; border-radius: 8px; }",
    "form.verify .row { display: flex; gap: 6px; flex-wrap: wrap; }",
    "form.verify .send { padding: 8px 12px; }",
    ".verify .fix { color: #b42318; font-size: 13px; margin: 0; }",
    ".verify .fix:empty { display: none; }",
    ".queue { font-size: 13px; color: #1f2328; background: #e6ecff; padding: 6px 14px; display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }",
    ".queue[hidden] { display: none; }",
    ".queue span { flex: 1; }",
    ".queue button { font: inherit; font-size: 13px; border: 1px solid #3451b2; background: #fff; color: #3451b2; border-radius: 14px; padding: 2px 10px; cursor: pointer; }",
    ".agent .who { display: block; font-size: 12px; font-weight: 600; color: #3451b2; margin-bottom: 2px; }",
    ".typing { display: flex; gap: 4px; align-items: center; padding: 10px 12px; }",
    ".typing i { width: 6px; height: 6px; border-radius: 50%; background: #8c959f; animation: bulle-dot 1.2s infinite ease-in-out; }",
    ".typing i:nth-child(2) { animation-delay: .2s; } .typing i:nth-child(3) { animation-delay: .4s; }",
    "@keyframes bulle-dot { 0%, 80%, 100% { opacity: .3; } 40% { opacity: 1; } }",
    "@media (prefers-reduced-motion: reduce) { .typing i { animation: none; } }",
    ".rate { display: flex; flex-direction: column; gap: 6px; margin-top: 8px; text-align: left; }",
    "form.rate { padding: 0; border: 0; background: transparent; }",
    ".rate .stars { display: flex; gap: 4px; }",
    ".rate .stars button { font: inherit; font-size: 20px; line-height: 1; border: 0; background: transparent; color: #d0d7de; cursor: pointer; padding: 2px; }",
    ".rate .stars button[aria-pressed=true] { color: #f5a623; }",
    ".rate input { font: inherit; font-size: 14px; padding: 6px 8px; border: 1px solid #d0d7de; border-radius: 8px; }",
    ".rate .row { display: flex; gap: 6px; flex-wrap: wrap; }",
    ".rate .send { padding: 8px 12px; }",
    ".rate .fix { color: #b42318; font-size: 13px; margin: 0; }",
    ".rate .fix:empty { display: none; }",
    "form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #e1e4e8; background: #fff; }",
    "textarea { flex: 1; resize: none; font: inherit; padding: 8px 10px; border: 1px solid #d0d7de; border-radius: 10px; height: 42px; max-height: 120px; }",
    ".send { font: inherit; border: 0; background: #3451b2; color: #fff; border-radius: 10px; padding: 0 14px; cursor: pointer; }",
    ".sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }",
    "@media (max-width: 480px) {",
    "  .panel { right: 0; bottom: 0; left: 0; top: 0; width: auto; height: auto; border-radius: 0; }",
    "  .panel:not([hidden]) ~ .bubble { display: none; }",
    "}"
  ].join("\n");

  // ---- state kept across page loads -------------------------------------

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

  // ---- DOM helpers -------------------------------------------------------

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === "text") e.textContent = attrs[k];
      else if (attrs[k] !== null && attrs[k] !== undefined) e.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
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
    bubble: "M12 3C6.5 3 2 6.8 2 11.5c0 2.4 1.2 4.6 3.1 6.1L4 21.5l4.6-2.3c1.1.3 2.2.5 3.4.5 5.5 0 10-3.8 10-8.5S17.5 3 12 3z",
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

  // ---- the bubble and the panel ------------------------------------------

  var host = el("div", { "data-bulle": "" });
  var root = host.attachShadow({ mode: "open" });
  if (root.adoptedStyleSheets !== undefined && window.CSSStyleSheet) {
    // A constructed sheet is not an inline <style>, so a strict
    // Content-Security-Policy on the host page does not block it.
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch (e) { root.appendChild(el("style", { text: CSS })); }
  } else {
    root.appendChild(el("style", { text: CSS }));
  }

  var transcriptBtn = el("button", { class: "tool", type: "button", "aria-label": T.transcript, title: T.transcript }, [icon("mail")]);
  var closeBtn = el("button", { class: "close", type: "button", "aria-label": T.close, text: "×" });
  var status = el("div", { class: "status", role: "status" });
  var queueText = el("span", {});
  var queueLeave = el("button", { type: "button", text: T.queueLeave });
  var queueBar = el("div", { class: "queue", role: "status", hidden: "" }, [queueText, queueLeave]);
  var log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": T.title });
  var input = el("textarea", { id: "bulle-input", rows: "1", maxlength: String(MAX_TEXT), placeholder: T.placeholder });
  var form = el("form", {}, [
    el("label", { class: "sr", for: "bulle-input", text: T.label }),
    input,
    el("button", { class: "send", type: "submit", text: T.send })
  ]);
  var panel = el("section", { class: "panel", id: "bulle-panel", role: "dialog", "aria-label": T.title, hidden: "" }, [
    el("header", {}, [
      el("div", { class: "titles" }, [el("h2", { text: T.title }), el("p", { text: T.subtitle })]),
      transcriptBtn,
      closeBtn
    ]),
    status, queueBar, log, form
  ]);
  var bubble = el("button", { class: "bubble", type: "button", "aria-label": T.open,
    "aria-expanded": "false", "aria-controls": "bulle-panel" }, [icon("bubble")]);
  var wrap = el("div", { class: "root", lang: LANG }, [panel, bubble]);
  root.appendChild(wrap);

  function open(focus) {
    panel.hidden = false;
    bubble.setAttribute("aria-expanded", "true");
    bubble.setAttribute("aria-label", T.close);
    state.open = true;
    save();
    connect();
    scrollDown();
    if (focus) input.focus();
  }

  function close() {
    panel.hidden = true;
    bubble.setAttribute("aria-expanded", "false");
    bubble.setAttribute("aria-label", T.open);
    state.open = false;
    save();
    bubble.focus();
  }

  bubble.addEventListener("click", function () { if (panel.hidden) open(true); else close(); });
  closeBtn.addEventListener("click", close);
  transcriptBtn.addEventListener("click", showTranscriptForm);
  panel.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { e.preventDefault(); close(); }
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
  });
  form.addEventListener("submit", function (e) { e.preventDefault(); submit(); });

  function submit() {
    var text = input.value;
    if (sendMessage(text)) { input.value = ""; typed(false); }
    input.focus();
  }

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function note(text, cls, extra) {
    var n = el("div", { class: "note" + (cls ? " " + cls : ""), text: text });
    if (extra) { n.appendChild(document.createTextNode(" ")); n.appendChild(extra); }
    log.appendChild(n);
    scrollDown();
    return n;
  }

  // ---- rendering messages ------------------------------------------------

  function render() {
    log.textContent = "";
    note(T.hello, "intro");
    state.messages.forEach(function (m) { log.appendChild(renderMessage(m)); });
    state.pending.forEach(function (p) { log.appendChild(renderPending(p)); });
    refreshVerify();
    refreshChat();
    scrollDown();
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
    if (m.attachments && m.attachments.length) row.appendChild(fileButtons(m.attachments));
    return row;
  }

  function articleCard(a) {
    var href = link(a.url);
    var card = el(href ? "a" : "div", { class: "card", href: href, target: "_blank", rel: "noopener",
      "data-article-id": a.id, "data-article-lang": a.lang });
    card.appendChild(el("strong", { text: a.title }));
    if (a.heading && a.heading !== a.title) card.appendChild(el("span", { text: a.heading }));
    if (a.english_only && LANG === "fr") card.appendChild(el("em", { class: "badge", text: T.englishOnly }));
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
            Array.prototype.forEach.call(actions.querySelectorAll("button"), function (x) { x.disabled = true; });
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

  // ticketForm asks what an email ticket needs. It is not kept across
  // reloads: the ticket, once sent, is in the conversation.
  function ticketForm() {
    var id = newID();
    var email = el("input", { type: "email", name: "email", required: "", autocomplete: "email" });
    var name = el("input", { type: "text", name: "name", autocomplete: "name", maxlength: "200" });
    var topic = el("select", { name: "topic" });
    topics.forEach(function (t) { topic.appendChild(el("option", { value: t.id, text: t.label })); });
    var text = el("textarea", { name: "message", required: "", maxlength: "10000" });
    var last = state.messages.filter(function (m) { return m.role === "visitor"; }).pop();
    if (last) text.value = last.text;
    if (identity) { email.value = identity.email || ""; name.value = identity.name || ""; }
    var fix = el("p", { class: "fix", role: "alert" });
    var send = el("button", { type: "submit", class: "send", text: T.formSend });
    var form = el("form", { class: "ticket", "data-client-id": id }, [
      el("label", {}, [el("span", { text: T.formEmail }), email]),
      el("label", {}, [el("span", { text: T.formName }), name]),
      el("label", {}, [el("span", { text: T.formTopic }), topic]),
      el("label", {}, [el("span", { text: T.formMessage }), text]),
      fix, send]);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      fix.textContent = "";
      send.disabled = true;
      state.email = email.value.trim(); // prefills the transcript form
      save();
      sendFrame({ type: "ticket", client_id: id, topic: topic.value, email: email.value.trim(), name: name.value.trim(),
        text: text.value, page_url: pageURL() });
    });
    setTimeout(function () { email.focus(); }, 0);
    return form;
  }

  function voteButtons(seq) {
    var box = el("div", { class: "votes" });
    [[true, "up", T.helpful], [false, "down", T.unhelpful]].forEach(function (v) {
      var b = el("button", { type: "button", "aria-label": v[2], title: v[2], "data-helpful": String(v[0]),
        "aria-pressed": String(state.votes[seq] === v[0]) }, [icon(v[1])]);
      b.addEventListener("click", function () {
        state.votes[seq] = v[0];
        save();
        markVote(box, v[0]);
        sendFrame({ type: "vote", seq: seq, helpful: v[0] });
      });
      box.appendChild(b);
    });
    return box;
  }

  function markVote(box, helpful) {
    Array.prototype.forEach.call(box.querySelectorAll("button"), function (b) {
      b.setAttribute("aria-pressed", String(b.getAttribute("data-helpful") === String(helpful)));
    });
  }

  // ---- sending -----------------------------------------------------------

  var ws = null, ready = false, retries = 0, timer = null, pinger = null;
  var topics = []; // the ticket form's choices, from the welcome
  var identity = null; // the visitor the site's signed identity vouches for, from the welcome
  var outbox = []; // votes and person requests made while offline

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

  // ---- the connection ----------------------------------------------------

  function setStatus(text) { status.textContent = text || ""; }

  function connect() {
    if (ws || timer) return;
    setStatus(retries ? T.offline : "");
    try {
      ws = new WebSocket(WS_URL);
    } catch (e) {
      ws = null;
      schedule();
      return;
    }
    ws.onopen = function () {
      raw({ type: "hello", token: state.token || undefined, last_seq: state.lastSeq, lang: LANG, identity: IDENTITY || undefined });
    };
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
    identity = f.identity || null;
    save();
    ready = true;
    retries = 0;
    setStatus("");
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
    dropPending(f.client_id);
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
    else {
      // keep unconfirmed messages last
      var first = log.querySelector(".pending");
      log.insertBefore(row, first);
    }
    if (m.client_id) dropPending(m.client_id);
    else save();
    if (m.role === "agent") showTyping(false);
    refreshVerify();
    refreshChat();
    scrollDown();
  }

  function cssEscape(s) { return window.CSS && CSS.escape ? CSS.escape(s) : s.replace(/[^A-Za-z0-9_-]/g, ""); }

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
        raw({ type: "hello", last_seq: 0, lang: LANG, identity: IDENTITY || undefined });
        return;
      case "bad_ticket":
        var tf = log.querySelector('form.ticket[data-client-id="' + cssEscape(f.client_id || "") + '"]');
        if (tf) {
          tf.querySelector(".fix").textContent = T.formFix + f.message;
          tf.querySelector(".send").disabled = false;
          var field = tf.querySelector('[name="' + (f.field === "text" ? "message" : cssEscape(f.field || "")) + '"]');
          if (field) field.focus();
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
        verifyFailed(f);
        return;
      case "bad_identity":
        // For the site's developer: the conversation goes on, unverified.
        if (window.console) console.warn("Bulle: data-identity refused: " + f.message);
        return;
      case "bad_transcript":
      case "too_many":
      case "no_transcripts":
        transcriptFailed(f);
        return;
      case "bad_rating":
      case "not_closed":
      case "already_rated":
      case "no_chat":
        rateFailed(f);
        return;
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
      case "unavailable":
        var id = f.client_id;
        var msg = state.messages.filter(function (m) { return m.client_id === id; })[0];
        var retry = null;
        if (msg) {
          retry = el("button", { class: "retry", type: "button", text: T.retry });
          retry.addEventListener("click", function () {
            retry.disabled = true;
            sendFrameNow({ type: "message", client_id: id, text: msg.text });
          });
        }
        note(T.unavailable, "error", retry);
        return;
      default:
        note(T.error, "error");
    }
  }

  function sendFrameNow(f) { if (!raw(f)) connect(); }

  // ---- live chat ----------------------------------------------------------

  // The conversation says where a chat stands: its latest chat note. While
  // queued, a bar shows the place and the wait, with a way to leave a
  // message instead; while active, typing goes both ways; once closed, a
  // rating box and the transcript button sit under the closing note; and
  // when chat is not open, the ticket form sits under the note that says so.
  var chat = { status: "", position: 0, wait: 0, queuedSeq: 0 };
  var chatBox = null, chatAt = "";
  var agentName = "";

  function refreshChat() {
    var st = "", note = null, offer = null;
    state.messages.forEach(function (m) {
      switch (m.kind) {
        case "chat_queued": st = "queued"; note = m; offer = null; break;
        case "chat_claimed": case "chat_transferred": st = "active"; note = m; agentName = m.agent || ""; break;
        case "chat_closed": st = "closed"; note = m; break;
        case "chat_rated": if (st === "closed") st = "rated"; break;
        case "chat_converted": case "chat_abandoned": st = ""; note = null; break;
        case "chat_unavailable": offer = m.channel === "email" ? m : null; break;
        case "ticket": case "ticket_created": offer = null; break;
      }
    });
    if (st === "queued" && note.seq !== chat.queuedSeq) {
      // A new place in the queue: the note's, until a queue frame says more.
      chat.queuedSeq = note.seq;
      chat.position = note.position || 0;
      chat.wait = note.wait_s || 0;
    }
    chat.status = st;
    if (st !== "active") { showTyping(false); typed(false); }
    queueBar.hidden = st !== "queued" || !chat.position;
    if (!queueBar.hidden) {
      queueText.textContent = T.queue.replace("{n}", chat.position).replace("{w}", waitText(chat.wait));
      queueLeave.hidden = !topics.length;
    }
    var at = st === "closed" ? "rate:" + note.seq : (offer && topics.length ? "offer:" + offer.seq : "");
    if (at === chatAt && (!chatBox || log.contains(chatBox))) return;
    if (chatBox) chatBox.remove();
    chatBox = null;
    chatAt = at;
    if (!at) return;
    var row = log.querySelector('[data-seq="' + (st === "closed" ? note : offer).seq + '"]');
    if (!row) return;
    chatBox = st === "closed" ? rateBox() : ticketForm();
    row.appendChild(chatBox);
  }

  function waitText(s) {
    var min = Math.max(1, Math.ceil((s || 0) / 60));
    if (min < 60) return min + " min";
    return Math.floor(min / 60) + " h" + (min % 60 ? " " + (min % 60) + " min" : "");
  }

  // queued shows the place the server computed; position 0: out of the queue.
  function onQueue(f) {
    chat.position = f.position || 0;
    chat.wait = f.wait_s || 0;
    refreshChat();
  }

  queueLeave.addEventListener("click", function () {
    if (log.querySelector("form.ticket:not(.transcript)")) return;
    log.appendChild(ticketForm()); // the ticket, on this conversation, takes the visitor out of the queue
    scrollDown();
  });

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
    var label = agentName ? T.agentTyping.replace("{name}", agentName) : T.someoneTyping;
    if (!typingRow) {
      typingRow = el("div", { class: "msg agent typing", role: "status", "aria-label": label, title: label },
        [el("i", {}), el("i", {}), el("i", {})]);
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
    var now = Date.now();
    if (now - typingSent > 3000) { raw({ type: "typing", on: true }); typingSent = now; }
    typingIdle = setTimeout(function () { typed(false); }, 4000);
  }

  input.addEventListener("input", function () { typed(input.value.trim() !== ""); });

  // rateBox asks for 1 to 5 after the agent closed the chat, next to the
  // transcript by email.
  function rateBox() {
    var id = newID(), rating = 0;
    var stars = el("div", { class: "stars", role: "group", "aria-label": T.rateAsk });
    for (var n = 1; n <= 5; n++) {
      (function (n) {
        var b = el("button", { type: "button", "aria-pressed": "false", "aria-label": T.rateStar.replace("{n}", n),
          title: T.rateStar.replace("{n}", n), "data-rating": String(n), text: "★" });
        b.addEventListener("click", function () {
          rating = n;
          Array.prototype.forEach.call(stars.querySelectorAll("button"), function (x) {
            x.setAttribute("aria-pressed", String(Number(x.getAttribute("data-rating")) <= n));
          });
        });
        stars.appendChild(b);
      })(n);
    }
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

  // ---- verifying the ticket's address -----------------------------------

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
    var fix = el("p", { class: "fix", role: "alert" });
    b.addEventListener("click", function () {
      b.disabled = true;
      sendFrame({ type: "verify_start", client_id: newID() });
    });
    return el("div", { class: "verify" }, [b, fix]);
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
    Array.prototype.forEach.call(verifyBox.querySelectorAll("button"), function (b) { b.disabled = false; });
    var input = verifyBox.querySelector("input");
    if (input && f.code === "bad_code") { input.select(); input.focus(); }
  }

  // ---- the transcript by email, and files -------------------------------

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
    email.value = state.email || (identity && identity.email) || "";
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
    if (!href || !state.token || !window.fetch) return;
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

  // ---- start -------------------------------------------------------------

  function start() {
    document.body.appendChild(host);
    render();
    if (state.open) open(false); // as it was, without taking the page's focus
    else if (state.token) connect(); // fetch what was said while away
  }

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
