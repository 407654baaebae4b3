// The demo console's page: one event stream in, three kinds of request out (say, press, Control Hub).

import { drawMessages, remove, upsert } from "./messages.js";
import { drawControlHub, drawSetting, fillControlHub, saveControlHub } from "./panels.js";
import { $, currentSpace, markdown, me, page, send, spacesOf } from "./page.js";

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

// A message from the stream: drawn if it is in the space shown, else its space has news.
function onMessage(message) {
  const news = page.ready && !page.messages.has(message.id);
  upsert(message);
  const space = page.scene.spaces.find((s) => s.id === message.roomId);
  if (news && message.roomId !== currentSpace().id && space && space.members.includes(me().id)) {
    page.unread.add(message.roomId);
    drawSpaces();
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
  source.addEventListener("message", (e) => { if (page.scene) onMessage(JSON.parse(e.data)); });
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
    drawControlHub();
    const kept = spacesOf(me()).find((s) => s.id === page.spaceId && s.type === "group");
    const direct = spacesOf(me()).find((s) => s.type === "direct");
    selectSpace(kept ? kept.id : direct.id, false);
  });
  $("composer").addEventListener("submit", say);
  $("controlhub").addEventListener("submit", saveControlHub);
  $("controlhub").addEventListener("input", () => { page.controlHubTouched = true; });
  $("ch-where").addEventListener("change", fillControlHub);
  listen();
}

document.addEventListener("DOMContentLoaded", start);
