// The setting as Webex holds it (organization and locations), and the Control Hub form.

import { $, onOff, page, send } from "./page.js";

export function drawSetting(before) {
  const setting = page.scene.setting;
  const old = before ? before.setting : setting;
  $("org-name").textContent = `${page.scene.orgName}, organization level`;
  const facts = [
    ["Notifications", onOff(setting.emergencyCallNotificationEnabled), "emergencyCallNotificationEnabled"],
    ["Notification email", setting.emailAddress || "—", "emailAddress"],
    ["Email for all locations", onOff(setting.allowEmailNotificationAllLocationEnabled),
      "allowEmailNotificationAllLocationEnabled"],
  ];
  $("setting").replaceChildren(...facts.flatMap(([title, value, key]) => {
    const dt = document.createElement("dt");
    dt.textContent = title;
    const dd = document.createElement("dd");
    dd.textContent = value;
    dd.dataset.field = key;
    if (old[key] !== setting[key]) dd.classList.add("changed");
    return [dt, dd];
  }));
  $("locations").replaceChildren(...page.scene.locations.map((location) => {
    const row = document.createElement("tr");
    const own = location.enabled
      ? `On, ${location.emailAddress || "no address"}` : `Off${location.emailAddress ? `, ${location.emailAddress}` : ""}`;
    for (const text of [location.name || unnamed(location.id), location.calling ? own : "No Webex Calling"]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    return row;
  }));
  drawControlHub();
}

// A location the emulator holds without a name: its id's own uuid, shortened.
function unnamed(locationId) {
  let decoded = locationId;
  try { decoded = atob(locationId); } catch (error) { /* not base64: show it as it is */ }
  return `Location ${decoded.split("/").pop().slice(0, 8)}`;
}

// Control Hub's form: the organization's setting or one Webex Calling location's.
const ORGANIZATION = "";

export function drawControlHub() {
  const where = $("ch-where");
  const chosen = where.value || ORGANIZATION;
  const targets = [[ORGANIZATION, `${page.scene.orgName} (organization)`],
    ...page.scene.locations.filter((l) => l.calling).map((l) => [l.id, l.name || unnamed(l.id)])];
  where.replaceChildren(...targets.map(([id, name]) => {
    const option = document.createElement("option");
    option.value = id;
    option.textContent = name;
    return option;
  }));
  where.value = targets.some(([id]) => id === chosen) ? chosen : ORGANIZATION;
  const person = page.scene.people.find((p) => p.name === page.person);
  $("ch-admin").textContent = person ? person.displayName : page.person;
  if (!page.controlHubTouched) fillControlHub();
}

export function fillControlHub() {
  const locationId = $("ch-where").value;
  const location = page.scene.locations.find((l) => l.id === locationId);
  const setting = page.scene.setting;
  $("ch-enabled").checked = location ? location.enabled : setting.emergencyCallNotificationEnabled;
  $("ch-email").value = location ? location.emailAddress : setting.emailAddress;
  $("ch-all").checked = setting.allowEmailNotificationAllLocationEnabled;
  $("ch-all-field").hidden = Boolean(location);
  page.controlHubTouched = false;
}

export async function saveControlHub(event) {
  event.preventDefault();
  const status = $("controlhub-status");
  status.textContent = "Saving…";
  const location = $("ch-where").value || null;
  const change = { person: page.person, location, enabled: $("ch-enabled").checked, email: $("ch-email").value };
  if (!location) change.allLocations = $("ch-all").checked;
  const reply = await send("PUT", "/api/controlhub", change);
  status.textContent = reply.ok ? "Saved in Control Hub." : reply.message;
  status.classList.toggle("error", !reply.ok);
  if (reply.ok) page.controlHubTouched = false;
}
