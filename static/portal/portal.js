// Small behaviours that pages opt into with data attributes; no inline scripts (the CSP forbids them).
(function () {
  "use strict";

  // <button data-confirm="Really?"> asks before submitting its form.
  document.addEventListener("click", function (event) {
    const el = event.target.closest("[data-confirm]");
    if (el && !window.confirm(el.dataset.confirm)) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);

  // <input type="checkbox" data-check-all="name"> toggles every checkbox named `name`.
  document.addEventListener("change", function (event) {
    const el = event.target.closest("[data-check-all]");
    if (!el) return;
    document.querySelectorAll('input[type="checkbox"][name="' + el.dataset.checkAll + '"]').forEach(function (box) {
      box.checked = el.checked;
    });
  });
})();
