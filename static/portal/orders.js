// The order form: remove lines without a reload, number them, show amounts and the total as staff type, put focus
// on a new line's item, on the error summary after a failed save, and count characters near a field's limit.
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

  // Amounts as the server writes them (core/money.py): the user's locale and the customer's currency, e.g.
  // "1 777,50 kr" or "NOK 1,777.50". The form carries both (data-locale, data-currency).
  function format(value) {
    const form = document.getElementById("order-form");
    const locale = (form && form.dataset.locale) || undefined;
    const currency = (form && form.dataset.currency) || "";
    const norwegian = (locale || "").toLowerCase().indexOf("nb") === 0;
    const digits = { minimumFractionDigits: 2, maximumFractionDigits: 2 };
    try {
      const display = norwegian && currency === "NOK" ? "symbol" : "code";
      const options = Object.assign({ style: "currency", currency: currency, currencyDisplay: display }, digits);
      return new Intl.NumberFormat(locale, options).format(value);
    } catch (error) {
      // Not a currency code Intl knows: the number, and the code where the server puts it.
      const number = new Intl.NumberFormat(locale, digits).format(value);
      if (!currency) return number;
      return norwegian ? number + "\u00a0" + currency : currency + "\u00a0" + number;
    }
  }

  // Picking a customer: amounts switch to that customer's currency (the tenant's default when Visma gave none).
  document.addEventListener("change", function (event) {
    const input = event.target.closest && event.target.closest('[data-combobox="customers"]');
    const form = document.getElementById("order-form");
    if (!input || !form) return;
    const hidden = document.getElementById(input.dataset.comboboxValue);
    const list = document.getElementById(input.getAttribute("aria-controls"));
    const picked = hidden && hidden.value ? '[data-value="' + CSS.escape(hidden.value) + '"]' : "";
    const option = picked && list && list.querySelector(picked);
    if (!option) return;
    form.dataset.currency = option.dataset.currency || form.dataset.defaultCurrency || form.dataset.currency;
    showCurrency(option.dataset.currency ? "customer" : "missing");
    refresh();
  });

  // The currency line near the total: the code, and whether it is the customer's (the order is sent in it).
  function showCurrency(when) {
    const line = document.getElementById("order-currency");
    const form = document.getElementById("order-form");
    if (!line || !form) return;
    line.querySelector("[data-currency-code]").textContent = form.dataset.currency;
    line.querySelectorAll("[data-currency-when]").forEach(function (part) {
      part.hidden = part.dataset.currencyWhen !== when;
    });
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

  // "Add line": the new row's item field takes focus, so staff type on without reaching for the mouse.
  document.addEventListener("htmx:afterSettle", function (event) {
    refresh();
    countAll();
    if (event.detail && event.detail.target && event.detail.target.id === "order-lines") {
      const added = rows().pop();
      const item = added && added.querySelector('[name$="-inventory_id"]');
      if (item) item.focus();
    }
  });

  // The error summary's links put focus on their field (a plain #link would only scroll to it).
  document.addEventListener("click", function (event) {
    const link = event.target.closest("[data-focus-field]");
    if (!link) return;
    const field = document.getElementById(link.dataset.focusField);
    if (!field) return;
    event.preventDefault();
    field.focus();
    field.scrollIntoView({ block: "center" });
  });

  // Fields with data-maxlength (instead of maxlength, which cuts pasted text silently) count characters near the
  // limit and say how many are too many. Very short fields (an order type) only speak up when over the limit.
  const NEAR_LIMIT = 0.8;
  const COUNT_FROM = 10;

  function count(field) {
    const limit = Number(field.dataset.maxlength);
    if (!limit) return;
    const id = field.id + "-count";
    let counter = document.getElementById(id);
    const length = field.value.length;
    if (length <= limit && (length < limit * NEAR_LIMIT || limit < COUNT_FROM)) {
      if (counter) counter.hidden = true;
      return;
    }
    if (!counter) {
      counter = document.createElement("div");
      counter.id = id;
      counter.className = "form-text char-count";
      counter.setAttribute("aria-live", "polite");
      field.insertAdjacentElement("afterend", counter);
      const described = (field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      described.push(id);
      field.setAttribute("aria-describedby", described.join(" "));
    }
    counter.hidden = false;
    const over = length - limit;
    counter.classList.toggle("text-danger", over > 0);
    counter.textContent = over > 0
      ? length + " of " + limit + " characters: " + over + " too many"
      : length + " of " + limit + " characters";
  }

  function countAll() {
    document.querySelectorAll("#order-form [data-maxlength]").forEach(count);
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("#order-form [data-maxlength]")) count(event.target);
  });

  document.addEventListener("DOMContentLoaded", function () {
    refresh();
    countAll();
    const summary = document.querySelector("[data-error-summary]");
    if (summary) summary.focus();
  });
})();
