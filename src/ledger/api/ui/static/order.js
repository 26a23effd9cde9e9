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
