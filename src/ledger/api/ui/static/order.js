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
