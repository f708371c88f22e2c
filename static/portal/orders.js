// The order form: remove lines without a reload, number them, and show amounts and the total as staff type.
(function () {
  "use strict";

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#order-lines tr[data-line]"));
  }

  function number(input) {
    if (!input || input.value.trim() === "") return null;
    const value = Number(input.value.replace(/[\s\u00a0]/g, "").replace(/,/g, "."));
    return Number.isFinite(value) ? value : null;
  }

  function format(value) {
    return value.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  function refresh() {
    let total = 0;
    let position = 0;
    rows().forEach(function (row) {
      const removed = row.querySelector('input[type="checkbox"][name$="-DELETE"]');
      if (removed && removed.checked) {
        row.hidden = true;
        const errors = row.nextElementSibling;
        if (errors && errors.classList.contains("order-line-errors")) errors.hidden = true;
        return;
      }
      position += 1;
      row.querySelector("[data-line-number]").textContent = position;
      const quantity = number(row.querySelector("[data-line-quantity]"));
      const price = number(row.querySelector("[data-line-price]"));
      const cell = row.querySelector("[data-line-amount]");
      if (quantity !== null && price !== null) {
        const amount = quantity * price;
        total += amount;
        cell.textContent = format(amount);
      } else {
        cell.textContent = "—";
      }
    });
    const totalCell = document.querySelector("[data-order-total]");
    if (totalCell) totalCell.textContent = format(total);
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-remove-line]");
    if (!button) return;
    const row = button.closest("tr[data-line]");
    const removed = row.querySelector('input[type="checkbox"][name$="-DELETE"]');
    if (removed) removed.checked = true;
    refresh();
    const add = document.getElementById("add-line");
    if (add) add.focus();
  });

  document.addEventListener("input", function (event) {
    if (event.target.closest("#order-lines")) refresh();
  });

  document.addEventListener("htmx:afterSettle", refresh);
  document.addEventListener("DOMContentLoaded", refresh);
})();
