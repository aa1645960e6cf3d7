// The phone's half of the workshop stage's lock-step (kernel/lockstep.py, workshop/stage/static/lockstep.js).
//
// The stage frames this page and, when the facilitator steps both phones at once, asks it for its
// next step: the page clicks its next action, as the citizen would. The next action is the first
// element marked `data-next` that is shown, enabled and not yet taken on this page (`data-next-taken`,
// set on its click, by the stage or by hand; a page may clear it when the action failed, to offer it
// again); one marked `data-journey` only in that journey (the super-app's City Services grid). The
// page tells the stage what that action is ("where"), and again whenever it changes, so the stage can
// say it under the phone.
//
// Messages count only from the stage's origin (given on this script's tag by the server) and only from
// the window that frames this page: another site cannot drive the phone, and a page that is not framed
// listens to nobody. Nothing in a message is used but its type and the journey's name.
(() => {
  const stage = document.currentScript?.dataset.stageOrigin;
  if (!stage || window.parent === window) return;

  let journey = "";
  let telling = 0;

  const shown = (element) => (element.checkVisibility ? element.checkVisibility() : element.offsetParent !== null);
  const usable = (element) =>
    !element.hasAttribute("data-next-taken") &&
    !element.disabled &&
    element.getAttribute("aria-disabled") !== "true" &&
    (!element.dataset.journey || element.dataset.journey === journey) &&
    shown(element);
  const nextAction = () => [...document.querySelectorAll("[data-next]")].find(usable) || null;
  const named = (element) => (element.textContent || "").replace(/\s+/g, " ").trim().slice(0, 120);

  let stepped = false;

  function tell() {
    telling = 0;
    const action = nextAction();
    if (action && stepped) action.scrollIntoView({ block: "center" }); // the audience sees what comes next
    stepped = false;
    window.parent.postMessage({ type: "citygate:at", next: action ? named(action) : null }, stage);
  }

  function tellSoon() {
    if (!telling) telling = window.setTimeout(tell, 150);
  }

  // an action the citizen took by hand is taken too: the next one is after it
  document.addEventListener(
    "click",
    (event) => {
      const marked = event.target instanceof Element ? event.target.closest("[data-next]") : null;
      if (marked) marked.setAttribute("data-next-taken", "");
    },
    true,
  );

  window.addEventListener("message", (event) => {
    if (event.origin !== stage || event.source !== window.parent) return;
    const message = event.data;
    if (typeof message !== "object" || message === null) return;
    if (typeof message.journey === "string" && /^[a-z-]{1,40}$/.test(message.journey)) journey = message.journey;
    if (message.type === "citygate:next") {
      const action = nextAction();
      if (action) action.click();
      stepped = true;
      tellSoon();
    } else if (message.type === "citygate:where") {
      tell();
    }
  });

  // the page's own script shows, hides, enables and disables steps: say the new next action
  new MutationObserver(tellSoon).observe(document.documentElement, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ["hidden", "disabled", "class", "style", "data-next-taken"],
  });
})();
