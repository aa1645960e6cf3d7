// The two logins every journey starts with (templates/citizen_web/_login_steps.html): the super-app
// (its own page at the gateway, then back here), then this app's own login for the department.
// `onReady()` runs once both are done, on this visit or after coming back from a login.
import { inspection } from "./courier.js";
import { $, act, hide, renderSeen, show } from "./ui.js";
import {
  currentPersona,
  departmentTitle,
  departmentToken,
  here,
  logInForDepartment,
  logInToSuperApp,
  rememberPersona,
  superAppProfile,
} from "./session.js";

window.citygateCourier = inspection; // tests check the reply key is non-extractable

// `department`: the one department the journey asks; or `departments`, several, logged in for one
// after the other (the button names the next one).
export async function startJourney({ department, departments = [department], onReady }) {
  renderSeen();
  $("persona").value = currentPersona();
  const persona = () => $("persona").value.trim();
  const withPersona = () => {
    const path = window.location.pathname;
    return persona() ? `${path}?persona=${encodeURIComponent(persona())}` : path;
  };
  const missing = () => departments.filter((name) => !departmentToken(name));
  act("login-super-app", async () => {
    rememberPersona(persona());
    logInToSuperApp(withPersona(), persona());
  });
  act("login-department", () => logInForDepartment(missing()[0], persona(), here()));

  const profile = await superAppProfile();
  if (!profile) return;
  hide("step-start");
  $("super-app-who").textContent = `You are logged in to the super-app. It knows you as ${profile.sub}.`;
  show("step-device");
  const left = missing();
  if (left.length) {
    if (left.length < departments.length) {
      $("login-department").textContent = `Log in for ${departmentTitle(left[0])} (${departments.length - left.length + 1} of ${departments.length})`;
    }
    return;
  }
  hide("login-department");
  const titles = departments.map(departmentTitle);
  const named = titles.length > 1 ? `${titles.slice(0, -1).join(", ")} and ${titles.at(-1)}` : titles[0];
  $("device-done").textContent = `Your app holds keys that only ${named} accept (one each), for a few minutes.`;
  show("device-done");
  await onReady();
}
