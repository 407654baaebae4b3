// The demo console's page: one event stream in, three kinds of request out (say, press, Control Hub).
"use strict";

const page = {
  scene: null,          // people, spaces, the setting, the locations (the "scene" event)
  messages: new Map(),  // id → message, every space
  nodes: new Map(),     // id → the <li> drawn for it in the current space
  person: "alice",
  spaceId: undefined,   // null: the person's 1:1 with the bot does not exist yet
  hostConfig: null,
  controlHubTouched: false,
  ready: false,         // the stream has sent what exists; what follows is news
  unread: new Set(),    // spaces with news the person has not looked at
};
const $ = (id) => document.getElementById(id);

// --- text ------------------------------------------------------------------------------
function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => (
    { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

// The markdown Webex draws in messages and TextBlocks: bold, italic, code, links, line breaks.
// The text is escaped first, so nothing in it becomes markup of its own.
function markdown(text) {
  return escapeHtml(text)
    .replace(/`([^`]+)`/g, "<code>$1</code>")
    .replace(/\*\*(.+?)\*\*/g, "<strong>$1</strong>")
    .replace(/(^|[\s(])[*_](?!\s)(.+?)[*_](?=$|[\s).,!?:;])/g, "$1<em>$2</em>")
    .replace(/\[([^\]]+)\]\((https?:\/\/[^)\s]+)\)/g,
      '<a href="$2" target="_blank" rel="noopener noreferrer">$1</a>')
    .replace(/\n/g, "<br>");
}

function timeOf(iso) {
  const when = new Date(iso);
  return Number.isNaN(when.getTime()) ? "" : when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function onOff(value) { return value ? "On" : "Off"; }

// --- who and where ---------------------------------------------------------------------
function me() { return page.scene.people.find((p) => p.name === page.person); }

function nameOf(personId) {
  if (personId === page.scene.bot.id) return page.scene.bot.name;
  const person = page.scene.people.find((p) => p.id === personId);
  return person ? person.displayName : personId;
}

function spacesOf(person) {
  const mine = page.scene.spaces.filter((s) => s.members.includes(person.id));
  const withBot = mine.some((s) => s.type === "direct" && s.members.includes(page.scene.bot.id));
  const shown = mine.map((s) => ({
    ...s, title: s.type === "direct" ? nameOf(s.members.find((m) => m !== person.id)) : s.title,
  }));
  if (!withBot) shown.unshift({ id: null, title: page.scene.bot.name, type: "direct", members: [] });
  return shown.sort((a, b) => (a.type === b.type ? 0 : a.type === "direct" ? -1 : 1));
}

function currentSpace() {
  const spaces = spacesOf(me());
  return spaces.find((s) => s.id === page.spaceId) || spaces[0];
}

// --- the scene -------------------------------------------------------------------------
function applyScene(scene) {
  const first = page.scene === null;
  const before = page.scene;
  page.scene = scene;
  drawPeople();
  const space = spacesOf(me()).find((s) => s.id === page.spaceId);
  if (first || space === undefined) {
    // A new 1:1 with the bot (the first message made it) takes the place of the "new" entry.
    const direct = spacesOf(me()).find((s) => s.type === "direct");
    selectSpace(direct ? direct.id : null, false);
  } else {
    drawSpaces();
  }
  drawSetting(before);
}

function drawPeople() {
  const select = $("person");
  if (select.options.length !== page.scene.people.length) {
    select.replaceChildren(...page.scene.people.map((p) => {
      const option = document.createElement("option");
      option.value = p.name;
      return option;
    }));
  }
  page.scene.people.forEach((p, i) => {
    select.options[i].textContent = `${p.displayName} (${p.roles.join(", ") || "no admin role"})`;
  });
  select.value = page.person;
  const person = me();
  $("person-roles").textContent =
    `${person.email} · ${person.org} · ${person.roles.join(", ") || "no administrator role"}`;
}

function drawSpaces() {
  const list = $("spaces");
  const current = currentSpace();
  list.replaceChildren(...spacesOf(me()).map((space) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "space";
    const title = document.createElement("span");
    title.textContent = space.title;
    button.append(title);
    const kind = document.createElement("span");
    kind.className = "space-kind";
    kind.textContent = space.type === "direct" ? "1:1" : "group";
    button.append(kind);
    if (page.unread.has(space.id)) {
      button.classList.add("unread");
      const news = document.createElement("span");
      news.className = "sr-only";
      news.textContent = ", new messages";
      button.append(news);
    }
    if (space.id === current.id) button.setAttribute("aria-current", "true");
    button.addEventListener("click", () => selectSpace(space.id, true));
    item.append(button);
    return item;
  }));
  const group = current.type === "group";
  $("space-title").textContent = current.title;
  $("space-about").textContent = group
    ? `${current.members.length} members · ${page.scene.bot.name} is mentioned for you`
    : `Your 1:1 space with ${page.scene.bot.name}`;
  $("composer-label").textContent = `Message ${current.title}`;
}

function selectSpace(spaceId, focus) {
  page.spaceId = spaceId;
  page.unread.delete(spaceId);
  drawSpaces();
  drawMessages();
  if (focus) $("composer-text").focus();
}

function drawSetting(before) {
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
  if (!page.controlHubTouched) fillControlHub();
}

// A location the emulator holds without a name: its id's own uuid, shortened.
function unnamed(locationId) {
  let decoded = locationId;
  try { decoded = atob(locationId); } catch (error) { /* not base64: show it as it is */ }
  return `Location ${decoded.split("/").pop().slice(0, 8)}`;
}

function fillControlHub() {
  const setting = page.scene.setting;
  $("ch-enabled").checked = setting.emergencyCallNotificationEnabled;
  $("ch-email").value = setting.emailAddress;
  $("ch-all").checked = setting.allowEmailNotificationAllLocationEnabled;
  page.controlHubTouched = false;
}

// --- messages --------------------------------------------------------------------------
function drawMessages() {
  page.nodes.clear();
  $("messages").replaceChildren();
  for (const message of page.messages.values()) place(message);
  scrollDown();
}

function upsert(message) {
  const news = page.ready && !page.messages.has(message.id);
  page.messages.set(message.id, message);
  const space = page.scene.spaces.find((s) => s.id === message.roomId);
  if (news && message.roomId !== currentSpace().id && space && space.members.includes(me().id)) {
    page.unread.add(message.roomId);
    drawSpaces();
  }
  const node = page.nodes.get(message.id);
  if (node) {
    node.querySelector(":scope > .body").replaceWith(bodyOf(message));
  } else {
    place(message);
    scrollDown();
  }
}

function remove(messageId) {
  page.messages.delete(messageId);
  const node = page.nodes.get(messageId);
  if (node) node.remove();
  page.nodes.delete(messageId);
}

function place(message) {
  if (page.spaceId === null || message.roomId !== currentSpace().id) return;
  const item = document.createElement("li");
  item.className = "message" + (message.personId === page.scene.bot.id ? " from-bot" : "");
  item.dataset.messageId = message.id;
  const header = document.createElement("div");
  header.className = "meta";
  const who = document.createElement("span");
  who.className = "author";
  who.textContent = nameOf(message.personId);
  const when = document.createElement("time");
  when.dateTime = message.created;
  when.textContent = timeOf(message.created);
  header.append(who, when);
  item.append(header, bodyOf(message));
  const parent = message.parentId && page.nodes.get(message.parentId);
  if (parent) {
    let thread = parent.querySelector(":scope > .thread");
    if (!thread) {
      thread = document.createElement("ol");
      thread.className = "thread";
      thread.setAttribute("aria-label", `Replies to ${nameOf(page.messages.get(message.parentId).personId)}`);
      parent.append(thread);
    }
    thread.append(item);
  } else {
    $("messages").append(item);
  }
  page.nodes.set(message.id, item);
}

function bodyOf(message) {
  const body = document.createElement("div");
  body.className = "body";
  if (message.card) {
    body.append(cardOf(message));
    return body;
  }
  const text = message.markdown || message.text || "";
  const botName = page.scene.bot.name;
  if (message.mentionedPeople.includes(page.scene.bot.id) && text.startsWith(botName)) {
    const mention = document.createElement("span");
    mention.className = "mention";
    mention.textContent = botName;
    const rest = document.createElement("span");
    rest.innerHTML = markdown(text.slice(botName.length));
    body.append(mention, rest);
  } else {
    body.innerHTML = markdown(text);
  }
  return body;
}

// A card drawn by Microsoft's renderer; a press goes to Webex (the emulator) as a client's would.
function cardOf(message) {
  const holder = document.createElement("div");
  holder.className = "card";
  const card = new AdaptiveCards.AdaptiveCard();
  card.hostConfig = page.hostConfig;
  const status = document.createElement("p");
  status.className = "status";
  status.setAttribute("role", "status");
  card.onExecuteAction = (action) => execute(message, action, status);
  try {
    card.parse(message.card);
    const drawn = card.render();
    if (!drawn) throw new Error("the renderer drew nothing");
    holder.append(drawn, status);
  } catch (error) {
    holder.textContent = message.markdown || message.text || `This card cannot be shown: ${error}`;
  }
  return holder;
}

async function execute(message, action, status) {
  const kind = action.getJsonTypeName();
  if (kind === "Action.OpenUrl") {
    window.open(action.url, "_blank", "noopener");
    return;
  }
  if (kind !== "Action.Submit") return;  // Action.ShowCard and toggles are the renderer's own
  status.textContent = "Sending…";
  const reply = await send("POST", "/api/press",
    { person: page.person, messageId: message.id, inputs: action.data || {} });
  status.textContent = reply.ok ? "" : reply.message;
  status.classList.toggle("error", !reply.ok);
}

function scrollDown() {
  const list = $("messages");
  list.scrollTop = list.scrollHeight;
}

// --- requests --------------------------------------------------------------------------
async function send(method, path, body) {
  try {
    const response = await fetch(path, {
      method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    return { ok: response.ok, data, message: data.message || `${response.status} ${response.statusText}` };
  } catch (error) {
    return { ok: false, data: {}, message: `The console cannot be reached (${error.message}).` };
  }
}

async function say(event) {
  event.preventDefault();
  const input = $("composer-text");
  const text = input.value.trim();
  if (!text) return;
  const reply = await send("POST", "/api/say", { person: page.person, roomId: currentSpace().id, text });
  $("composer-error").textContent = reply.ok ? "" : reply.message;
  if (reply.ok) input.value = "";
  input.focus();
}

async function saveControlHub(event) {
  event.preventDefault();
  const status = $("controlhub-status");
  status.textContent = "Saving…";
  const reply = await send("PUT", "/api/controlhub/setting", {
    enabled: $("ch-enabled").checked, email: $("ch-email").value, allLocations: $("ch-all").checked,
  });
  status.textContent = reply.ok ? "Saved in Control Hub." : reply.message;
  status.classList.toggle("error", !reply.ok);
  if (reply.ok) page.controlHubTouched = false;
}

// --- start -----------------------------------------------------------------------------
function listen() {
  const source = new EventSource("/events");
  source.addEventListener("open", () => {
    $("connection").textContent = "Live: updates arrive as Webex sends them.";
    page.messages.clear();  // the stream starts with everything again
    page.nodes.clear();
    page.ready = false;
    $("messages").replaceChildren();
  });
  source.addEventListener("error", () => { $("connection").textContent = "Reconnecting…"; });
  source.addEventListener("scene", (e) => applyScene(JSON.parse(e.data)));
  source.addEventListener("message", (e) => { if (page.scene) upsert(JSON.parse(e.data)); });
  source.addEventListener("removed", (e) => remove(JSON.parse(e.data).id));
  source.addEventListener("ready", () => { page.ready = true; });
}

async function start() {
  page.hostConfig = new AdaptiveCards.HostConfig(await (await fetch("/static/hostconfig.json")).json());
  AdaptiveCards.AdaptiveCard.onProcessMarkdown = (text, result) => {
    result.outputHtml = markdown(text);
    result.didProcess = true;
  };
  $("person").addEventListener("change", (e) => {
    page.person = e.target.value;
    page.unread.clear();  // another person's news is not theirs
    drawPeople();
    const kept = spacesOf(me()).find((s) => s.id === page.spaceId && s.type === "group");
    const direct = spacesOf(me()).find((s) => s.type === "direct");
    selectSpace(kept ? kept.id : direct.id, false);
  });
  $("composer").addEventListener("submit", say);
  $("controlhub").addEventListener("submit", saveControlHub);
  $("controlhub").addEventListener("input", () => { page.controlHubTouched = true; });
  listen();
}

document.addEventListener("DOMContentLoaded", start);
