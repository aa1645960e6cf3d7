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

export async function startJourney({ department, onReady }) {
  renderSeen();
  $("persona").value = currentPersona();
  const persona = () => $("persona").value.trim();
  const withPersona = () => {
    const path = window.location.pathname;
    return persona() ? `${path}?persona=${encodeURIComponent(persona())}` : path;
  };
  act("login-super-app", async () => {
    rememberPersona(persona());
    logInToSuperApp(withPersona(), persona());
  });
  act("login-department", () => logInForDepartment(department, persona(), here()));

  const profile = await superAppProfile();
  if (!profile) return;
  hide("step-start");
  $("super-app-who").textContent = `You are logged in to the super-app. It knows you as ${profile.sub}.`;
  show("step-device");
  if (departmentToken(department)) {
    hide("login-department");
    $("device-done").textContent = `Your app holds a key that only ${departmentTitle(department)} accept, for a few minutes.`;
    show("device-done");
    await onReady();
  }
}
