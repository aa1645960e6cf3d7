// Back from the identity provider: redeem the code (oauth.js), keep the department's token for this
// tab (session.js) and return to the journey that asked, off this address at once (the used code
// stays out of the history).
import { finishLogin } from "./oauth.js";
import { config, keepDepartmentToken, ownPath, traced } from "./session.js";
import { $, problem } from "./ui.js";

try {
  const login = await finishLogin(config, traced());
  if (!login) throw new Error("There is no login answer here.");
  keepDepartmentToken(login);
  window.location.replace(ownPath(login.returnQuery));
} catch (error) {
  window.history.replaceState(null, "", "/callback");
  $("callback-status").hidden = true;
  problem(error);
}
