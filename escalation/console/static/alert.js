// The new-chat alert, on every console page that keeps the console socket
// open. The page's own script (console.js, chat.js) owns the socket and
// hands each frame to this one as a "bulle:frame" event on document, so a
// page opens one socket, not two. From the queue frames it
//   - counts the chats waiting in the title: "(2) Bulle console";
//   - shows a banner for each chat that enters the queue, in a live region
//     (screen readers say it), linking to the chat, until it is dismissed
//     or the chat leaves the queue;
//   - and, when the agent allowed it with the button (never asked on
//     load), a desktop notification while the tab is in the background.
// Not while the agent is away: the title still counts. No sound. Every
// text from the server is set with textContent.
(function () {
  "use strict";
  var box = document.getElementById("chat-alerts");
  if (!box) {
    return;
  }
  var lang = document.documentElement.lang;
  // The title as the server wrote it, without a count a script put there.
  var baseTitle = document.title.replace(/^\(\d+\) /, "");
  var away = false;
  var maxBanners = 5; // the title counts the rest
  // The chats this tab has already seen waiting, kept across its console
  // pages (sessionStorage is per tab), so moving from page to page does
  // not announce the same chat again, and a chat that arrived while the
  // next page loaded is still announced. Null until the first queue frame
  // of the first page: what waits then is not new, and the title says it.
  var seenKey = "bulle-console-queue";
  var seen = load();

  function load() {
    try {
      var v = JSON.parse(sessionStorage.getItem(seenKey));
      return Array.isArray(v) ? v.map(Number) : null;
    } catch (e) {
      return null; // storage refused: this page alone remembers
    }
  }
  function save(ids) {
    seen = ids;
    try {
      sessionStorage.setItem(seenKey, JSON.stringify(ids));
    } catch (e) {
      // storage refused or full: seen holds it for this page
    }
  }
  function chatURL(id) {
    return "/console/chats/" + encodeURIComponent(id) + "?lang=" + encodeURIComponent(lang);
  }
  // describe reads as the banner: "New chat waiting — FR — billing/invoice".
  function describe(c) {
    var parts = [box.dataset.tNew || "New chat waiting"];
    if (c.lang) {
      parts.push(String(c.lang).toUpperCase());
    }
    if (c.topic) {
      parts.push(String(c.topic));
    }
    return parts.join(" — ");
  }
  function banner(c) {
    var el = document.createElement("div");
    el.className = "chat-alert";
    el.setAttribute("data-conversation", c.conversation_id);
    var a = document.createElement("a");
    a.href = chatURL(c.conversation_id);
    a.textContent = describe(c);
    el.appendChild(a);
    var x = document.createElement("button");
    x.type = "button";
    x.className = "dismiss";
    x.textContent = "×";
    x.title = box.dataset.tDismiss || "Dismiss";
    x.setAttribute("aria-label", x.title);
    x.addEventListener("click", function () { el.remove(); });
    el.appendChild(x);
    return el;
  }
  function notify(c) {
    if (!("Notification" in window) || Notification.permission !== "granted" ||
        document.visibilityState === "visible") {
      return; // the banner is in front of the agent already
    }
    try {
      var n = new Notification(describe(c), {tag: "bulle-chat-" + c.conversation_id, lang: lang});
      n.onclick = function () {
        window.focus();
        location.href = chatURL(c.conversation_id);
        n.close();
      };
    } catch (e) {
      // some browsers allow notifications only from a service worker
    }
  }
  function onQueue(f) {
    var queued = f.chats || [];
    document.title = (queued.length ? "(" + queued.length + ") " : "") + baseTitle;
    var ids = queued.map(function (c) { return Number(c.conversation_id); });
    // A banner whose chat left the queue (claimed, abandoned) goes.
    box.querySelectorAll(".chat-alert").forEach(function (el) {
      if (ids.indexOf(Number(el.getAttribute("data-conversation"))) < 0) {
        el.remove();
      }
    });
    var fresh = seen === null ? [] : queued.filter(function (c) {
      return seen.indexOf(Number(c.conversation_id)) < 0;
    });
    save(ids);
    if (away) {
      return;
    }
    fresh.forEach(function (c) {
      box.appendChild(banner(c));
      notify(c);
    });
    var all = box.querySelectorAll(".chat-alert");
    for (var i = 0; i < all.length - maxBanners; i++) {
      all[i].remove();
    }
  }
  document.addEventListener("bulle:frame", function (ev) {
    var f = ev.detail;
    if (!f) {
      return;
    }
    if (f.type === "presence") {
      away = f.status === "away";
    } else if (f.type === "queue") {
      onQueue(f);
    }
  });

  // The button asks the browser's permission, on the agent's click only.
  var button = document.getElementById("notify-enable");
  function showButton() {
    if (button) {
      button.hidden = !("Notification" in window) || Notification.permission !== "default";
    }
  }
  if (button) {
    button.addEventListener("click", function () {
      var asked = Notification.requestPermission(showButton);
      if (asked && asked.then) {
        asked.then(showButton);
      }
    });
  }
  showButton();
})();
