// The fines journey, all of it in this browser: look the fines up through the blind courier, pay
// from the super-app wallet, check at the traffic police that it is paid.
import { startJourney } from "../journey_page.js";
import { askDepartment, payFromWallet, yuan } from "../session.js";
import { $, act, cell, hide, renderSeen, row, show } from "../ui.js";

const DEPARTMENT = "fines";
const FINE = "citizen-web:fine";
let finesShown = [];

function renderFines(fines) {
  $("fines-rows").replaceChildren(
    ...fines.map((fine) =>
      row(
        cell(`${fine.offence}, ${fine.place}`, { nowrap: false }),
        cell(fine.plate),
        cell(yuan(fine.amount_cents), { numeric: true }),
        cell(fine.status),
      ),
    ),
  );
  $("fines").hidden = false;
}

async function lookUp() {
  const fines = await askDepartment(DEPARTMENT, "GET", "/me/fines");
  renderSeen();
  finesShown = fines;
  renderFines(fines);
  const unpaid = fines.find((fine) => fine.status !== "paid");
  if (!unpaid) {
    $("pay-what").textContent = "You have no unpaid fine.";
    show("step-pay");
    hide("pay");
    return;
  }
  sessionStorage.setItem(FINE, JSON.stringify(unpaid));
  $("pay-what").textContent = `Pay ${yuan(unpaid.amount_cents)} for ${unpaid.offence} (${unpaid.plate}), reference ${unpaid.id}.`;
  $("pay").textContent = `Pay ${yuan(unpaid.amount_cents)} now`;
  show("step-pay");
}

async function pay() {
  const fine = JSON.parse(sessionStorage.getItem(FINE));
  const payment = await payFromWallet({ payee: DEPARTMENT, reference: String(fine.id), amount_cents: fine.amount_cents });
  renderSeen();
  $("receipt").textContent = `Paid ${yuan(payment.amount_cents)} from the wallet. Receipt: ${payment.department_receipt || payment.status}.`;
  hide("pay");
  show("receipt", "step-check");
}

async function check() {
  const fine = JSON.parse(sessionStorage.getItem(FINE));
  const answer = await askDepartment(DEPARTMENT, "GET", `/me/fines/${encodeURIComponent(fine.id)}`);
  renderSeen();
  if (answer.status !== "paid") throw new Error(`The traffic police still have the fine as ${answer.status}.`);
  $("paid-text").textContent = `The traffic police confirm fine ${answer.id} (${yuan(answer.amount_cents)}) is paid.`;
  hide("check");
  show("paid");
  renderFines(finesShown.map((shown) => (shown.id === answer.id ? answer : shown)));
}

act("look-up", lookUp);
act("pay", pay);
act("check", check);
await startJourney({ department: DEPARTMENT, onReady: () => show("step-lookup") });
