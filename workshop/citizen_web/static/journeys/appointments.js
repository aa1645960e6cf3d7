// The civil-registry appointment, in this browser: the super-app fetches the free divorce slots with
// its own key; this app books through the blind courier as the bureau's pseudonym for the citizen;
// the other spouse, in their own app (another phone, or this one with ?persona=), finds the booking
// waiting and confirms it, through the courier too. Nobody asks about anyone's fines.
import { startJourney } from "../journey_page.js";
import { askDepartment, config, departmentSubject, recordSeen, traced } from "../session.js";
import { $, act, hide, item, renderSeen, show } from "../ui.js";

const DEPARTMENT = "appointments";
const KIND = "divorce";

function when(iso) {
  return new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: "Asia/Shanghai" });
}

function describe(booking) {
  const partner = booking.partner_confirmed ? "your partner has confirmed" : `waiting for the partner until ${when(booking.confirm_by)}`;
  return `${booking.type} at ${booking.office_id}, ${when(booking.starts_at)}: ${booking.status} (${partner}). Reference ${booking.id}.`;
}

function bookingItem(booking) {
  const entry = item(`${booking.role === "partner" ? "You are the partner" : "You booked"}: ${describe(booking)}`);
  entry.className = "cw-booking";
  if (booking.awaiting_your_confirmation) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "govuk-button";
    button.id = `confirm-${booking.id}`;
    button.textContent = "Confirm this booking";
    button.dataset.next = ""; // the stage's lock-step takes it (kernel/static/lockstep.js)
    entry.append(document.createElement("br"), button);
    act(button, () => confirm(booking));
  }
  return entry;
}

async function myBookings() {
  const bookings = await askDepartment(DEPARTMENT, "GET", "/me/bookings");
  renderSeen();
  $("no-bookings").hidden = bookings.length > 0;
  $("bookings-list").replaceChildren(...bookings.map(bookingItem));
}

async function confirm(booking) {
  const confirmed = await askDepartment(DEPARTMENT, "POST", `/me/bookings/${encodeURIComponent(booking.id)}/confirmations`, {});
  renderSeen();
  $("booked-text").textContent = `You confirmed: ${describe(confirmed)}`;
  $("booked").querySelector("h2").textContent = "Appointment confirmed";
  show("step-slots", "booked");
  hide("find-slots", "slots-group", "book");
  await myBookings();
}

function slotChoice(slot, index) {
  const choice = document.createElement("div");
  choice.className = "govuk-radios__item";
  const input = document.createElement("input");
  Object.assign(input, { className: "govuk-radios__input", type: "radio", name: "slot", id: `slot-${slot.id}`, value: String(slot.id), checked: index === 0 });
  const label = document.createElement("label");
  label.className = "govuk-label govuk-radios__label";
  label.htmlFor = input.id;
  label.textContent = `${when(slot.starts_at)} at ${slot.office_id} (${slot.free} free)`;
  choice.append(input, label);
  return choice;
}

async function findSlots() {
  const query = new URLSearchParams({ type: KIND });
  const answer = await fetch(`${config.gatewayUrl}/city-services/appointments/slots?${query}`, {
    credentials: "include",
    headers: traced(),
  });
  const slots = await answer.json();
  if (!answer.ok) throw new Error(`The super-app found no slots: ${slots.detail || answer.status}.`);
  recordSeen(`a question in clear: free ${KIND} slots (${slots.length} found); it keeps nothing`);
  renderSeen();
  if (!slots.length) throw new Error("The bureau offers no free divorce slot.");
  $("slots").replaceChildren(...slots.slice(0, 5).map(slotChoice));
  show("slots-group", "book");
}

async function book() {
  const chosen = document.querySelector("input[name=slot]:checked");
  if (!chosen) throw new Error("Choose a slot first.");
  const booking = await askDepartment(DEPARTMENT, "POST", "/me/bookings", { slot_id: Number(chosen.value), type: KIND });
  renderSeen();
  $("booked-text").textContent = describe(booking);
  hide("book", "slots-group", "find-slots");
  show("booked");
  await myBookings();
}

act("my-bookings", myBookings);
act("find-slots", findSlots);
act("book", book);
await startJourney({
  department: DEPARTMENT,
  onReady: () => {
    $("registry-knows").textContent = `The civil registry knows you only as ${departmentSubject(DEPARTMENT)} (its own pseudonym for you).`;
    show("step-bookings", "step-slots");
  },
});
