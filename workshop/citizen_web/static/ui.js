// The page's small drawing helpers, shared by the journeys (no state: session.js holds that).
import { seenBySuperApp } from "./session.js";

export const $ = (id) => document.getElementById(id);

export function show(...ids) {
  for (const id of ids) $(id).hidden = false;
}

export function hide(...ids) {
  for (const id of ids) $(id).hidden = true;
}

export function problem(error) {
  $("problem-text").textContent = error instanceof Error ? error.message : String(error);
  $("problem").hidden = false;
  $("problem").focus();
}

// A button's click (the button or its id) runs `action`; the button is disabled meanwhile and a
// failure is shown.
export function act(button, action) {
  const element = typeof button === "string" ? $(button) : button;
  element.addEventListener("click", async () => {
    $("problem").hidden = true;
    element.disabled = true;
    try {
      await action();
    } catch (error) {
      problem(error);
      element.removeAttribute("data-next-taken"); // the stage's lock-step may try it again
    } finally {
      element.disabled = false;
    }
  });
}

export function cell(text, { numeric = false, nowrap = true, header = false } = {}) {
  const td = document.createElement(header ? "th" : "td");
  if (header) td.scope = "row";
  td.className = `govuk-table__${header ? "header" : "cell"}${numeric ? " govuk-table__cell--numeric" : ""}${nowrap ? " cw-nowrap" : ""}`;
  td.textContent = text;
  return td;
}

export function row(...cells) {
  const tr = document.createElement("tr");
  tr.className = "govuk-table__row";
  tr.append(...cells);
  return tr;
}

export function item(text) {
  const li = document.createElement("li");
  li.textContent = text;
  return li;
}

export function renderSeen() {
  const seen = seenBySuperApp();
  if (!$("seen-list")) return;
  $("seen-none").hidden = seen.length > 0;
  $("seen-list").replaceChildren(...seen.map(item));
}
