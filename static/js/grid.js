// The evaluator's scoring grid: each cell saves as it changes, from the keyboard first.
//
// - A cell is saved in the background (fetch, JSON answer); nothing in the grid is re-rendered, so
//   the focus stays where it is and text typed meanwhile (in this cell or another) is never lost.
// - On a score: 1-5 chooses it and saves. Tab goes through the score, the rationale and the evidence
//   link; Enter saves and moves to the next cell (Shift+Enter: the previous one), like a spreadsheet.
// - A rationale or a link typed before a score is kept in the cell and saved with the score: no
//   validation message for what the evaluator has not asked to save yet.
// - The progress ("N of M scores entered") follows every save.
(() => {
  "use strict";

  const grid = document.querySelector("[data-score-grid]");
  if (!grid) return;
  const cells = Array.from(grid.querySelectorAll("form.score-cell"));
  const token = document.querySelector('meta[name="csrf-token"]');
  const doneText = document.querySelector("[data-grid-done]");
  const expectedText = document.querySelector("[data-grid-expected]");
  const bar = document.querySelector("[data-grid-progress-bar]");
  const submit = document.querySelector("[data-grid-submit]");

  const state = new Map(); // form -> {busy, again, sent}
  const info = (form) => {
    if (!state.has(form)) state.set(form, { busy: false, again: false, sent: payload(form) });
    return state.get(form);
  };

  function payload(form) {
    const f = form.elements;
    return [f.value.value, f.rationale.value, f.evidence_url.value].join("\u0000");
  }

  function show(form, kind, text) {
    const box = form.querySelector(".save-state");
    form.classList.toggle("has-error", kind === "error");
    form.classList.toggle("is-saved", kind === "saved");
    form.classList.toggle("is-pending", kind === "pending");
    // The -emphasis colours keep their contrast on a knocked-out row's tinted background too.
    box.className = "small save-state" + (kind === "error" ? " text-danger-emphasis" : kind === "saved" ? " text-success-emphasis" : "");
    box.textContent = "";
    if (kind === "error") {
      const alert = document.createElement("span");
      alert.setAttribute("role", "alert");
      alert.textContent = text;
      box.appendChild(alert);
    } else {
      box.textContent = text;
    }
  }

  function progress(done, expected) {
    if (typeof done !== "number") return;
    if (doneText) doneText.textContent = String(done);
    if (expectedText) expectedText.textContent = String(expected);
    if (bar) {
      bar.max = Math.max(expected, 1);
      bar.value = done;
      bar.textContent = String(done);
    }
  }

  async function save(form) {
    const cell = info(form);
    const select = form.elements.value;
    if (!select.value) {
      if (form.dataset.saved) {
        // A saved score can change, not disappear: put it back and say so (only in this cell).
        select.value = form.dataset.saved;
        show(form, "error", "A saved score can be changed (1–5) but not cleared.");
      } else if (form.elements.rationale.value || form.elements.evidence_url.value) {
        show(form, "pending", "Kept here: saved with the score once you choose one.");
      }
      return;
    }
    if (payload(form) === cell.sent && form.dataset.saved) return; // nothing new to save
    if (cell.busy) {
      cell.again = true; // saved again, with the revision the running save brings back
      return;
    }
    cell.busy = true;
    const sending = payload(form);
    show(form, "pending", "saving…");
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": token ? token.content : "" },
      });
      let answer = null;
      if ((response.headers.get("Content-Type") || "").includes("application/json")) {
        try {
          answer = await response.json();
        } catch (error) {
          answer = null;
        }
      }
      if (!answer) {
        const why = response.redirected || response.status === 403
          ? "your session may have ended (sign in again in another tab)"
          : `the server answered ${response.status}`;
        show(form, "error", `Not saved: ${why}. Your entry is still here: change it to try again.`);
      } else {
        progress(answer.done, answer.expected);
        if (answer.score) {
          form.elements.revision.value = String(answer.score.revision);
        }
        if (answer.saved) {
          cell.sent = sending;
          form.dataset.saved = String(answer.score.value);
          show(form, "saved", "saved");
        } else {
          if (answer.score) form.dataset.saved = String(answer.score.value);
          show(form, "error", answer.error || "Not saved.");
        }
      }
    } catch (error) {
      show(form, "error", "Not saved: the connection failed. Your entry is still here: change it to try again.");
    } finally {
      cell.busy = false;
      if (cell.again) {
        cell.again = false;
        if (payload(form) !== cell.sent) save(form);
      }
    }
  }

  function move(form, step) {
    const index = cells.indexOf(form) + step;
    if (index >= 0 && index < cells.length) {
      cells[index].elements.value.focus();
    } else if (index >= cells.length && submit) {
      submit.focus();
    }
  }

  for (const form of cells) {
    info(form);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      save(form);
    });
    form.addEventListener("change", (event) => {
      if (event.target.name === "value") save(form);
      else if (event.target.name === "rationale" || event.target.name === "evidence_url") save(form);
    });
    form.addEventListener("input", (event) => {
      if (event.target.name !== "value" && payload(form) !== info(form).sent && form.dataset.saved) {
        show(form, "pending", "not saved yet: Enter or Tab saves it");
      }
    });
    form.addEventListener("keydown", (event) => {
      const target = event.target;
      if (event.key === "Enter" && !event.altKey && !event.ctrlKey && !event.metaKey) {
        event.preventDefault();
        save(form);
        move(form, event.shiftKey ? -1 : 1);
        return;
      }
      if (target.name === "value" && /^[1-5]$/.test(event.key) && !event.altKey && !event.ctrlKey && !event.metaKey) {
        event.preventDefault();
        if (target.value !== event.key) {
          target.value = event.key;
          save(form);
        }
      }
    });
  }
})();
