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

  // <form data-submit-once> is sent once: a second click while the first is on its way does nothing. (The clicked
  // button is not disabled, which would drop its name and value from what is sent.)
  document.addEventListener("submit", function (event) {
    const form = event.target.closest("form[data-submit-once]");
    if (!form) return;
    if (form.dataset.submitting) {
      event.preventDefault();
      return;
    }
    form.dataset.submitting = "1";
    form.querySelectorAll('button[type="submit"]').forEach(function (button) {
      button.classList.add("disabled");
      button.setAttribute("aria-disabled", "true");
    });
  });
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-submit-once]").forEach(function (form) {
      delete form.dataset.submitting;
      form.querySelectorAll('button[type="submit"]').forEach(function (button) {
        button.classList.remove("disabled");
        button.removeAttribute("aria-disabled");
      });
    });
  });

  // <input type="checkbox" data-check-all="name"> toggles every checkbox named `name`.
  document.addEventListener("change", function (event) {
    const el = event.target.closest("[data-check-all]");
    if (!el) return;
    document.querySelectorAll('input[type="checkbox"][name="' + el.dataset.checkAll + '"]').forEach(function (box) {
      box.checked = el.checked;
    });
  });
})();
