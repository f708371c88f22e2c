// Comboboxes with a list of suggestions, after the ARIA 1.2 combobox pattern (list autocomplete, no automatic
// selection). Markup: <input role="combobox" aria-controls="LIST" aria-expanded="false" data-combobox="KIND"> and
// <ul role="listbox" id="LIST" hidden>. Typing filters, ArrowDown/ArrowUp move through the options, Enter picks the
// highlighted option (or the only one) and never submits the form, Escape closes, a click picks.
// KIND "customers": options come from the server (data-source, HTML <li role="option" data-value>) and the picked
// value goes to the hidden input named by data-combobox-value. KIND "items": options come from the
// <datalist id="inventory-items"> the page loads once; picking fills the line's description.
(function () {
  "use strict";

  const MAX_ITEMS_SHOWN = 30;
  const state = new WeakMap(); // input -> {timer, request, pickSingle}

  function info(input) {
    if (!state.has(input)) state.set(input, { timer: null, request: 0, pickSingle: false });
    return state.get(input);
  }

  function listbox(input) {
    return document.getElementById(input.getAttribute("aria-controls"));
  }

  function options(input) {
    const list = listbox(input);
    return list ? Array.prototype.slice.call(list.querySelectorAll('[role="option"]:not([aria-disabled="true"])')) : [];
  }

  function isOpen(input) {
    return input.getAttribute("aria-expanded") === "true";
  }

  // Under the input, or above it when there is more room there (a line near the bottom of the screen).
  function place(input) {
    const list = listbox(input);
    const box = input.getBoundingClientRect();
    const below = window.innerHeight - box.bottom - 8;
    const above = box.top - 8;
    const up = below < 160 && above > below;
    list.style.maxHeight = Math.max(Math.min(256, up ? above : below), 96) + "px";
    list.style.top = up ? "" : box.bottom + "px";
    list.style.bottom = up ? window.innerHeight - box.top + "px" : "";
    list.style.left = box.left + "px";
    list.style.minWidth = box.width + "px";
  }

  // One polite status line for screen readers: how many matches the open list holds.
  function announce(text) {
    let status = document.getElementById("combobox-status");
    if (!status) {
      status = document.createElement("div");
      status.id = "combobox-status";
      status.className = "visually-hidden";
      status.setAttribute("role", "status");
      document.body.append(status);
    }
    status.textContent = text;
  }

  function open(input) {
    const list = listbox(input);
    if (!list || !list.children.length) return close(input);
    place(input);
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    const count = options(input).length;
    announce(count ? count + (count === 1 ? " match" : " matches") + ", arrow keys to choose" : "No matches");
  }

  function close(input) {
    const list = listbox(input);
    if (list) list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    highlight(input, null);
  }

  function highlight(input, option) {
    options(input).forEach(function (each) {
      const active = each === option;
      each.setAttribute("aria-selected", active ? "true" : "false");
      each.classList.toggle("active", active);
    });
    if (option) {
      input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function active(input) {
    const id = input.getAttribute("aria-activedescendant");
    return id ? document.getElementById(id) : null;
  }

  function move(input, step) {
    if (!isOpen(input)) {
      load(input, function () {
        const all = options(input);
        open(input);
        highlight(input, step > 0 ? all[0] : all[all.length - 1]);
      });
      return;
    }
    const all = options(input);
    if (!all.length) return;
    const index = all.indexOf(active(input));
    const next = index < 0 ? (step > 0 ? 0 : all.length - 1) : (index + step + all.length) % all.length;
    highlight(input, all[next]);
  }

  function pick(input, option) {
    const kind = input.dataset.combobox;
    if (kind === "customers") {
      input.value = option.textContent.trim();
      const hidden = document.getElementById(input.dataset.comboboxValue);
      if (hidden) hidden.value = option.dataset.value;
    } else {
      input.value = option.dataset.value;
      const row = input.closest("[data-line]");
      const description = row && row.querySelector('[name$="-description"]');
      if (description && option.dataset.description) {
        description.value = option.dataset.description;
        description.dispatchEvent(new Event("input", { bubbles: true }));
      }
    }
    close(input);
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  // Fill the listbox for what the input holds now, then call `then`.
  function load(input, then) {
    const list = listbox(input);
    if (!list) return;
    const query = input.value.trim();
    if (input.dataset.combobox === "customers") {
      const ticket = ++info(input).request;
      const url = input.dataset.source + "&q=" + encodeURIComponent(query);
      fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } })
        .then(function (response) {
          return response.ok ? response.text() : "";
        })
        .then(function (html) {
          if (ticket !== info(input).request) return; // an answer for older text
          list.innerHTML = html;
          if (then) then();
        })
        .catch(function () {});
      return;
    }
    list.replaceChildren();
    const needle = query.toLowerCase();
    const source = document.querySelectorAll("#inventory-items option");
    let shown = 0;
    for (let i = 0; i < source.length && shown < MAX_ITEMS_SHOWN; i++) {
      const id = source[i].value;
      const description = source[i].textContent;
      if (needle && id.toLowerCase().indexOf(needle) < 0 && description.toLowerCase().indexOf(needle) < 0) continue;
      const option = document.createElement("li");
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      option.id = input.id + "-option-" + shown;
      option.className = "combobox-option";
      option.dataset.value = id;
      option.dataset.description = description;
      const code = document.createElement("span");
      code.className = "mono";
      code.textContent = id;
      option.append(code, description ? " " + description : "");
      list.append(option);
      shown += 1;
    }
    if (then) then();
  }

  function refreshSoon(input) {
    const data = info(input);
    clearTimeout(data.timer);
    const delay = input.dataset.combobox === "customers" ? 200 : 0;
    data.timer = setTimeout(function () {
      data.timer = null;
      load(input, function () {
        if (data.pickSingle) {
          data.pickSingle = false;
          const all = options(input);
          if (all.length === 1) return pick(input, all[0]);
        }
        if (document.activeElement === input) open(input);
      });
    }, delay);
  }

  function combobox(target) {
    return target && target.closest ? target.closest('[role="combobox"][data-combobox]') : null;
  }

  document.addEventListener("input", function (event) {
    const input = combobox(event.target);
    if (!input || input.readOnly) return;
    if (input.dataset.combobox === "customers") {
      const hidden = document.getElementById(input.dataset.comboboxValue);
      if (hidden) hidden.value = ""; // the text no longer names the picked customer
    }
    info(input).pickSingle = false;
    highlight(input, null);
    refreshSoon(input);
  });

  document.addEventListener("keydown", function (event) {
    const input = combobox(event.target);
    if (!input || input.readOnly || event.isComposing) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      move(input, event.key === "ArrowDown" ? 1 : -1);
    } else if (event.key === "Enter") {
      event.preventDefault(); // Enter in a picker picks; it never submits the order
      const data = info(input);
      const current = isOpen(input) ? active(input) : null;
      if (current) return pick(input, current);
      if (data.timer || (input.dataset.combobox === "customers" && !isOpen(input) && input.value.trim())) {
        data.pickSingle = true; // the matches for the text typed so far are still on their way
        if (!data.timer) refreshSoon(input);
        return;
      }
      const all = options(input);
      if (isOpen(input) && all.length === 1) pick(input, all[0]);
    } else if (event.key === "Escape") {
      if (isOpen(input)) {
        event.preventDefault();
        close(input);
      }
    } else if (event.key === "Tab") {
      close(input);
    }
  });

  // Picking with the mouse: keep focus in the input, then take the option clicked.
  document.addEventListener("mousedown", function (event) {
    if (event.target.closest('[role="listbox"].combobox-listbox')) event.preventDefault();
  });
  document.addEventListener("click", function (event) {
    const option = event.target.closest('.combobox-listbox [role="option"]');
    if (!option || option.getAttribute("aria-disabled") === "true") return;
    const input = document.querySelector('[aria-controls="' + option.parentElement.id + '"]');
    if (input) pick(input, option);
  });

  document.addEventListener("focusout", function (event) {
    const input = combobox(event.target);
    if (input) close(input);
  });

  function placeOpen() {
    document.querySelectorAll('[role="combobox"][aria-expanded="true"]').forEach(place);
  }
  window.addEventListener("resize", placeOpen);
  window.addEventListener("scroll", placeOpen, true);
})();
