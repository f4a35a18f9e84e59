// The console's live-chat pages over the console socket (docs/console.md).
// The chats page keeps the queue, the agent's chats and every chat under
// way current from the server's queue frames. A conversation page follows
// its conversation from the last seq it shows, so a reconnect replays
// exactly what it missed; it claims, replies, hands over and ends the
// chat, and shows the visitor typing; its note box adds an internal note
// without leaving the page. Every frame also goes to the page's other
// scripts as a "bulle:frame" event (alert.js: the title's count of chats
// waiting, the new-chat banner). Every text from the server is set with
// textContent: a message holding markup shows as that markup.
(function () {
  "use strict";
  var main = document.getElementById("chat");
  var meta = document.querySelector('meta[name="bulle-csrf"]');
  if (!main || !meta || !window.WebSocket) {
    return;
  }
  var data = main.dataset;
  var lang = document.documentElement.lang;
  var me = Number(data.me);
  var convId = Number(data.conversation || 0);
  var lastSeq = Number(data.lastSeq || 0);
  var ws = null;
  var delay = 1000;
  var leaving = false;
  var chat = null; // where this page's chat stands, from chat frames
  var pending = {}; // client_id → {text, el, acked}: kept until stored, resent after a reconnect
  var statusTimer = null;
  var heard = 0; // when the server was last heard

  // word reads a translation from the page: word("not_holder") is data-t-not-holder.
  function word(key) {
    var k = ("t-" + key.replace(/_/g, "-")).replace(/-([a-z])/g, function (_, c) { return c.toUpperCase(); });
    return data[k] || "";
  }
  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) {
      e.className = className;
    }
    if (text !== undefined && text !== null) {
      e.textContent = String(text);
    }
    return e;
  }
  function showStatus(text) {
    var s = document.getElementById("status");
    if (!s) {
      return;
    }
    s.textContent = text;
    s.hidden = !text;
    clearTimeout(statusTimer);
    if (text) {
      statusTimer = setTimeout(function () { s.hidden = true; }, 8000);
    }
  }
  function showPresence(status) {
    var p = document.getElementById("presence");
    if (p) {
      p.textContent = p.getAttribute("data-text-" + status) || status;
      p.className = "presence " + status;
    }
  }
  function localTime(iso) {
    var d = new Date(iso);
    if (isNaN(d)) {
      return "";
    }
    return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }
  // waitText says a wait as the server does: whole minutes, then hours.
  function waitText(s) {
    var m = Math.ceil(Math.max(s, 60) / 60);
    if (m < 60) {
      return m + " min";
    }
    return Math.floor(m / 60) + " h" + (m % 60 ? " " + (m % 60) + " min" : "");
  }
  function send(frame) {
    if (ws && ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }
  function newId() {
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return x.toString(16).padStart(2, "0"); }).join("");
  }

  // The chats page.
  var waitBase = Date.now();
  function row(c) {
    var li = el("li", "chat");
    li.setAttribute("data-conversation", c.conversation_id);
    var a = el("a", "open", "#" + c.conversation_id);
    a.href = "/console/chats/" + encodeURIComponent(c.conversation_id) + "?lang=" + encodeURIComponent(lang);
    li.appendChild(a);
    li.appendChild(el("span", "lang", c.lang));
    if (c.verified) {
      var b = el("span", "badge verified", word("verified"));
      if (c.verified_email) {
        b.title = c.verified_email;
      }
      li.appendChild(b);
    }
    if (c.topic) {
      li.appendChild(el("span", "topic", c.topic));
    }
    if (c.status === "queued") {
      var w = el("span", "wait", word("waiting") + " " + waitText(c.wait_s || 0));
      w.setAttribute("data-wait-s", c.wait_s || 0);
      li.appendChild(w);
    } else {
      li.appendChild(el("span", "agent", word("with") + " " + (c.agent || "")));
    }
    if (c.page_url && /^https?:\/\//i.test(c.page_url)) {
      var p = el("a", "page-url", c.page_url);
      p.href = c.page_url;
      p.target = "_blank";
      p.rel = "noopener noreferrer";
      li.appendChild(p);
    }
    return li;
  }
  function fill(id, chats, emptyKey) {
    var ul = document.getElementById(id);
    if (!ul) {
      return;
    }
    ul.replaceChildren();
    chats.forEach(function (c) { ul.appendChild(row(c)); });
    if (!chats.length) {
      ul.appendChild(el("li", "empty", word(emptyKey)));
    }
    var n = document.getElementById(id + "-count");
    if (n) {
      n.textContent = String(chats.length);
    }
  }
  function showQueue(f) {
    if (data.page !== "chats") {
      return;
    }
    var queued = f.chats || [];
    var active = f.active || [];
    waitBase = Date.now();
    fill("queue", queued, "queue_empty");
    fill("mine", active.filter(function (c) { return c.agent_id === me; }), "mine_empty");
    fill("active", active, "active_empty");
  }
  // Waits grow between queue frames.
  setInterval(function () {
    var extra = (Date.now() - waitBase) / 1000;
    document.querySelectorAll(".wait[data-wait-s]").forEach(function (w) {
      w.textContent = word("waiting") + " " + waitText(Number(w.getAttribute("data-wait-s")) + extra);
    });
  }, 15000);

  // The conversation page.
  var lines = document.getElementById("lines");
  var typingEl = document.getElementById("typing");
  var form = document.getElementById("reply");
  var text = document.getElementById("reply-text");
  var typingTimer = null;
  function who(m) {
    switch (m.role) {
    case "visitor": return word("visitor");
    case "bot": return word("bot");
    case "agent": return m.agent || word("agent");
    }
    return "";
  }
  function line(m) {
    var role = ["visitor", "bot", "agent", "system"].indexOf(m.role) >= 0 ? m.role : "system";
    var li = el("li", "line " + role);
    li.setAttribute("data-seq", m.seq);
    li.setAttribute("data-kind", m.kind || "");
    var name = who(m);
    if (name) {
      li.appendChild(el("span", "who", name));
    }
    var t = el("time", "", localTime(m.created_at));
    t.setAttribute("datetime", m.created_at || "");
    li.appendChild(t);
    li.appendChild(el("p", "text", m.text));
    if (m.quote) {
      li.appendChild(el("blockquote", "quote", m.quote));
    }
    if (m.article && m.article.title) {
      var p = el("p", "article");
      if (m.article.url && m.article.url.charAt(0) === "/" && m.article.url.charAt(1) !== "/") {
        var a = el("a", "", m.article.title);
        a.href = m.article.url;
        a.target = "_blank";
        a.rel = "noopener noreferrer";
        p.appendChild(a);
      } else {
        p.textContent = m.article.title;
      }
      li.appendChild(p);
    }
    return li;
  }
  function atBottom() {
    return window.innerHeight + window.scrollY >= document.body.scrollHeight - 80;
  }
  function append(li) {
    var follow = atBottom();
    var firstPending = lines.querySelector(".line.pending");
    lines.insertBefore(li, firstPending); // stored messages go before the ones still on their way
    if (follow) {
      li.scrollIntoView({block: "end"});
    }
  }
  function showMessage(m) {
    if (!lines || m.conversation_id !== convId || m.seq <= lastSeq) {
      return; // another conversation, or one this page has
    }
    if (m.client_id && pending[m.client_id]) {
      pending[m.client_id].el.remove();
      delete pending[m.client_id];
    }
    append(line(m));
    lastSeq = m.seq;
    if (m.role === "visitor") {
      showTyping(null);
    }
  }
  function holder() {
    return !!chat && chat.status === "active" && chat.agent_id === me;
  }
  function showChat(c, reset) {
    if (c.conversation_id !== convId) {
      return;
    }
    if (reset && lines) {
      lines.querySelectorAll(".line:not(.pending)").forEach(function (x) { x.remove(); });
      lastSeq = 0;
    }
    chat = c;
    var st = document.getElementById("chat-status");
    if (st) {
      st.textContent = word(c.status) || c.status;
      st.setAttribute("data-status", c.status);
    }
    var ag = document.getElementById("chat-agent");
    if (ag) {
      ag.textContent = c.agent ? word("with") + " " + c.agent : "";
    }
    var claim = document.getElementById("claim");
    if (claim) {
      claim.hidden = c.status !== "queued";
    }
    var actions = document.getElementById("holder-actions");
    if (actions) {
      actions.hidden = !holder();
    }
    if (form) {
      form.hidden = !holder();
    }
  }
  function showTyping(f) {
    if (!typingEl) {
      return;
    }
    clearTimeout(typingTimer);
    var on = !!f && f.on && (f.role === "visitor" || !holder());
    typingEl.textContent = on ? word(f.role === "visitor" ? "typing" : "agent_typing") : "";
    typingEl.hidden = !on;
    if (on) {
      typingTimer = setTimeout(function () { typingEl.hidden = true; }, 6000);
    }
  }
  function sendPending(id) {
    var p = pending[id];
    send({type: "message", conversation_id: convId, client_id: id, text: p.text});
  }

  // The agent's typing: on at most every 3 s while keys are pressed, off
  // after 4 idle seconds or with the message.
  var typingOn = false;
  var typingSent = 0;
  var idleTimer = null;
  function stopTyping() {
    clearTimeout(idleTimer);
    if (typingOn) {
      typingOn = false;
      send({type: "typing", conversation_id: convId, on: false});
    }
  }
  if (form && text) {
    text.addEventListener("input", function () {
      if (!holder()) {
        return;
      }
      var now = Date.now();
      if (!typingOn || now - typingSent > 3000) {
        typingOn = send({type: "typing", conversation_id: convId, on: true});
        typingSent = now;
      }
      clearTimeout(idleTimer);
      idleTimer = setTimeout(stopTyping, 4000);
    });
    text.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var t = text.value.trim();
      if (!t) {
        return;
      }
      var id = newId();
      var li = line({role: "agent", seq: "", kind: "text", text: t, agent: "", created_at: new Date().toISOString()});
      li.classList.add("pending");
      li.setAttribute("data-client-id", id);
      lines.appendChild(li);
      li.scrollIntoView({block: "end"});
      pending[id] = {text: t, el: li};
      text.value = "";
      stopTyping();
      sendPending(id);
    });
  }
  function onClick(id, f) {
    var b = document.getElementById(id);
    if (b) {
      b.addEventListener("click", f);
    }
  }
  onClick("claim", function () { send({type: "claim", conversation_id: convId}); });
  var transferTo = 0; // the agent of the last transfer asked, until its answer
  onClick("transfer", function () {
    var to = Number(document.getElementById("transfer-to").value);
    if (to > 0 && send({type: "transfer", conversation_id: convId, to_agent_id: to})) {
      transferTo = to;
    }
  });
  // An agent removed since the page was drawn leaves the picker.
  function dropTransferOption(id) {
    var sel = document.getElementById("transfer-to");
    var opt = sel && sel.querySelector('option[value="' + Number(id) + '"]');
    if (opt) {
      opt.remove();
    }
  }
  // Ending a chat takes two clicks: the first asks.
  onClick("close", function (ev) {
    var b = ev.currentTarget;
    if (b.getAttribute("data-armed") !== "1") {
      b.setAttribute("data-armed", "1");
      b.setAttribute("data-label", b.textContent);
      b.textContent = word("confirm_close");
      setTimeout(function () {
        if (b.getAttribute("data-armed") === "1") {
          b.removeAttribute("data-armed");
          b.textContent = b.getAttribute("data-label");
        }
      }, 5000);
      return;
    }
    b.removeAttribute("data-armed");
    b.textContent = b.getAttribute("data-label");
    send({type: "close", conversation_id: convId});
  });
  // The note box posts with fetch and asks for JSON: the page, its socket
  // and the reply being typed stay. Without script the form posts and the
  // page comes back with the note.
  var noteForm = document.getElementById("note-form");
  var noteText = document.getElementById("note-text");
  var noticeTimer = null;
  function showNotice(text) {
    var n = document.getElementById("notice");
    if (!n) {
      return;
    }
    n.textContent = text;
    n.hidden = !text;
    clearTimeout(noticeTimer);
    if (text) {
      noticeTimer = setTimeout(function () { n.hidden = true; }, 5000);
    }
  }
  function addNote(n) {
    var list = document.getElementById("notes-list");
    if (!list) {
      return;
    }
    var empty = list.querySelector(".empty");
    if (empty) {
      empty.remove();
    }
    var li = el("li", "note");
    li.appendChild(el("span", "who", n.agent));
    li.appendChild(document.createTextNode(" "));
    var t = el("time", "", localTime(n.created_at));
    t.setAttribute("datetime", n.created_at || "");
    li.appendChild(t);
    li.appendChild(el("p", "text", n.body));
    list.appendChild(li);
    var count = document.getElementById("notes-count");
    if (count) {
      count.textContent = String(list.querySelectorAll(".note").length);
    }
  }
  if (noteForm && noteText && window.fetch) {
    noteForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (!noteText.value.trim()) {
        showStatus(word("note_invalid"));
        return;
      }
      var button = noteForm.querySelector('button[type="submit"]');
      button.disabled = true;
      // manual: a session that ended answers with a redirect to sign in,
      // which must not be read as the note.
      fetch(noteForm.action, {method: "POST", body: new URLSearchParams(new FormData(noteForm)),
        headers: {"Accept": "application/json"}, credentials: "same-origin", redirect: "manual"})
        .then(function (res) {
          if (!res.ok) {
            throw res.status;
          }
          return res.json();
        })
        .then(function (n) {
          addNote(n);
          noteText.value = "";
          showNotice(word("noted"));
        })
        .catch(function (status) {
          showStatus(word(status === 403 ? "expired" : status === 422 ? "note_invalid" : status === 404 ? "not_found" : "failed"));
        })
        .then(function () { button.disabled = false; });
    });
  }
  document.querySelectorAll("time[datetime]").forEach(function (t) {
    var s = localTime(t.getAttribute("datetime"));
    if (s) {
      t.textContent = s;
    }
  });

  function onError(f) {
    if (f.code === "agent_gone" && transferTo) {
      dropTransferOption(transferTo);
      transferTo = 0;
    }
    var p = f.client_id && pending[f.client_id];
    if (p && f.code === "rate_limited") {
      setTimeout(function () { if (pending[f.client_id]) { sendPending(f.client_id); } }, 1000);
      return;
    }
    if (p) {
      p.el.classList.add("failed");
      delete pending[f.client_id];
    }
    showStatus(word(f.code) || word("failed"));
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(scheme + location.host + "/console/events?csrf=" + encodeURIComponent(meta.content));
    ws.onopen = function () {
      delay = 1000;
      heard = Date.now();
      showStatus("");
      if (convId) {
        send({type: "follow", conversation_id: convId, last_seq: lastSeq});
        Object.keys(pending).forEach(sendPending);
      }
    };
    ws.onmessage = function (ev) {
      heard = Date.now();
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      if (!f) {
        return;
      }
      document.dispatchEvent(new CustomEvent("bulle:frame", {detail: f}));
      switch (f.type) {
      case "presence": showPresence(f.status); break;
      case "queue": showQueue(f); break;
      case "chat": transferTo = 0; showChat(f.chat, f.reset); break;
      case "message": showMessage(f); break;
      case "typing": if (f.conversation_id === convId) { showTyping(f); } break;
      case "ack": break; // the message frame follows, with its client_id
      case "error": onError(f); break;
      }
    };
    ws.onclose = function (ev) {
      showPresence("offline");
      if (leaving) {
        return;
      }
      if (ev.code === 4001) {
        location.href = "/console/login?ended=1&lang=" + encodeURIComponent(lang);
        return;
      }
      showStatus(word("reconnecting"));
      // Dropped as too slow (1013): come back at once and replay.
      setTimeout(connect, ev.code === 1013 ? 200 : delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  // The server sends presence every 25 s: a socket silent for a minute
  // is dead, whatever the browser thinks; close it and reconnect.
  setInterval(function () {
    if (ws && ws.readyState === WebSocket.OPEN && Date.now() - heard > 60000) {
      ws.close();
    }
  }, 15000);
  window.addEventListener("pagehide", function () { leaving = true; });
  connect();
})();
