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

  // <table class="table-stack">: on a phone each row is a card of "column: value" lines (portal.css); every cell
  // gets its column's heading as data-label, also in rows htmx adds later.
  function labelCells() {
    document.querySelectorAll("table.table-stack").forEach(function (table) {
      const headings = Array.from(table.querySelectorAll("thead th")).map(function (th) {
        return th.textContent.trim();
      });
      table.querySelectorAll("tbody tr, tfoot tr").forEach(function (row) {
        let column = 0;
        Array.from(row.cells).forEach(function (cell) {
          if (!cell.dataset.label && headings[column] && cell.colSpan === 1) cell.dataset.label = headings[column];
          column += cell.colSpan;
        });
      });
    });
  }
  labelCells();
  document.addEventListener("htmx:load", labelCells);

  // <input type="checkbox" data-check-all="name"> toggles every checkbox named `name`.
  document.addEventListener("change", function (event) {
    const el = event.target.closest("[data-check-all]");
    if (!el) return;
    document.querySelectorAll('input[type="checkbox"][name="' + el.dataset.checkAll + '"]').forEach(function (box) {
      box.checked = el.checked;
    });
  });
})();
