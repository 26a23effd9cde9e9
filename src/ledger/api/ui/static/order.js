// The version slider shows the number as it moves and opens that version on release.
(function () {
  "use strict";
  var slider = document.getElementById("version");
  var out = document.getElementById("version-out");
  if (!slider || !out) return;
  var latest = slider.max;
  slider.addEventListener("input", function () { out.textContent = slider.value + " / " + latest; });
  slider.addEventListener("change", function () { slider.form.submit(); });
})();
// Forms that record something: after the first submit, their buttons wait for
// the answer (the form's one-time key already makes a second submit harmless).
(function () {
  "use strict";
  document.querySelectorAll("form.command-form").forEach(function (form) {
    form.addEventListener("submit", function () {
      setTimeout(function () {
        form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      }, 0);
    });
  });
})();
// "Add a row" without a round trip: a copy of the last row, renumbered and empty.
// Without script the button posts the form back and the page adds the row.
(function () {
  "use strict";
  document.querySelectorAll("fieldset.rows button[name=_add]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      var body = button.closest("fieldset").querySelector("tbody");
      var last = body && body.lastElementChild;
      if (!last) return;
      event.preventDefault();
      var next = body.children.length;
      var row = last.cloneNode(true);
      row.querySelectorAll("input, select, textarea").forEach(function (input) {
        input.name = input.name.replace(/\.\d+\./, "." + next + ".");
        var label = input.getAttribute("aria-label");
        if (label) input.setAttribute("aria-label", label.replace(/\d+$/, String(next + 1)));
        if (input.type === "checkbox") input.checked = false; else input.value = "";
        input.removeAttribute("aria-invalid");
      });
      row.querySelectorAll(".field-error").forEach(function (e) { e.remove(); });
      body.appendChild(row);
      var first = row.querySelector("input, select");
      if (first) first.focus();
    });
  });
})();
