// The console's socket: while it is open the agent counts as online.
// It shows the presence the server sends; when the server closes it with
// 4001 (session ended: signed out, removed) it goes back to sign-in,
// otherwise it reconnects with growing delays. Every frame also goes to
// the page's other scripts as a "bulle:frame" event (alert.js counts and
// announces the chats waiting from the queue frames).
(function () {
  "use strict";
  var el = document.getElementById("presence");
  var meta = document.querySelector('meta[name="bulle-csrf"]');
  if (!el || !meta || !window.WebSocket) {
    return;
  }
  var delay = 1000;
  // A form of this page is being sent (sign-out, away): its answer
  // navigates; the socket closing meanwhile must not navigate elsewhere.
  var leaving = false;
  document.addEventListener("submit", function () { leaving = true; });
  function show(status) {
    el.textContent = el.getAttribute("data-text-" + status) || status;
    el.className = "presence " + status;
  }
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + "/console/events?csrf=" + encodeURIComponent(meta.content));
    ws.onopen = function () { delay = 1000; };
    ws.onmessage = function (ev) {
      var m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (!m) {
        return;
      }
      if (m.type === "presence") {
        show(m.status);
      }
      document.dispatchEvent(new CustomEvent("bulle:frame", {detail: m}));
    };
    ws.onclose = function (ev) {
      show("offline");
      if (leaving) {
        return;
      }
      if (ev.code === 4001) {
        location.href = "/console/login?ended=1&lang=" + encodeURIComponent(document.documentElement.lang);
        return;
      }
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
