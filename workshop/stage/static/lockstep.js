// The stage's half of lock-step (the phones' half: kernel/static/lockstep.js).
//
// "Next step in both phones" closes the step (as "After this step" does, so the diagrams show only
// what this step caused), then asks each phone's page to take its next step. Under each phone the
// stage says what that next step is, as the phone's page tells it; a page that tells nothing (the
// identity provider's login and consent, which run no script) is waiting for a click in the phone.
// Messages go only to the phone's own origin, and count only from the phone's frame and origin.
const button = document.getElementById("lockstep");
const frames = [...document.querySelectorAll("iframe.phone[data-origin]")];
const WAITING = "Next step: in this phone (a login or consent page takes no step from the stage).";
const DONE = "No further step from the stage here: the journey is done, or the phone waits for you.";

function say(frame, text) {
  document.getElementById(frame.dataset.status).textContent = text;
}

function ask(frame, type) {
  frame.contentWindow.postMessage({ type, journey: button.dataset.journey }, frame.dataset.origin);
}

for (const frame of frames) {
  frame.addEventListener("load", () => {
    say(frame, WAITING); // until the page, if it is a phone's own, says where it is
    ask(frame, "citygate:where");
  });
}

window.addEventListener("message", (event) => {
  const frame = frames.find((candidate) => candidate.contentWindow === event.source);
  if (!frame || event.origin !== frame.dataset.origin) return;
  const message = event.data;
  if (typeof message !== "object" || message === null || message.type !== "citygate:at") return;
  say(frame, typeof message.next === "string" && message.next ? `Next step: ${message.next}` : DONE);
});

button.addEventListener("click", async () => {
  button.disabled = true;
  try {
    // the step ends here; through htmx, so the panels and diagrams hear "step-ended" as from the other button
    await window.htmx.ajax("GET", button.dataset.step, { source: button, swap: "none" });
    for (const frame of frames) ask(frame, "citygate:next");
  } finally {
    button.disabled = false;
  }
});
