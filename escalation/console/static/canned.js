// Canned responses: in a form with a <select name="canned"> whose options
// carry data-body, and a <textarea name="text">, the button marked
// data-canned-insert puts the chosen response at the cursor instead of
// posting the form. Without this script the button posts the form with
// insert=1, and the page comes back with the response appended.
(function () {
  "use strict";
  document.addEventListener("click", function (ev) {
    var btn = ev.target && ev.target.closest ? ev.target.closest("button[data-canned-insert]") : null;
    if (!btn || !btn.form) {
      return;
    }
    var select = btn.form.querySelector('select[name="canned"]');
    var box = btn.form.querySelector('textarea[name="text"]');
    var option = select && select.options[select.selectedIndex];
    var body = option ? option.getAttribute("data-body") : null;
    if (!box || !body) {
      return;
    }
    ev.preventDefault();
    var start = box.selectionStart, end = box.selectionEnd, value = box.value;
    if (typeof start !== "number") {
      start = end = value.length;
    }
    box.value = value.slice(0, start) + body + value.slice(end);
    box.focus();
    box.selectionStart = box.selectionEnd = start + body.length;
    select.selectedIndex = 0;
  });
})();
